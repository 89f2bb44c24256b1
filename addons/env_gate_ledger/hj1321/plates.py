"""Chinese licence plates (GA 36): normalisation, kinds and plausible colours.

The raw read is always kept elsewhere; the key made here only folds what is certainly the
same text (full width, case, separators). It keeps the province character, because
stripping it (as some ledgers do) merges different trucks, and it never rewrites letters
(O/0, I/1): a doubtful read goes to a person, it is not "corrected" by software.
"""
import re

from .errors import Hj1321Error

PROVINCES = '京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新'

# Characters dropped from a key (after full-width folding): whitespace, the dots and
# dashes people and cameras put between the city letter and the serial, zero-width junk.
SEPARATORS = (' \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003'
              '\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f'
              '\u3000\ufeff'
              '\u00b7\u2022\u2027\u2219\u30fb\uff65'    # middle dots: · • ‧ ∙ ・ ･
              '\u2010\u2011\u2012\u2013\u2014\u2212'    # dashes: ‐ ‑ ‒ – — −
              '-._')


# A regular expression that finds one character a key keeps: a plate text without one is
# empty. The event schema uses it to refuse a blank plate exactly as parse_event does.
PLATE_CONTENT_PATTERN = '[^%s]' % ''.join(
    '\\' + ch if ch in '\\]^-' else ch for ch in SEPARATORS + '\uff0d\uff0e\uff3f')


def _key_table():
    table = {ord(ch): None for ch in SEPARATORS}
    for code in range(0xFF01, 0xFF5F):              # full-width ASCII block
        half = chr(code - 0xFEE0)
        table[code] = None if half in SEPARATORS else half
    return table


_KEY_TABLE = _key_table()

_P = '[%s]' % PROVINCES
_L = '[A-HJ-NP-Z]'                 # letters on plates: never I or O
_A = '[0-9A-HJ-NP-Z]'              # letters or digits, never I or O

# kind -> pattern of the normalised key. Order matters only for readability: the
# shapes do not overlap.
_KIND_PATTERNS = (
    ('ordinary', r'%s%s%s{5}' % (_P, _L, _A)),                   # 冀B12345
    ('new_energy_small', r'%s%s[DF]%s[0-9]{4}' % (_P, _L, _A)),  # 冀BD12345, 冀BFA1234
    ('new_energy_large', r'%s%s[0-9]{5}[DF]' % (_P, _L)),        # 冀B12345D
    ('trailer', r'%s%s%s{4}挂' % (_P, _L, _A)),                  # 冀B1234挂
    ('coach', r'%s%s%s{4}学' % (_P, _L, _A)),                    # 冀B1234学
    ('police', r'%s%s%s{4}警' % (_P, _L, _A)),                   # 冀B1234警
    ('hk', r'粤Z%s{4}港' % _A),                                  # 粤Z1234港
    ('macau', r'粤Z%s{4}澳' % _A),                               # 粤Z1234澳
    ('embassy', r'使[0-9]{6}'),                                  # 使014578
    ('emergency', r'%s%s%s{4,5}应急' % (_P, _L, _A)),            # 冀B1234应急
)
_KINDS = tuple((kind, re.compile(pattern + r'\Z')) for kind, pattern in _KIND_PATTERNS)
KINDS = tuple(kind for kind, _pattern in _KIND_PATTERNS)

KIND_LABELS = {
    'ordinary': ('普通号牌', 'ordinary plate'),
    'new_energy_small': ('小型新能源号牌', 'small new-energy plate'),
    'new_energy_large': ('大型新能源号牌', 'large new-energy plate'),
    'trailer': ('挂车号牌', 'trailer plate'),
    'coach': ('教练车号牌', 'driving-school plate'),
    'police': ('警用号牌', 'police plate'),
    'hk': ('香港入出境号牌', 'Hong Kong cross-border plate'),
    'macau': ('澳门入出境号牌', 'Macau cross-border plate'),
    'embassy': ('使馆号牌', 'embassy plate'),
    'emergency': ('应急救援号牌', 'emergency rescue plate'),
}

# Plate colour codes (plate_color table) that are plausible per kind. Deliberately
# tolerant where reality varies: a wrong colour is only ever a warning.
_COLORS = {
    'ordinary': frozenset(['0', '1']),             # blue (small), yellow (large)
    'new_energy_small': frozenset(['4']),          # gradient green
    'new_energy_large': frozenset(['6', '4']),     # yellow-green; cameras often say green
    'trailer': frozenset(['1']),
    'coach': frozenset(['1']),
    'police': frozenset(['2']),
    'hk': frozenset(['3']),
    'macau': frozenset(['3']),
    'embassy': frozenset(['3']),
    'emergency': frozenset(['0', '1', '2']),
}

_EXPECTED_ZH = ('普通号牌应为省份简称+字母+5位字母数字（如 冀B12345），新能源号牌为省份简称+字母+6位'
                '（冀BD12345、冀B12345D），挂车/教练/警用号牌为省份简称+字母+4位+“挂/学/警”，'
                '字母不使用 I 和 O')
_EXPECTED_EN = ('an ordinary plate is a province character, a letter and 5 letters or digits '
                '(e.g. 冀B12345); a new-energy plate has 6 after the letter (冀BD12345, '
                '冀B12345D); trailer, driving-school and police plates have 4 then 挂/学/警; '
                'the letters I and O are never used')


def kind_label(kind, lang='en_US'):
    """A readable name for a plate kind in `lang` ('' for None)."""
    if not kind:
        return ''
    zh, en = KIND_LABELS.get(kind, (kind, kind))
    return zh if (lang or '').startswith('zh') else en


def normalize_plate(raw):
    """The plate's key: half-width, upper case, no separators, province character kept.

    Never raises for text that contains something other than separators; raises
    Hj1321Error('plate.empty') for None, '' and text made only of spaces or separators.
    """
    if raw is None or raw is False:
        raise Hj1321Error('plate.empty', '车牌号为空', 'The plate is empty')
    key = str(raw).translate(_KEY_TABLE).upper()
    if not key:
        raise Hj1321Error('plate.empty', '车牌号 %r 为空（只有空格或分隔符）' % (raw,),
                          'The plate %r is empty (only spaces or separators)' % (raw,), value=raw)
    return key


def classify_plate(key):
    """The kind of a normalised key (see KINDS), or None when it matches no kind.

    None is not a rejection: an unclassifiable read is kept and flagged for a person.
    """
    if not key or not isinstance(key, str):
        return None
    for kind, pattern in _KINDS:
        if pattern.match(key):
            return kind
    return None


def _hint(key):
    """What is most likely wrong with an unclassifiable key, in both languages, or None."""
    first = key[0]
    if first != '使' and first not in PROVINCES:
        return ('首字“%s”不是省份简称' % first,
                'its first character "%s" is not a province abbreviation' % first)
    if 'I' in key or 'O' in key:
        return ('其中含有字母 I 或 O', 'it contains the letter I or O')
    if len(key) < 7:
        return ('它只有 %d 位，至少应有 7 位' % len(key),
                'it has only %d characters; at least 7 are needed' % len(key))
    if len(key) > 8 and not key.endswith('应急'):
        return ('它有 %d 位，号牌最多 8 位' % len(key),
                'it has %d characters; a plate has at most 8' % len(key))
    return None


def validate_plate(raw):
    """(key, kind) of a valid plate; raises Hj1321Error('plate.invalid') saying what shape
    was expected (or 'plate.empty')."""
    key = normalize_plate(raw)
    kind = classify_plate(key)
    if kind is None:
        shown = str(raw).strip()
        hint = _hint(key)
        zh = '车牌号 \'%s\' 不是有效的号牌：%s' % (shown, _EXPECTED_ZH)
        en = 'Plate \'%s\' is not valid: %s' % (shown, _EXPECTED_EN)
        if hint:
            zh = '%s。问题：%s' % (zh, hint[0])
            en = '%s. Problem: %s' % (en, hint[1])
        raise Hj1321Error('plate.invalid', zh, en, value=raw, key=key)
    return key, kind


def expected_colors(kind):
    """Plate colour codes that are plausible for a plate kind (a new set; empty for None)."""
    return set(_COLORS.get(kind, ()))
