"""HJ 1321 code tables, read once from codes/*.csv.

The ERP's selection fields, the gate box's display texts and the regulator adapters all
read these files, so a code means the same thing everywhere and nobody hard-codes it.
Each CSV has the header `code,name_zh,name_en` and may add columns (kept in `extra`).
"""
import collections
import csv
import os
import threading

from .errors import Hj1321Error

Code = collections.namedtuple('Code', 'code name_zh name_en extra')

_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'codes')
_BASE_COLUMNS = ('code', 'name_zh', 'name_en')
_TABLES = {}        # name -> tuple of Code, in file order
_INDEXES = {}       # name -> {code: Code}
_LOCK = threading.Lock()

# Stages the grading rules count as clean road transport: China V, China VI, electric.
CLEAN_STAGES = frozenset(['5', '6', 'D'])
# Fuels that make a vehicle new energy whatever stage was recorded: electric ('C') and
# hydrogen fuel cell ('P'). Hybrids ('O') are left out on purpose: plain hybrids carry an
# emission stage and are graded by it, and the table does not tell plug-in from plain.
NEW_ENERGY_FUELS = frozenset(['C', 'P'])

# Names the cameras use for plate colours (Hikvision `plateColor`, Dahua `PlateColor`,
# Chinese texts), folded to lower case without separators -> HJ plate colour code.
_COLOR_NAMES = {
    'unknown': '5', 'other': '5', 'blue': '0', 'yellow': '1', 'white': '2', 'black': '3',
    'green': '4', 'yellowgreen': '6', 'greenyellow': '6',
    '蓝': '0', '黄': '1', '白': '2', '黑': '3', '绿': '4', '黄绿': '6', '渐变绿': '4',
    '其他': '5', '未知': '5',
}


def _load(name):
    path = os.path.join(_DIR, name + '.csv')
    if not os.path.isfile(path):
        raise KeyError('no HJ 1321 code table named %r (known: %s)'
                       % (name, ', '.join(table_names())))
    rows = []
    with open(path, encoding='utf-8', newline='') as handle:
        for row in csv.DictReader(handle):
            extra = {k: v for k, v in row.items() if k not in _BASE_COLUMNS}
            rows.append(Code(row['code'], row['name_zh'], row['name_en'], extra))
    return tuple(rows)


def table_names():
    """The names of all code tables shipped with the package."""
    return sorted(f[:-4] for f in os.listdir(_DIR) if f.endswith('.csv'))


def table(name):
    """All codes of one table, in file order (a tuple of `Code`)."""
    rows = _TABLES.get(name)
    if rows is None:
        with _LOCK:
            rows = _TABLES.get(name)
            if rows is None:
                rows = _load(name)
                _INDEXES[name] = {c.code: c for c in rows}
                _TABLES[name] = rows
    return rows


def _index(name):
    index = _INDEXES.get(name)
    if index is None:
        table(name)
        index = _INDEXES[name]
    return index


def _zh(lang):
    return (lang or '').startswith('zh')


def selection(name, lang='en_US'):
    """(code, label) pairs in the given language, for an Odoo Selection field."""
    zh = _zh(lang)
    return [(c.code, c.name_zh if zh else c.name_en) for c in table(name)]


def label(name, code, lang='en_US'):
    """The label of `code` in `lang`; an unknown code is returned as it is, no code as ''."""
    if code is None or code is False or code == '':
        return ''
    entry = get(name, code)
    if entry is None:
        return str(code)
    return entry.name_zh if _zh(lang) else entry.name_en


def get(name, code):
    """The `Code` entry of `code`, or None."""
    try:
        return _index(name).get(code)
    except TypeError:       # an unhashable value is simply not a code
        return None


def is_valid(name, code):
    """True when `code` (a string) is in the table."""
    return isinstance(code, str) and get(name, code) is not None


def check_code(name, code):
    """Return `code` if it is in the table, else raise Hj1321Error('code.invalid')."""
    if not is_valid(name, code):
        allowed = ', '.join(c.code for c in table(name))
        raise Hj1321Error(
            'code.invalid',
            '代码表“%s”中没有代码 %r（可用代码：%s）' % (name, code, allowed),
            'Code %r is not in the %s table (allowed: %s)' % (code, name, allowed),
            table=name, value=code)
    return code


def camera_color_to_hj(color_type):
    """The HJ plate colour code for a camera's colour.

    Takes the AlarmInfoPlate `colorType` (0 unknown, 1 blue, 2 yellow, 3 white, 4 black,
    5 green, 6 yellow-green; int or string) and also the colour names Hikvision and Dahua
    send ('blue', 'Yellow', 'yellowGreen'...) or Chinese names ('蓝', '黄绿色'). Anything
    unknown is '5' (other): the colour is then confirmed by a person, never guessed.
    """
    if color_type is None or isinstance(color_type, bool):
        return '5'
    text = str(color_type).strip()
    entry = get('camera_plate_color', text)
    if entry is not None:
        return entry.extra['hj_code']
    folded = text.lower().replace('-', '').replace('_', '').replace(' ', '')
    if folded.endswith('色') and len(folded) > 1:
        folded = folded[:-1]
    return _COLOR_NAMES.get(folded, '5')


def is_v_plus_or_new_energy(stage, fuel=None):
    """China V or above, or new energy: the clean side of the grading rules."""
    return (stage in CLEAN_STAGES) or (fuel in NEW_ENERGY_FUELS)
