"""Vehicle identification numbers (ISO 3779 / GB 16735) with the position-9 check digit.

The ledger's VIN must be exactly the one on the vehicle's papers; the check digit catches
most typing errors (one wrong character, two swapped) before they reach the regulator.
Chinese VINs (GB 16735) use the same transliteration, weights and check digit as the
North American rule, so the check is on by default.
"""
import re

from .errors import Hj1321Error

# Transliteration of letters to values (I, O and Q are not allowed in a VIN).
_VALUES = dict(zip('0123456789', range(10)))
_VALUES.update(zip('ABCDEFGH', range(1, 9)))
_VALUES.update(zip('JKLMN', range(1, 6)))
_VALUES.update({'P': 7, 'R': 9})
_VALUES.update(zip('STUVWXYZ', range(2, 10)))
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_BAD = re.compile(r'[^0-9A-HJ-NPR-Z]')


def _check_length(vin):
    if len(vin) != 17:
        raise Hj1321Error(
            'vin.length',
            '车辆识别代号（VIN）必须为17位，\'%s\' 为 %d 位' % (vin, len(vin)),
            'A VIN has exactly 17 characters; \'%s\' has %d' % (vin, len(vin)),
            value=vin, length=len(vin))


def _check_alphabet(vin):
    bad = []
    for ch in _BAD.findall(vin):
        if ch not in bad:
            bad.append(ch)
    if bad:
        shown = ' '.join(repr(ch) if not ch.strip() else ch for ch in bad)
        raise Hj1321Error(
            'vin.alphabet',
            '车辆识别代号 %s 含有不允许的字符：%s（只用数字和字母，不用 I、O、Q）' % (vin, shown),
            'VIN %s contains characters that are not allowed: %s (digits and letters only, '
            'never I, O or Q)' % (vin, shown),
            value=vin, characters=bad)


def vin_check_digit(vin17):
    """The check digit ('0'-'9' or 'X') a 17-character VIN must carry at position 9.

    Position 9 of the input is ignored (its weight is 0), so a VIN under construction may
    carry any allowed character there. Raises Hj1321Error for a wrong length or alphabet.
    """
    vin = str(vin17).strip().upper()
    _check_length(vin)
    _check_alphabet(vin)
    rest = sum(_VALUES[ch] * weight for ch, weight in zip(vin, _WEIGHTS)) % 11
    return 'X' if rest == 10 else str(rest)


def validate_vin(raw, check_digit=True):
    """The normalised VIN (stripped, upper case).

    Raises Hj1321Error 'vin.length', 'vin.alphabet' or 'vin.check_digit', checked in that
    order so the message names the first thing to fix.
    """
    vin = '' if raw is None or raw is False else str(raw).strip().upper()
    _check_length(vin)
    _check_alphabet(vin)
    if check_digit:
        expected = vin_check_digit(vin)
        if vin[8] != expected:
            raise Hj1321Error(
                'vin.check_digit',
                '车辆识别代号 %s 的校验位（第9位）应为 %s，实际为 %s：请核对是否有字符抄错'
                % (vin, expected, vin[8]),
                'VIN %s: the check digit (position 9) should be %s, not %s; a character was '
                'probably mistyped' % (vin, expected, vin[8]),
                value=vin, expected=expected, actual=vin[8])
    return vin
