import pytest

from hj1321 import vin
from hj1321.errors import Hj1321Error

# Real-looking VINs whose check digit is right (the first is the classic worked example).
VALID = ['1M8GDM9AXKP042788', '1HGCM82633A004352', '11111111111111111', 'LSVAU218XN2183294',
         'JHMCM56557C404453']


@pytest.mark.parametrize('number', VALID)
def test_valid_vins(number):
    assert vin.vin_check_digit(number) == number[8]
    assert vin.validate_vin(number) == number


def test_check_digit_worked_example():
    # 1M8GDM9A_KP042788: the weighted sum is 351, 351 % 11 = 10 -> 'X'
    assert vin.vin_check_digit('1M8GDM9A0KP042788') == 'X'
    assert vin.vin_check_digit('LSVAU2180N2183294') == 'X'


def test_check_digit_ignores_position_9():
    for ch in '0123456789XABC':
        assert vin.vin_check_digit('1M8GDM9A%sKP042788' % ch) == 'X'


def test_check_digit_changes_when_a_character_changes():
    base = '1HGCM82633A004352'
    changed = base[:10] + '4' + base[11:]            # position 11: weight 8
    assert vin.vin_check_digit(changed) != vin.vin_check_digit(base)


def test_normalised_strip_and_upper_case():
    assert vin.validate_vin('  1m8gdm9axkp042788\n') == '1M8GDM9AXKP042788'


@pytest.mark.parametrize('raw, length', [
    ('1M8GDM9AXKP04278', 16), ('1M8GDM9AXKP0427888', 18), ('', 0), (None, 0), ('   ', 0),
])
def test_wrong_length(raw, length):
    with pytest.raises(Hj1321Error) as info:
        vin.validate_vin(raw)
    exc = info.value
    assert exc.code == 'vin.length'
    assert '17' in exc.message_en and '17' in exc.message_zh
    assert str(length) in exc.message_en and str(length) in exc.message_zh
    assert exc.params['length'] == length


@pytest.mark.parametrize('raw, bad', [
    ('1M8GDM9AXKP04278I', ['I']),
    ('1M8GDM9AXKP04278O', ['O']),
    ('QM8GDM9AXKP042788', ['Q']),
    ('1M8GDM9AXKP0427-8', ['-']),
    ('1m8gdm9axkp04278o', ['O']),          # lower case is folded first
    ('冀M8GDM9AXKP04278*', ['冀', '*']),
])
def test_bad_alphabet_names_the_characters(raw, bad):
    with pytest.raises(Hj1321Error) as info:
        vin.validate_vin(raw)
    exc = info.value
    assert exc.code == 'vin.alphabet'
    assert exc.params['characters'] == bad
    for ch in bad:
        assert ch in exc.message_en and ch in exc.message_zh


def test_wrong_check_digit():
    with pytest.raises(Hj1321Error) as info:
        vin.validate_vin('1M8GDM9A1KP042788')
    exc = info.value
    assert exc.code == 'vin.check_digit'
    assert exc.params == {'value': '1M8GDM9A1KP042788', 'expected': 'X', 'actual': '1'}
    assert 'position 9' in exc.message_en and 'X' in exc.message_en
    assert '第9位' in exc.message_zh and 'X' in exc.message_zh


def test_check_digit_can_be_skipped():
    assert vin.validate_vin('1M8GDM9A1KP042788', check_digit=False) == '1M8GDM9A1KP042788'
    with pytest.raises(Hj1321Error):
        vin.validate_vin('1M8GDM9A1KP04278I', check_digit=False)


def test_vin_check_digit_validates_its_input():
    with pytest.raises(Hj1321Error) as info:
        vin.vin_check_digit('SHORT')
    assert info.value.code == 'vin.length'
    with pytest.raises(Hj1321Error) as info:
        vin.vin_check_digit('1M8GDM9AXKP04278O')
    assert info.value.code == 'vin.alphabet'
