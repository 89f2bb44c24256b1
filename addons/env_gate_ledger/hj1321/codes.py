"""HJ 1321 code tables, read once from codes/*.csv.

The ERP's selection fields, the gate box's display texts and the regulator adapters all
read these files, so a code means the same thing everywhere and nobody hard-codes it.
"""
import collections
import csv
import os

from .errors import Hj1321Error

Code = collections.namedtuple('Code', 'code name_zh name_en extra')

_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'codes')
_TABLES = {}

# China V and above, or new energy: what the grading rules call clean road transport.
CLEAN_STAGES = frozenset(['5', '6', 'D'])
# Electric and hydrogen fuel-cell vehicles count as new energy whatever stage is recorded.
NEW_ENERGY_FUELS = frozenset(['C', 'P'])


def table(name):
    """All codes of one table, in file order."""
    rows = _TABLES.get(name)
    if rows is None:
        path = os.path.join(_DIR, name + '.csv')
        if not os.path.exists(path):
            raise KeyError('no HJ 1321 code table named %r' % name)
        with open(path, encoding='utf-8', newline='') as handle:
            rows = []
            for row in csv.DictReader(handle):
                extra = {k: v for k, v in row.items() if k not in ('code', 'name_zh', 'name_en')}
                rows.append(Code(row['code'], row['name_zh'], row['name_en'], extra))
        _TABLES[name] = rows
    return rows


def _index(name):
    key = '_index_' + name
    index = _TABLES.get(key)
    if index is None:
        index = _TABLES[key] = {c.code: c for c in table(name)}
    return index


def selection(name, lang='en_US'):
    """(code, label) pairs in the given language, for an Odoo Selection field."""
    zh = (lang or '').startswith('zh')
    return [(c.code, c.name_zh if zh else c.name_en) for c in table(name)]


def label(name, code, lang='en_US'):
    entry = _index(name).get(code)
    if entry is None:
        return code
    return entry.name_zh if (lang or '').startswith('zh') else entry.name_en


def is_valid(name, code):
    return code in _index(name)


def check_code(name, code):
    if not is_valid(name, code):
        allowed = ', '.join(c.code for c in table(name))
        raise Hj1321Error(
            'code.invalid',
            '代码表 %s 中没有代码 %r（可用：%s）' % (name, code, allowed),
            'code %r is not in the %s table (allowed: %s)' % (code, name, allowed),
            table=name, value=code)
    return code


def camera_color_to_hj(color_type):
    """AlarmInfoPlate colorType (0 unknown, 1 blue, ...) to the HJ plate colour code."""
    entry = _index('camera_plate_color').get(str(color_type))
    return entry.extra['hj_code'] if entry else '5'


def is_v_plus_or_new_energy(stage, fuel=None):
    """China V or above, or new energy: the clean side of the grading rules."""
    return (stage in CLEAN_STAGES) or (fuel in NEW_ENERGY_FUELS)
