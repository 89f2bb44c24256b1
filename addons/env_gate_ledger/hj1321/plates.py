"""Chinese licence plates: normalisation, kinds and plausible colours (GA 36).

The raw read is always kept elsewhere; the key made here keeps the province character,
because stripping it (as some ledgers do) merges different trucks.
"""
import re

from .errors import Hj1321Error

PROVINCES = '京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新'
_SEPARATORS = re.compile(r'[\s·•\-._]+')
_P = '[%s]' % PROVINCES
_L = '[A-HJ-NP-Z]'            # letters on plates: no I, no O
_A = '[0-9A-HJ-NP-Z]'

_KINDS = [
    ('new_energy_small', re.compile(r'^%s%s[DF]%s[0-9]{4}$' % (_P, _L, _A))),
    ('new_energy_large', re.compile(r'^%s%s[0-9]{5}[DF]$' % (_P, _L))),
    ('ordinary', re.compile(r'^%s%s%s{5}$' % (_P, _L, _A))),
    ('trailer', re.compile(r'^%s%s%s{4}挂$' % (_P, _L, _A))),
    ('coach', re.compile(r'^%s%s%s{4}学$' % (_P, _L, _A))),
    ('police', re.compile(r'^%s%s%s{4}警$' % (_P, _L, _A))),
    ('hk', re.compile(r'^粤Z%s{4}港$' % _A)),
    ('macau', re.compile(r'^粤Z%s{4}澳$' % _A)),
    ('embassy', re.compile(r'^使[0-9]{6}$')),
    ('emergency', re.compile(r'^%s%s%s{4,5}应急$' % (_P, _L, _A))),
]

_COLORS = {
    'ordinary': {'0', '1'},
    'new_energy_small': {'4'},
    'new_energy_large': {'6', '4'},
    'trailer': {'1'},
    'coach': {'1'},
    'police': {'2'},
    'hk': {'3'},
    'macau': {'3'},
    'embassy': {'3'},
    'emergency': {'0', '1', '2'},
}

KINDS = tuple(kind for kind, _rx in _KINDS)


def _half_width(text):
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:      # full-width ASCII block
            ch = chr(code - 0xFEE0)
        elif code == 0x3000:
            ch = ' '
        out.append(ch)
    return ''.join(out)


def normalize_plate(raw):
    """The plate's key: half-width, upper case, no separators, province character kept."""
    if raw is None or not str(raw).strip():
        raise Hj1321Error('plate.empty', '车牌号为空', 'the plate is empty')
    return _SEPARATORS.sub('', _half_width(str(raw)).strip()).upper()


def classify_plate(key):
    """The plate kind of a normalised key, or None when it matches no kind."""
    for kind, rx in _KINDS:
        if rx.match(key or ''):
            return kind
    return None


def validate_plate(raw):
    """(key, kind) of a valid plate; raises Hj1321Error saying what shape was expected."""
    key = normalize_plate(raw)
    kind = classify_plate(key)
    if kind is None:
        raise Hj1321Error(
            'plate.invalid',
            '车牌号 %r 不是有效的号牌：普通号牌应为省份简称+字母+5位字母或数字（如 冀B12345），'
            '新能源号牌为8位（冀BD12345 或 冀B12345D），字母不含 I 和 O' % raw,
            'Plate %r is not valid: an ordinary plate is a province character, a letter and 5 '
            'letters or digits (e.g. 冀B12345); new-energy plates have 8 (冀BD12345 or '
            '冀B12345D); I and O are never used' % raw,
            value=raw)
    return key, kind


def expected_colors(kind):
    """Plate colour codes that are plausible for a plate kind."""
    return set(_COLORS.get(kind, ()))
