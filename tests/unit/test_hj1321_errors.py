import pytest

from hj1321.errors import Hj1321Error


def test_error_carries_code_both_messages_and_params():
    exc = Hj1321Error('plate.invalid', '车牌号无效', 'the plate is not valid', value='X1')
    assert isinstance(exc, ValueError)
    assert exc.code == 'plate.invalid'
    assert exc.message_zh == '车牌号无效'
    assert exc.message_en == 'the plate is not valid'
    assert exc.params == {'value': 'X1'}


@pytest.mark.parametrize('lang, expected', [
    ('zh_CN', '中文'), ('zh_TW', '中文'), ('zh', '中文'),
    ('en_US', 'English'), ('fr_FR', 'English'), (None, 'English'), ('', 'English'),
])
def test_message_picks_the_language(lang, expected):
    assert Hj1321Error('x', '中文', 'English').message(lang) == expected


def test_str_is_bilingual_english_first():
    assert str(Hj1321Error('x', '中文', 'English')) == 'English / 中文'


def test_can_be_raised_and_caught_as_value_error():
    with pytest.raises(ValueError) as info:
        raise Hj1321Error('code.invalid', '无效', 'invalid')
    assert info.value.code == 'code.invalid'
