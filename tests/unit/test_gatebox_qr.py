"""QR codes of 随车清单: real QR images (made with `qrcode`) decoded by pyzbar/libzbar."""
import io

import pytest
import qrcode
from PIL import Image

from gatebox import qr
from gatebox.qr import QrError

VIN = 'LFV2A21K5G3123456'       # check digit '5' is right
LIST_TEXT = ('车辆识别代号（VIN）：%s\n'
             '车辆型号：CA4250P66K24T1A1E5\n'
             '排放阶段：国六\n'
             '发动机型号：CA6DM3-46E65\n'
             '生产企业：中国第一汽车集团有限公司\n'
             '备注：随车清单样例' % VIN)
URL = ('https://www.vecc.org.cn/ve/xxgk/info?xxgkbh=CN%20ZX%20G6%2000%20000001&vin=' + VIN
       + '&clxh=CA4250P66K24T1A1E5&pfjd=China%20VI&lang=zh')


def qr_png(data, jpeg=False, scale=None):
    """An image file holding one QR code; data str (UTF-8 in the symbol) or bytes (as is)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=4)
    code.add_data(data)
    image = code.make_image().get_image().convert('RGB')
    if scale:
        image = image.resize((image.width * scale // 10, image.height * scale // 10))
    if jpeg:        # a photo-like copy: on a larger grey page, JPEG compressed
        page = Image.new('RGB', (image.width + 200, image.height + 120), (225, 225, 220))
        page.paste(image, (120, 40))
        image = page
    out = io.BytesIO()
    image.save(out, 'JPEG' if jpeg else 'PNG', quality=85)
    return out.getvalue()


def test_utf8_chinese_list_is_recovered():
    results = qr.decode_image(qr_png(LIST_TEXT))
    assert len(results) == 1
    assert results[0].text == LIST_TEXT
    assert results[0].encoding == 'utf-8'
    assert results[0].raw_bytes == LIST_TEXT.encode('utf-8')


def test_gbk_chinese_list_is_recovered():
    raw = LIST_TEXT.encode('gbk')
    results = qr.decode_image(qr_png(raw))
    assert results[0].text == LIST_TEXT
    assert results[0].encoding == 'gbk'
    assert results[0].raw_bytes == raw


@pytest.mark.parametrize('data', [LIST_TEXT, LIST_TEXT.encode('gbk')])
def test_decoded_list_gives_vin_model_stage(data):
    fields = qr.parse_emission_list(qr.decode_image(qr_png(data, jpeg=True))[0].text)
    assert fields['vin'] == VIN
    assert fields['model'] == 'CA4250P66K24T1A1E5'
    assert fields['emission_stage'] == '6' and fields['emission_stage_raw'] == '国六'
    assert fields['engine_model'] == 'CA6DM3-46E65'
    assert fields['manufacturer'] == '中国第一汽车集团有限公司'
    assert fields['warnings'] == []
    assert fields['unparsed'] == '备注：随车清单样例'


def test_url_code_gives_its_parameters():
    result = qr.decode_image(qr_png(URL))[0]
    assert result.text == URL and result.encoding == 'utf-8'
    fields = qr.parse_emission_list(result.text)
    assert fields['url'] == URL
    assert fields['vin'] == VIN
    assert fields['model'] == 'CA4250P66K24T1A1E5'
    assert fields['emission_stage'] == '6' and fields['emission_stage_raw'] == 'China VI'
    assert fields['disclosure_no'] == 'CN ZX G6 00 000001'
    assert fields['unparsed'] == 'lang=zh'
    assert 'manufacturer' not in fields and 'engine_model' not in fields


def test_two_codes_in_one_picture():
    left = Image.open(io.BytesIO(qr_png('第一个')))
    right = Image.open(io.BytesIO(qr_png('second'.encode('ascii'))))
    page = Image.new('RGB', (left.width + right.width + 40, max(left.height, right.height)),
                     'white')
    page.paste(left, (0, 0))
    page.paste(right, (left.width + 40, 0))
    out = io.BytesIO()
    page.save(out, 'PNG')
    assert sorted(r.text for r in qr.decode_image(out.getvalue())) == ['second', '第一个']


def test_zbar_text_mode_never_returns_wrong_text_as_verified():
    """Without libzbar's binary mode, zbar converts the bytes itself (module docstring);
    what cannot be undone is marked 'zbar', never passed off as UTF-8 or GBK."""
    for data, text in ((LIST_TEXT, LIST_TEXT), (LIST_TEXT.encode('gbk'), LIST_TEXT),
                       ('café 東京', 'café 東京'), (URL, URL)):
        result = qr.decode_image(qr_png(data), binary=False)[0]
        assert result.text == text or result.encoding == 'zbar', (data, result)


def test_zbar_text_mode_repairs_the_shift_jis_reading():
    # libzbar 0.23.92 reads these UTF-8 bytes as Shift-JIS ('cafﾃｩ 譚ｱ莠ｬ').
    result = qr.decode_image(qr_png('café 東京'), binary=False)[0]
    assert result.text == 'café 東京'
    assert result.raw_bytes == 'café 東京'.encode('utf-8')


def test_repair_of_known_zbar_conversions():
    gbk = '排放阶段：国六'.encode('gbk')
    latin = qr.repair_zbar_text(gbk.decode('latin-1').encode('utf-8'))
    assert latin == qr.QrResult('排放阶段：国六', gbk, 'gbk (repaired from zbar latin-1)')
    cafe = qr.repair_zbar_text('cafﾃｩ 譚ｱ莠ｬ'.encode('utf-8'))
    assert cafe == qr.QrResult('café 東京', 'café 東京'.encode('utf-8'),
                               'utf-8 (repaired from zbar shift_jis)')
    genuine = qr.repair_zbar_text('国六'.encode('utf-8'))
    assert genuine.text == '国六' and genuine.encoding == 'zbar'
    assert qr.repair_zbar_text(b'VIN=ABC').encoding == 'utf-8'
    accented = qr.repair_zbar_text('Müller GmbH'.encode('utf-8'))     # real latin-1 text
    assert accented.text == 'Müller GmbH'                  # b'M\xfcller' is GBK 'M黮ler'
    assert accented.encoding == 'zbar'


def test_decode_bytes_order_and_fallback():
    assert qr.decode_bytes('国六'.encode('utf-8')) == ('国六', 'utf-8')
    assert qr.decode_bytes('国六'.encode('gbk')) == ('国六', 'gbk')
    assert qr.decode_bytes('\ufeffVIN'.encode('utf-8')) == ('VIN', 'utf-8')
    assert qr.decode_bytes(b'\xff\xff\x80') == ('\xff\xff\x80', 'latin-1 (fallback)')


def test_image_without_qr_code():
    blank = io.BytesIO()
    Image.new('RGB', (200, 120), 'white').save(blank, 'PNG')
    with pytest.raises(QrError) as info:
        qr.decode_image(blank.getvalue())
    assert info.value.code == 'qr.not_found'
    assert '二维码' in info.value.message_zh and 'QR code' in info.value.message_en


@pytest.mark.parametrize('data', [b'', b'this is not an image', b'\x89PNG\r\n\x1a\n\x00\x00',
                                  qr_png('cut short')[:200]])
def test_garbage_is_not_an_image(data):
    with pytest.raises(QrError) as info:
        qr.decode_image(data)
    assert info.value.code == 'qr.bad_image'
    assert isinstance(info.value, ValueError)
    assert info.value.message('zh_CN') == info.value.message_zh
    assert info.value.message('en_US') == info.value.message_en


# ---------------------------------------------------------------------------------------
# parse_emission_list on texts
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('text, code', [
    ('国五', '5'), ('国5', '5'), ('国V', '5'), ('国Ⅴ', '5'), ('China V', '5'),
    ('国六', '6'), ('国6', '6'), ('国VI', '6'), ('国Ⅵ', '6'), ('China VI', '6'),
    ('国六b', '6'), ('国六（GB17691-2018）', '6'), ('国IV', '4'), ('国III', '3'),
    ('国四', '4'), ('纯电动', 'D'), ('欧VI', None), ('GB17691-2018', None), ('', None)])
def test_stage_codes(text, code):
    assert qr.stage_code(text) == code


def test_invalid_vin_is_kept_with_a_warning():
    fields = qr.parse_emission_list('VIN: lfv2a21k5g3123457; 型号: BJ1049')
    assert fields['vin'] == 'LFV2A21K5G3123457'
    assert fields['model'] == 'BJ1049'
    assert [w['code'] for w in fields['warnings']] == ['vin.check_digit']
    assert fields['warnings'][0]['field'] == 'vin'
    assert '校验位' in fields['warnings'][0]['message_zh']


def test_unknown_stage_is_reported_not_guessed():
    fields = qr.parse_emission_list('车型：BJ1049\n排放阶段：欧六')
    assert 'emission_stage' not in fields
    assert fields['emission_stage_raw'] == '欧六'
    assert [w['code'] for w in fields['warnings']] == ['list.unknown_stage']


def test_nothing_is_invented():
    fields = qr.parse_emission_list('检验合格\n出厂日期：2026-11-01')
    assert set(fields) == {'unparsed', 'warnings'}
    assert fields['unparsed'] == '检验合格\n出厂日期：2026-11-01'


def test_comma_separated_fields_and_commas_inside_values():
    fields = qr.parse_emission_list('VIN:%s，车型:BJ1049, 排放标准:China V,制造商:Foton Co., Ltd.'
                                    % VIN)
    assert fields['vin'] == VIN and fields['model'] == 'BJ1049'
    assert fields['emission_stage'] == '5'
    assert fields['manufacturer'] == 'Foton Co., Ltd.'


def test_conflicting_values_keep_the_first_and_warn():
    fields = qr.parse_emission_list('型号：A1\n车辆型号：B2')
    assert fields['model'] == 'A1'
    assert [w['code'] for w in fields['warnings']] == ['list.conflict']


def test_bare_vin_code():
    assert qr.parse_emission_list(' %s ' % VIN)['vin'] == VIN
