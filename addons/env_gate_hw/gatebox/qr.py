"""QR codes of 随车清单 (vehicle emission information lists) and machinery labels.

`decode_image` finds the QR codes in a picture (Pillow opens it, pyzbar/libzbar decodes)
and returns their text with the raw bytes and the encoding used; `parse_emission_list`
picks the VIN, model, emission stage, engine model and manufacturer out of the text.

Encodings. The code holds bytes; Chinese text in it is UTF-8 or GBK and a QR code rarely
says which (no ECI). libzbar does not return those bytes by default: it converts them to
UTF-8 from a guessed encoding. Verified with Debian 12 libzbar0 0.23.92 and codes made by
the `qrcode` package: UTF-8 Chinese comes back right; GBK '国六' comes back as '弊鞠'
(read as Big5); GBK '中国第一汽车' as '笢弊菴珨\\uf70b陬' (Big5 with a private-use
character, so not even reversible); UTF-8 'café 東京' as 'cafﾃｩ 譚ｱ莠ｬ' (read as
Shift-JIS). zbar >= 0.23.1 has a "binary" option (ZBAR_CFG_BINARY) that returns the
symbol's bytes unconverted; with it, decoding the bytes as UTF-8, else GBK, else latin-1
recovers all of the above exactly. That is what `decode_image` does. With an older
libzbar (no binary option, which zbar reports by refusing the setting) the converted
text is repaired where that is unambiguous: latin-1 and Shift-JIS readings (told apart
by their half-width katakana, which real Chinese text never contains) are turned back
into bytes and decoded as UTF-8 or GBK; anything else is returned as zbar gave it, with
encoding 'zbar' so nobody mistakes it for verified text.
"""
import collections
import io
import re
import struct
from urllib.parse import parse_qsl, urlsplit

from hj1321 import vin as vin_rules
from hj1321.errors import BilingualError, Hj1321Error

QrResult = collections.namedtuple('QrResult', 'text raw_bytes encoding')
QrResult.__doc__ = """One QR code: its text, its bytes, and how the bytes became text.

encoding is 'utf-8' or 'gbk' (bytes decoded strictly), 'latin-1 (fallback)' (bytes that
are neither: the text is only a lossless rendering of the bytes), 'utf-8 (repaired from
zbar shift_jis)' / 'gbk (repaired from zbar latin-1)'... (older libzbar, see the module
docstring; raw_bytes are then the reconstructed symbol bytes) or 'zbar' (zbar's own
conversion, which could not be undone; raw_bytes are zbar's UTF-8 output)."""

ZBAR_CFG_BINARY = 4        # zbar.h >= 0.23.1: "don't convert binary data to text"
_FOURCC_Y800 = 0x30303859  # 'Y800': 8-bit grayscale, the format pyzbar hands to zbar
_HALF_WIDTH_KATAKANA = re.compile('[\uff61-\uff9f]')
_CJK = re.compile('[\u3400-\u9fff]')


class QrError(BilingualError):
    """An image that holds no readable QR code, or is no image at all."""


# ---------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------

def decode_bytes(raw):
    """(text, encoding) of QR bytes: UTF-8, else GBK, else latin-1 (marked)."""
    for encoding in ('utf-8', 'gbk'):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.lstrip('\ufeff'), encoding
    return raw.decode('latin-1'), 'latin-1 (fallback)'


def repair_zbar_text(data):
    """QrResult for text that libzbar already converted to UTF-8 (no binary option).

    Undoes the two conversions that can be undone with certainty (see module docstring).
    """
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:          # zbar gave bytes after all
        text, encoding = decode_bytes(data)
        return QrResult(text, data, encoding)
    if all(ord(ch) < 0x100 for ch in text) and any(ord(ch) >= 0x80 for ch in text):
        guessed = 'latin-1'
    elif _HALF_WIDTH_KATAKANA.search(text):
        guessed = 'shift_jis'
    else:
        # ASCII is the same in every reading; other text may or may not be what the
        # symbol held (a Big5 guess cannot be undone).
        return QrResult(text, data, 'utf-8' if text.isascii() else 'zbar')
    try:
        original = text.encode(guessed)
    except UnicodeEncodeError:
        return QrResult(text, data, 'zbar')
    # GB2312 (both bytes of every character 0xA1-0xFE), not all of GBK: 'Müller' in
    # latin-1 is valid GBK ('M黮ler') but not GB2312. Rare GBK-only characters therefore
    # stay unrepaired on an old libzbar.
    for encoding, codec in (('utf-8', 'utf-8'), ('gbk', 'gb2312')):
        try:
            repaired = original.decode(codec)
        except UnicodeDecodeError:
            continue
        if encoding == 'gbk' and not _CJK.search(repaired):
            break                       # bytes that are GB2312 by accident: leave them
        return QrResult(repaired, original, '%s (repaired from zbar %s)' % (encoding, guessed))
    return QrResult(text, data, 'zbar')


def _open(image_bytes):
    from PIL import Image
    if not image_bytes:
        raise QrError('qr.bad_image', '没有收到图片数据', 'no image data was received')
    try:
        image = Image.open(io.BytesIO(bytes(image_bytes)))
        image.load()
        return image.convert('L')
    except (OSError, ValueError, SyntaxError, EOFError, struct.error,
            Image.DecompressionBombError) as exc:
        raise QrError('qr.bad_image', '无法打开图片（不是 JPEG/PNG 等图片文件，或文件不完整）：%s'
                      % exc, 'the image cannot be opened (not a JPEG/PNG/... file, or cut '
                      'short): %s' % exc)


def _scan(image, binary):
    """([bytes], used_binary) of the QR codes in a grayscale PIL image.

    pyzbar.decode() cannot set the binary option, so this is its loop written out with
    pyzbar's ctypes bindings (pyzbar.wrapper). binary=None tries binary mode.
    """
    from ctypes import c_void_p, cast, string_at
    from pyzbar import wrapper

    pixels = image.tobytes()
    width, height = image.size
    scanner = wrapper.zbar_image_scanner_create()
    zimage = wrapper.zbar_image_create()
    try:
        # symbol 0 (ZBAR_NONE) addresses every symbology: all off, then QR code on.
        wrapper.zbar_image_scanner_set_config(scanner, wrapper.ZBarSymbol.NONE,
                                              wrapper.ZBarConfig.CFG_ENABLE, 0)
        wrapper.zbar_image_scanner_set_config(scanner, wrapper.ZBarSymbol.QRCODE,
                                              wrapper.ZBarConfig.CFG_ENABLE, 1)
        used_binary = False
        if binary is not False:     # an older zbar refuses the unknown setting (non-zero)
            used_binary = wrapper.zbar_image_scanner_set_config(
                scanner, wrapper.ZBarSymbol.QRCODE, ZBAR_CFG_BINARY, 1) == 0
        wrapper.zbar_image_set_format(zimage, _FOURCC_Y800)
        wrapper.zbar_image_set_size(zimage, width, height)
        wrapper.zbar_image_set_data(zimage, cast(pixels, c_void_p), len(pixels), None)
        if wrapper.zbar_scan_image(scanner, zimage) < 0:
            raise QrError('qr.bad_image', 'zbar 无法处理该图片', 'zbar cannot process the image')
        datas = []
        symbol = wrapper.zbar_image_first_symbol(zimage)
        while symbol:
            datas.append(string_at(wrapper.zbar_symbol_get_data(symbol),
                                   wrapper.zbar_symbol_get_data_length(symbol)))
            symbol = wrapper.zbar_symbol_next(symbol)
    finally:
        wrapper.zbar_image_destroy(zimage)
        wrapper.zbar_image_scanner_destroy(scanner)
    return datas, used_binary


def decode_image(image_bytes, binary=None):
    """The QR codes in an image file (bytes of a JPEG, PNG, BMP...), as QrResult list.

    binary=None uses libzbar's binary mode when it has one (see module docstring);
    False forces zbar's own text conversion plus `repair_zbar_text` (what an older
    libzbar gives). Raises QrError 'qr.bad_image' (not an image) or 'qr.not_found'.
    """
    image = _open(image_bytes)
    datas, used_binary = _scan(image, binary)
    if not datas:
        raise QrError('qr.not_found', '图片中没有找到可识别的二维码（请对准、拍清楚后重试）',
                      'no readable QR code was found in the image (aim and focus, then try '
                      'again)', size=image.size)
    results = []
    for data in datas:
        if used_binary:
            text, encoding = decode_bytes(data)
            results.append(QrResult(text, data, encoding))
        else:
            results.append(repair_zbar_text(data))
    return results


# ---------------------------------------------------------------------------------------
# 随车清单 / information-disclosure content
# ---------------------------------------------------------------------------------------

# Labels (folded: lower case, no spaces, no bracketed part) and URL parameter names ->
# result key. The pinyin initials are those used by information-disclosure URLs
# (clsbdh 车辆识别代号, clxh 车辆型号, pfjd 排放阶段, fdjxh 发动机型号, sccj 生产厂家,
# xxgkbh 信息公开编号).
_LABELS = {
    'vin': 'vin', 'vin码': 'vin', '车辆识别代号': 'vin', '车辆识别代码': 'vin',
    '车辆识别号': 'vin', '车架号': 'vin', 'clsbdh': 'vin', 'vincode': 'vin',
    '车型': 'model', '型号': 'model', '车辆型号': 'model', '整车型号': 'model', '车型号': 'model',
    '产品型号': 'model', 'model': 'model', 'vehiclemodel': 'model', 'clxh': 'model',
    'cx': 'model', 'xh': 'model',
    '排放阶段': 'emission_stage', '排放标准': 'emission_stage', '排放水平': 'emission_stage',
    'emissionstage': 'emission_stage', 'emissionstandard': 'emission_stage',
    'stage': 'emission_stage', 'pfjd': 'emission_stage', 'pfbz': 'emission_stage',
    '发动机型号': 'engine_model', 'enginemodel': 'engine_model', 'engine': 'engine_model',
    'fdjxh': 'engine_model',
    '生产企业': 'manufacturer', '生产企业名称': 'manufacturer', '制造商': 'manufacturer',
    '制造商名称': 'manufacturer', '生产厂家': 'manufacturer', '制造企业': 'manufacturer',
    '车辆生产企业': 'manufacturer', 'manufacturer': 'manufacturer', 'sccj': 'manufacturer',
    'scqy': 'manufacturer', 'zzs': 'manufacturer', 'qymc': 'manufacturer',
    '信息公开编号': 'disclosure_no', '环保信息公开编号': 'disclosure_no',
    'xxgkbh': 'disclosure_no',
}
_BRACKETED = re.compile(r'[(（\[【][^)）\]】]*[)）\]】]')
_ROMAN = {'vi': '6', 'v': '5', 'iv': '4', 'iii': '3', 'ii': '2', 'i': '1',
          'ⅵ': '6', 'ⅴ': '5', 'ⅳ': '4', 'ⅲ': '3', 'ⅱ': '2', 'ⅰ': '1',
          '六': '6', '五': '5', '四': '4', '三': '3', '二': '2', '一': '1',
          '零': '0', '〇': '0'}
_STAGE = re.compile(r'(?:国|china|cn)\s*[-_]?\s*(vi|iv|v|iii|ii|i|[ⅵⅴⅳⅲⅱⅰ]|[0-6]|[〇零一二三四五六])'
                    r'(?![0-9])', re.I)
_ELECTRIC = re.compile(r'电动|electric', re.I)
_VIN_ONLY = re.compile(r'\A[0-9A-HJ-NPR-Z]{17}\Z')


def stage_code(text):
    """The HJ 1321 emission stage code of a stage text, or None when it names none.

    国五 / 国5 / 国V / 国Ⅴ / China V -> '5'; 国六 / 国VI / 国6b / China VI -> '6' (and 国0
    to 国IV); 纯电动 -> 'D'. Nothing else is guessed.
    """
    if not text:
        return None
    match = _STAGE.search(text)
    if match:
        value = match.group(1).lower()
        return _ROMAN.get(value, value)
    if _ELECTRIC.search(text):
        return 'D'
    return None


def _fold_label(label):
    folded = re.sub(r'\s+', '', label).lower()
    stripped = _BRACKETED.sub('', folded)
    return stripped or folded


def _segments(text):
    """The label/value pieces of a text: lines, then ';' '；' '|' tabs, then commas that
    are followed by another known label."""
    pieces = []
    for line in re.split(r'\r\n|\r|\n', text):
        for piece in re.split(r'[;；|\t]', line):
            tokens = re.split(r'([,，])', piece)        # chunk, comma, chunk, comma...
            merged = [tokens[0]]
            for comma, chunk in zip(tokens[1::2], tokens[2::2]):
                label = re.split(r'[:：=]', chunk, 1)[0]
                if re.search(r'[:：=]', chunk) and _fold_label(label) in _LABELS:
                    merged.append(chunk)
                else:                                   # a comma inside a value
                    merged[-1] += comma + chunk
            pieces.extend(merged)
    return [piece.strip() for piece in pieces if piece.strip()]


def parse_emission_list(text):
    """What a 随车清单 / information-disclosure QR text says, as a dict.

    Keys, each present only when found: vin (stripped, upper case; kept even when
    invalid), model, emission_stage (HJ code '0'..'6' or 'D'), emission_stage_raw,
    engine_model, manufacturer, disclosure_no, url. Always: unparsed (the pieces that
    were not understood, one per line) and warnings (list of {field, code, message_zh,
    message_en}: an invalid VIN, a stage that names no known stage, a field given twice
    with different values). Values are never invented: a field that is absent stays absent.
    A URL contributes its query parameters (vin=..., clxh=..., pfjd=...).
    """
    result = {'unparsed': '', 'warnings': []}
    unparsed = []
    found = collections.OrderedDict()

    def take(label, value, original):
        key = _LABELS.get(_fold_label(label))
        value = (value or '').strip()
        if key is None or not value:
            unparsed.append(original)
            return
        if key in found and found[key] != value:
            result['warnings'].append({
                'field': key, 'code': 'list.conflict',
                'message_zh': '字段 %s 出现两个不同的值：%s 和 %s（保留第一个）'
                              % (key, found[key], value),
                'message_en': 'field %s appears with two values: %s and %s (the first is '
                              'kept)' % (key, found[key], value)})
            return
        found.setdefault(key, value)

    text = (text or '').strip()
    if _VIN_ONLY.match(text.upper()):            # the whole code is just a VIN
        found['vin'] = text
    else:
        for piece in _segments(text):
            if re.match(r'(?i)\Ahttps?://', piece):
                result['url'] = piece
                for name, value in parse_qsl(urlsplit(piece).query, keep_blank_values=True):
                    take(name, value, '%s=%s' % (name, value))
                continue
            parts = re.split(r'[:：=]', piece, 1)
            if len(parts) == 2:
                take(parts[0], parts[1], piece)
            else:
                unparsed.append(piece)

    for key in ('model', 'engine_model', 'manufacturer', 'disclosure_no'):
        if key in found:
            result[key] = found[key]
    if 'emission_stage' in found:
        raw = found['emission_stage']
        result['emission_stage_raw'] = raw
        code = stage_code(raw)
        if code:
            result['emission_stage'] = code
        else:
            result['warnings'].append({
                'field': 'emission_stage', 'code': 'list.unknown_stage',
                'message_zh': '排放阶段“%s”无法识别为国0至国VI或电动' % raw,
                'message_en': 'emission stage "%s" is not China 0 to China VI or electric'
                              % raw})
    if 'vin' in found:
        raw_vin = found['vin'].strip().upper()
        try:
            result['vin'] = vin_rules.validate_vin(raw_vin)
        except Hj1321Error as exc:
            result['vin'] = raw_vin
            result['warnings'].append({'field': 'vin', 'code': exc.code,
                                       'message_zh': exc.message_zh,
                                       'message_en': exc.message_en})
    result['unparsed'] = '\n'.join(unparsed)
    return result
