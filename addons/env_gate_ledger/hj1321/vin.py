"""Vehicle identification numbers: ISO 3779 / GB 16735, with the position-9 check digit."""
import re

from .errors import Hj1321Error

_VALUES = dict(zip('0123456789', range(10)))
_VALUES.update(zip('ABCDEFGH', range(1, 9)))
_VALUES.update(zip('JKLMN', range(1, 6)))
_VALUES.update({'P': 7, 'R': 9})
_VALUES.update(zip('STUVWXYZ', range(2, 10)))
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_BAD = re.compile(r'[^0-9A-HJ-NPR-Z]')


def vin_check_digit(vin):
    """The check digit ('0'-'9' or 'X') a 17-character VIN must carry at position 9."""
    total = sum(_VALUES[ch] * weight for ch, weight in zip(vin.upper(), _WEIGHTS))
    rest = total % 11
    return 'X' if rest == 10 else str(rest)


def validate_vin(raw, check_digit=True):
    """The normalised VIN; raises Hj1321Error for length, alphabet or check digit."""
    vin = (raw or '').strip().upper()
    if len(vin) != 17:
        raise Hj1321Error(
            'vin.length', '车辆识别代号（VIN）必须为17位，%r 为 %d 位' % (vin, len(vin)),
            'A VIN has exactly 17 characters; %r has %d' % (vin, len(vin)), value=vin)
    bad = sorted(set(_BAD.findall(vin)))
    if bad:
        raise Hj1321Error(
            'vin.alphabet',
            '车辆识别代号 %s 含有不允许的字符：%s（不使用 I、O、Q）' % (vin, ' '.join(bad)),
            'VIN %s has characters that are not allowed: %s (I, O and Q are never used)'
            % (vin, ' '.join(bad)), value=vin)
    if check_digit:
        expected = vin_check_digit(vin)
        if vin[8] != expected:
            raise Hj1321Error(
                'vin.check_digit',
                '车辆识别代号 %s 校验位（第9位）应为 %s，实际为 %s' % (vin, expected, vin[8]),
                'VIN %s: the check digit (position 9) should be %s, not %s'
                % (vin, expected, vin[8]), value=vin)
    return vin
