import pytest

from hj1321 import codes, plates
from hj1321.errors import Hj1321Error


def test_all_31_provinces():
    assert len(plates.PROVINCES) == 31
    assert len(set(plates.PROVINCES)) == 31
    for ch in '京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新':
        assert ch in plates.PROVINCES


@pytest.mark.parametrize('plate, kind', [
    ('冀B12345', 'ordinary'),
    ('冀BA234Z', 'ordinary'),
    ('京AK5T12', 'ordinary'),
    ('琼A5T123', 'ordinary'),
    ('新Q00001', 'ordinary'),
    ('冀BD1234', 'ordinary'),             # 7 characters: D is just a letter here
    ('冀BD12345', 'new_energy_small'),
    ('冀BF12345', 'new_energy_small'),
    ('沪ADA1234', 'new_energy_small'),    # first serial character may be a letter
    ('冀B12345D', 'new_energy_large'),
    ('冀B12345F', 'new_energy_large'),
    ('冀B1234挂', 'trailer'),
    ('冀BA234挂', 'trailer'),
    ('冀B1234学', 'coach'),
    ('冀B1234警', 'police'),
    ('粤Z1234港', 'hk'),
    ('粤Z1234澳', 'macau'),
    ('使014578', 'embassy'),
    ('冀B1234应急', 'emergency'),
    ('冀B12345应急', 'emergency'),
])
def test_valid_plates_and_their_kind(plate, kind):
    assert plates.classify_plate(plate) == kind
    assert plates.validate_plate(plate) == (plate, kind)
    assert kind in plates.KINDS


@pytest.mark.parametrize('plate', [
    '冀B1234',          # too short
    'B12345',           # no province
    '冀BO1234',         # O is never used
    '冀BI1234',         # I is never used
    '冀O12345',         # nor as the city letter
    '冀112345',         # the city code is a letter
    '冀B123456',        # 8 characters but not a new-energy shape
    '冀BDAB123',        # new energy small: the last four are digits
    '冀B1234AD',        # new energy large: five digits before D/F
    '冀B12345X',        # large new energy ends in D or F
    '冀B123挂',         # trailer has 4 after the city letter
    '冀B12I4挂',
    '冀Z1234港',        # Hong Kong plates are 粤Z
    '粤Z12345港',
    '使01457',          # embassy: 6 digits
    '使0145789',
    '冀B123应急',
    '甲B12345',         # not a province
    '冀B12345挂',
    'XYZ',
    '1234567',
])
def test_invalid_plates(plate):
    assert plates.classify_plate(plate) is None
    with pytest.raises(Hj1321Error) as info:
        plates.validate_plate(plate)
    exc = info.value
    assert exc.code == 'plate.invalid'
    assert plate in exc.message_zh and plate in exc.message_en
    assert '冀B12345' in exc.message_en          # says what shape was expected
    assert '省份简称' in exc.message_zh and 'province' in exc.message_en


@pytest.mark.parametrize('plate, hint_zh, hint_en', [
    ('冀B1234', '只有 6 位', 'only 6 characters'),
    ('B12345', '不是省份简称', 'not a province abbreviation'),
    ('冀BO1234', 'I 或 O', 'I or O'),
    ('冀B1234567', '有 9 位', '9 characters'),
])
def test_invalid_plate_message_names_the_problem(plate, hint_zh, hint_en):
    with pytest.raises(Hj1321Error) as info:
        plates.validate_plate(plate)
    assert hint_zh in info.value.message_zh
    assert hint_en in info.value.message_en
    assert info.value.params['value'] == plate


def test_message_shape_matches_the_house_style():
    with pytest.raises(Hj1321Error) as info:
        plates.validate_plate('冀B1234')
    assert info.value.message_zh.startswith(
        "车牌号 '冀B1234' 不是有效的号牌：普通号牌应为省份简称+字母+5位字母数字")
    assert info.value.message_en.startswith(
        "Plate '冀B1234' is not valid: an ordinary plate is a province character, a letter "
        "and 5 letters or digits")


@pytest.mark.parametrize('raw, key', [
    ('冀B12345', '冀B12345'),
    ('  冀B12345  ', '冀B12345'),
    ('冀b12345', '冀B12345'),
    ('冀B·12345', '冀B12345'),
    ('冀B•12345', '冀B12345'),
    ('冀B-123.45_', '冀B12345'),
    ('冀 B 1 2 3 4 5', '冀B12345'),
    ('冀Ｂ１２３４５', '冀B12345'),           # full width
    ('冀ｂ１２３４５', '冀B12345'),
    ('冀Ｂ－１２３４５', '冀B12345'),         # full-width hyphen
    ('冀B\u300012345', '冀B12345'),           # ideographic space
    ('冀B\u200b12345', '冀B12345'),           # zero-width space
    ('冀B・12345', '冀B12345'),               # katakana middle dot
    ('冀bd12345', '冀BD12345'),
    ('冀b1234挂', '冀B1234挂'),               # Chinese suffix kept
    ('冀B1234应急', '冀B1234应急'),
    ('使014578', '使014578'),
    ('冀BO1234', '冀BO1234'),                 # O is not rewritten to 0
    ('冀B1I234', '冀B1I234'),                 # nor I to 1
    ('B12345', 'B12345'),                     # no province: nothing invented
    ('???', '???'),
    ('12', '12'),
])
def test_normalize_plate(raw, key):
    assert plates.normalize_plate(raw) == key


def test_normalize_keeps_the_province_character():
    for province in plates.PROVINCES:
        assert plates.normalize_plate(province + 'a1234 5')[0] == province


@pytest.mark.parametrize('raw', [None, '', '   ', '\t\n', '·', ' - . _ ', '\u3000', '－'])
def test_empty_plate(raw):
    with pytest.raises(Hj1321Error) as info:
        plates.normalize_plate(raw)
    assert info.value.code == 'plate.empty'
    with pytest.raises(Hj1321Error):
        plates.validate_plate(raw)


@pytest.mark.parametrize('raw', ['x', '冀', '!!', '😀', 'ß', '冀B12345冀B12345冀B12345', 12345])
def test_normalize_never_raises_on_non_empty_text(raw):
    assert plates.normalize_plate(raw)


@pytest.mark.parametrize('key', [None, '', 123, '冀b12345'])
def test_classify_only_accepts_keys(key):
    assert plates.classify_plate(key) is None


@pytest.mark.parametrize('kind, colors', [
    ('ordinary', {'0', '1'}),
    ('new_energy_small', {'4'}),
    ('new_energy_large', {'6', '4'}),
    ('trailer', {'1'}),
    ('coach', {'1'}),
    ('police', {'2'}),
    ('hk', {'3'}),
    ('macau', {'3'}),
    ('embassy', {'3'}),
    ('emergency', {'0', '1', '2'}),
    (None, set()),
    ('nonsense', set()),
])
def test_expected_colors(kind, colors):
    assert plates.expected_colors(kind) == colors
    for code in colors:
        assert codes.is_valid('plate_color', code)


def test_expected_colors_returns_a_fresh_set():
    plates.expected_colors('ordinary').add('9')
    assert '9' not in plates.expected_colors('ordinary')


def test_every_kind_has_colors_and_labels():
    for kind in plates.KINDS:
        assert plates.expected_colors(kind)
        assert plates.kind_label(kind, 'zh_CN') != plates.kind_label(kind, 'en_US')
    assert plates.kind_label(None) == ''
