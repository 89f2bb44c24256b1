"""Plate cameras: each vendor's push parsed into one normalised read, and the replies.

Three protocols reach the gate box (facts in /work/shared/domain/DEVICES.md):

* AlarmInfoPlate JSON push (Vzenith 臻识, Qianyi 芊熠 and most Chinese parking cameras):
  `parse_alarminfoplate` reads the request, `alarminfoplate_reply` builds the answer that
  opens the barrier and drives the LED board.
* Hikvision ISAPI multipart/form-data push: `parse_hikvision`.
* Dahua snapManager attachFileProc stream (the box subscribes with
  `dahua_subscribe_path`): `DahuaStreamParser` reads it incrementally.

All three give a `PlateRead`; `to_event` turns one into an event of the ERP contract
(hj1321/events.py). Nothing here does I/O: the listeners own sockets, retries and queues.

A body that cannot be read raises `PayloadError` (a ValueError with a stable `code` and a
message in both languages naming the field): the listener answers 4xx and quarantines the
raw body. A vehicle whose plate the camera could not read is NOT an error: it is a read
with plate_key '' ("unreadable"), which the ERP queues for a person.

Standard library only, plus the framework-free hj1321 package.
"""
import base64
import binascii
import collections
import datetime
import hashlib
import json
import re
import xml.etree.ElementTree as ET

from hj1321 import codes, events, plates
from hj1321.errors import BilingualError, Hj1321Error

PlateRead = collections.namedtuple('PlateRead', (
    'camera_event_id lane_hint plate_raw plate_key plate_color confidence direction '
    'time_utc pictures is_offline is_heartbeat raw_kind extra'))
PlateRead.__doc__ = """One read from a plate camera, whatever the vendor.

camera_event_id: stable id of the camera's record (the same resent read gives the same
    id), for deduplication of resends and offline replays.
lane_hint: '<device>/<channel or lane>' as the camera reports it, to find the lane.
plate_raw: the plate text exactly as sent ('' when none); plate_key: plates.normalize_plate
    of it, or '' when the camera read no plate ('_无_', '无牌车', '' ...): unreadable.
plate_color: HJ 1321 plate colour code '0'..'6' or None when the camera sent none.
confidence: 0-100 float or None. direction: 'in', 'out' or None.
time_utc: naive UTC datetime of the read. pictures: {'front'|'body'|'plate': bytes}.
is_offline: a replay of a read stored while the link was down.
is_heartbeat: a keep-alive, with no plate. raw_kind: 'alarminfoplate', 'hikvision', 'dahua'.
extra: the camera's own fields (JSON-serialisable, pictures left out)."""

ALARMINFOPLATE = 'alarminfoplate'
HIKVISION = 'hikvision'
DAHUA = 'dahua'

# China Standard Time: assumed for the rare camera times that carry no offset (cameras
# sold in China run on Beijing time); every read made that way says so in extra.
CST = datetime.timezone(datetime.timedelta(hours=8), 'CST')
_EPOCH = datetime.datetime(1970, 1, 1)

# Texts cameras send instead of a plate when they saw a vehicle but read nothing.
# Compared stripped and lower-cased.
UNREADABLE_PLATES = frozenset([
    '', '_无_', '无', '无牌', '无牌车', '无车牌', '未识别', '未知', '车牌', '无法识别',
    'unknown', 'none', 'null', 'noplate', 'no plate', '-', '--', '?'])

# Hikvision `ANPR/direction`: 'forward' is a vehicle coming towards the camera, 'reverse'
# one moving away. A gate camera faces the traffic of its lane, so on the usual layout
# (one camera per lane, facing arriving vehicles of an entry lane) forward is 'in'.
# A camera facing leaving traffic needs {'forward': 'out', 'reverse': 'in'}; pass {} to
# report no direction (the lane's own direction then applies).
HIKVISION_DIRECTIONS = {'forward': 'in', 'reverse': 'out'}
# AlarmInfoPlate `direction` is the motion in the image (0 unknown, 1 left, 2 right, 3 up,
# 4 down): it says nothing about in/out until someone knows how the camera is mounted, so
# nothing is mapped by default; a lane can pass e.g. {4: 'in', 3: 'out'}.
ALARMINFOPLATE_DIRECTIONS = {}
# Dahua `ParkType` (parking cameras): 0 any, 1 entry, 2 exit.
DAHUA_PARK_TYPES = {'1': 'in', '2': 'out'}

# Colour names seen from Hikvision (`plateColor`) and Dahua (`PlateColor`) that the shared
# table in hj1321.codes does not know; folded (lower case, no separators).
_VENDOR_COLOR_NAMES = {
    'gradientgreen': '4', 'shadowgreen': '4', 'newenergygreen': '4', 'mixedgreen': '4',
    'civilaviationgreen': '4', 'civilaviationblack': '3',
    'newenergyyellowgreen': '6', 'yellowgreen': '6',
}

_PICTURE_MAGIC = (b'\xff\xd8\xff', b'\x89PNG\r\n\x1a\n')
_MAX_PLATE = 16         # the contract's limit on `plate`
_MAX_REASON = 200       # the contract's limit on `reason`


class PayloadError(BilingualError):
    """A camera body this module cannot read: answer 4xx and quarantine the raw body.

    `code` is stable ('payload.bad_json', 'payload.missing_field', 'payload.bad_field',
    'payload.content_type', 'payload.no_boundary', 'payload.truncated', 'payload.no_xml',
    'payload.bad_xml', 'payload.doctype', 'payload.not_anpr', 'payload.bad_time');
    `protocol` names the camera protocol and `params` keeps the field and values.
    """

    def __init__(self, code, message_zh, message_en, protocol=None, **params):
        super(PayloadError, self).__init__(code, message_zh, message_en, **params)
        self.protocol = protocol

    def __repr__(self):
        return 'PayloadError(%r, %r)' % (self.code, self.message_en)


def _shown(value, limit=40):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def _missing(protocol, field):
    return PayloadError('payload.missing_field', '%s 数据缺少字段 %s' % (protocol, field),
                        '%s body: field %s is missing' % (protocol, field),
                        protocol=protocol, field=field)


def _bad(protocol, field, zh, en, value=None):
    return PayloadError('payload.bad_field', '%s 数据字段 %s：%s' % (protocol, field, zh),
                        '%s body: field %s %s' % (protocol, field, en),
                        protocol=protocol, field=field, value=value)


# ---------------------------------------------------------------------------------------
# Shared conversions
# ---------------------------------------------------------------------------------------

def plate_color_code(value):
    """The HJ plate colour code for a camera colour, or None when the camera sent none.

    Integers and digit strings are AlarmInfoPlate `colorType`; names are Hikvision or
    Dahua colours. Unknown colours are '5' (other): a person confirms them.
    """
    if value is None or value == '':
        return None
    if isinstance(value, bool):
        return '5'
    if isinstance(value, int):
        return codes.camera_color_to_hj(value)
    text = str(value).strip()
    if text.isdigit():
        return codes.camera_color_to_hj(text)
    return _color_name(text)


def _color_name(name):
    """HJ code of a colour *name* (Hikvision, Dahua): digits are not colorType here."""
    if name is None or not str(name).strip():
        return None
    folded = re.sub(r'[\s_\-]', '', str(name)).lower()
    if folded in _VENDOR_COLOR_NAMES:
        return _VENDOR_COLOR_NAMES[folded]
    if folded.isdigit() or folded.startswith('0x'):
        return '5'          # a vendor code number we have no table for
    return codes.camera_color_to_hj(name)


def _plate(raw):
    """(plate_raw, plate_key): key '' when the camera reports no plate."""
    if raw is None:
        return '', ''
    raw = str(raw)
    if raw.strip().lower() in UNREADABLE_PLATES:
        return raw, ''
    try:
        return raw, plates.normalize_plate(raw)
    except Hj1321Error:      # only spaces or separators
        return raw, ''


def _confidence(value):
    """0-100 float, or None when absent or outside the range (kept raw in extra)."""
    if value is None or value == '' or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0 <= number <= 100 else None


def _check_year(when, protocol, field, value):
    if not 1900 <= when.year <= 2199:
        raise PayloadError('payload.bad_time',
                           '%s 数据字段 %s 的时间 %s 不在 1900-2199 年之间（相机时钟错误？）'
                           % (protocol, field, _shown(value)),
                           '%s body: field %s time %s is outside 1900-2199 (camera clock '
                           'wrong?)' % (protocol, field, _shown(value)),
                           protocol=protocol, field=field, value=value)
    return when


def _epoch(seconds, micro, protocol, field):
    """Naive UTC datetime from epoch seconds and microseconds."""
    try:
        when = _EPOCH + datetime.timedelta(seconds=int(seconds), microseconds=int(micro or 0))
    except (TypeError, ValueError, OverflowError):
        raise PayloadError('payload.bad_time',
                           '%s 数据字段 %s 须为 Unix 秒数（收到 %s）'
                           % (protocol, field, _shown(seconds)),
                           '%s body: field %s must be Unix epoch seconds (got %s)'
                           % (protocol, field, _shown(seconds)),
                           protocol=protocol, field=field, value=seconds)
    return _check_year(when, protocol, field, seconds)


_ISO = re.compile(
    r'\A\s*([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})'
    r'(?:[.,]([0-9]{1,9}))?\s*(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?\s*\Z', re.I)


def _iso(value, local_offset, protocol, field):
    """(naive UTC datetime, offset_assumed) from an ISO 8601 text, offset optional."""
    match = _ISO.match(value or '')
    if match is None:
        raise PayloadError('payload.bad_time',
                           '%s 数据字段 %s 须为 ISO 8601 时间，如 2026-11-28T08:15:30+08:00'
                           '（收到 %s）' % (protocol, field, _shown(value)),
                           '%s body: field %s must be an ISO 8601 time such as '
                           '2026-11-28T08:15:30+08:00 (got %s)' % (protocol, field, _shown(value)),
                           protocol=protocol, field=field, value=value)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        when = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute),
                                 int(second), int((fraction or '0')[:6].ljust(6, '0')))
    except ValueError:
        raise PayloadError('payload.bad_time', '%s 数据字段 %s 的日期不存在（收到 %s）'
                           % (protocol, field, _shown(value)),
                           '%s body: field %s is not a real date (got %s)'
                           % (protocol, field, _shown(value)),
                           protocol=protocol, field=field, value=value)
    assumed = zone is None
    if zone is None:
        offset = local_offset.utcoffset(None)
    elif zone.upper() == 'Z':
        offset = datetime.timedelta(0)
    else:
        digits = zone[1:].replace(':', '')
        offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        if zone[0] == '-':
            offset = -offset
    return _check_year(when - offset, protocol, field, value), assumed


def _received(received_utc):
    return received_utc if received_utc is not None else datetime.datetime.utcnow()


def _no_time(protocol, field, offline):
    """A read without camera time: an offline replay cannot be placed in time."""
    if offline:
        raise PayloadError('payload.bad_time',
                           '%s 离线补传数据缺少时间字段 %s：无法确定过车时间'
                           % (protocol, field),
                           '%s body: offline replay without field %s: the passage time is '
                           'unknown' % (protocol, field), protocol=protocol, field=field)


def _b64_picture(value, field, problems):
    """Bytes of a base64 picture, or None (the problem is noted, the read is kept)."""
    if not value:
        return None
    if not isinstance(value, str):
        problems.append('%s: not a string' % field)
        return None
    try:
        data = base64.b64decode(re.sub(r'\s+', '', value), validate=True)
    except (binascii.Error, ValueError):
        problems.append('%s: not valid base64' % field)
        return None
    if not data.startswith(_PICTURE_MAGIC):
        problems.append('%s: not a JPEG or PNG picture' % field)
    return data


def _read(**fields):
    values = dict(camera_event_id='', lane_hint='', plate_raw='', plate_key='', plate_color=None,
                  confidence=None, direction=None, time_utc=None, pictures={},
                  is_offline=False, is_heartbeat=False, raw_kind='', extra={})
    values.update(fields)
    return PlateRead(**values)


def _text(value):
    return '' if value is None else str(value)


# ---------------------------------------------------------------------------------------
# AlarmInfoPlate JSON push
# ---------------------------------------------------------------------------------------

_AIP = 'AlarmInfoPlate'
_AIP_PICTURE_FIELDS = (('imageFile', 'front'), ('imageFragmentFile', 'plate'))


def _no_constants(name):
    raise ValueError('%s is not valid JSON' % name)


def _json_body(body, protocol):
    if isinstance(body, str):
        text = body
    else:
        raw = bytes(body or b'').strip(b'\x00 \t\r\n')   # some firmware pads with NULs
        try:
            text = raw.decode('utf-8-sig')
        except UnicodeDecodeError:
            try:        # older firmware sends the plate in GBK
                text = raw.decode('gbk')
            except UnicodeDecodeError as exc:
                raise PayloadError('payload.bad_json', '%s 数据不是 UTF-8 或 GBK 文本：%s'
                                   % (protocol, exc),
                                   '%s body is neither UTF-8 nor GBK text: %s' % (protocol, exc),
                                   protocol=protocol)
    try:
        return json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise PayloadError('payload.bad_json', '%s 数据不是有效的 JSON：%s' % (protocol, exc),
                           '%s body is not valid JSON: %s' % (protocol, exc), protocol=protocol)


def _is_true(value):
    return value is True or (not isinstance(value, bool) and str(value).strip().lower()
                             in ('1', 'true', 'yes'))


def parse_alarminfoplate(body, direction_map=None, received_utc=None):
    """The PlateRead of an AlarmInfoPlate push body (bytes, UTF-8 or GBK JSON).

    Required: AlarmInfoPlate.result.PlateResult.license (a string; '' or '_无_' make an
    unreadable read). Optional: everything else. The time is timeStamp.Timeval.sec (epoch
    seconds, UTC) + usec; without it the read gets `received_utc` (default now) and
    extra['time_source'] = 'received', except for offline replays (isoffline 1), which
    are refused. imageFile becomes picture 'front', imageFragmentFile picture 'plate'; a
    broken picture is noted in extra['picture_problems'] and the read is kept.
    `direction_map` maps the camera's direction code (int) to 'in'/'out'.
    Raises PayloadError.
    """
    data = _json_body(body, _AIP)
    alarm = data.get(_AIP) if isinstance(data, dict) else None
    if not isinstance(alarm, dict):
        raise _missing(_AIP, _AIP)
    result = alarm.get('result')
    plate_result = result.get('PlateResult') if isinstance(result, dict) else None
    if not isinstance(plate_result, dict):
        raise _missing(_AIP, 'AlarmInfoPlate.result.PlateResult')
    if plate_result.get('license') is None:
        raise _missing(_AIP, 'AlarmInfoPlate.result.PlateResult.license')
    license_ = plate_result['license']
    if not isinstance(license_, str):
        raise _bad(_AIP, 'AlarmInfoPlate.result.PlateResult.license', '须为字符串',
                   'must be a string', license_)
    plate_raw, plate_key = _plate(license_)
    offline = _is_true(plate_result.get('isoffline', 0))

    extra = {}
    stamp = plate_result.get('timeStamp')
    timeval = stamp.get('Timeval') if isinstance(stamp, dict) else None
    sec = timeval.get('sec') if isinstance(timeval, dict) else None
    usec = (timeval.get('usec') or 0) if isinstance(timeval, dict) else 0
    if sec is None or sec == '':
        _no_time(_AIP, 'AlarmInfoPlate.result.PlateResult.timeStamp.Timeval.sec', offline)
        when = _received(received_utc)
        extra['time_source'] = 'received'
        sec_text = ''
    else:
        if isinstance(usec, bool) or not isinstance(usec, (int, str)) \
                or not str(usec).strip().isdigit() or int(usec) >= 1000000:
            usec = 0
        when = _epoch(sec, usec, _AIP, 'AlarmInfoPlate.result.PlateResult.timeStamp.Timeval.sec')
        sec_text = '%d.%06d' % (int(sec), int(usec))

    problems = []
    pictures = {}
    for field, kind in _AIP_PICTURE_FIELDS:
        picture = _b64_picture(plate_result.get(field), field, problems)
        if picture:
            pictures[kind] = picture
    if problems:
        extra['picture_problems'] = problems

    direction_raw = plate_result.get('direction')
    mapping = ALARMINFOPLATE_DIRECTIONS if direction_map is None else direction_map
    direction = None
    if isinstance(direction_raw, (int, str)) and not isinstance(direction_raw, bool):
        key = int(direction_raw) if str(direction_raw).strip().isdigit() else direction_raw
        direction = mapping.get(key)

    serialno = _text(alarm.get('serialno'))
    device = serialno or _text(alarm.get('ipaddr'))
    extra.update({k: alarm[k] for k in ('serialno', 'ipaddr', 'channel', 'deviceName',
                                         'user_data') if k in alarm})
    extra['PlateResult'] = {k: v for k, v in plate_result.items()
                            if k not in ('imageFile', 'imageFragmentFile')}
    return _read(
        camera_event_id='aip/%s/%s/%s' % (device, _text(plate_result.get('plateid')), sec_text),
        lane_hint='%s/%s' % (device, _text(alarm.get('channel'))),
        plate_raw=plate_raw, plate_key=plate_key,
        plate_color=plate_color_code(plate_result.get('colorType')),
        confidence=_confidence(plate_result.get('confidence')),
        direction=direction, time_utc=when, pictures=pictures, is_offline=offline,
        raw_kind=ALARMINFOPLATE, extra=extra)


def alarminfoplate_reply(open_barrier, led_lines, voice=None, channel=0, relay=0, frame=None):
    """The JSON object (a dict) answering an AlarmInfoPlate push.

    info 'ok' pulses the barrier relay `relay` (channelNum), anything else ('no') keeps it
    closed. content is always 'retransfer_stop': without it some models resend the read
    forever. serialData drives the RS-485 board on serial channel `channel`:

    Framing: one serialData item per LED line, in order, then one item for `voice` (if
    given). Each item's data is the text encoded GBK (Chinese LED and voice boards use
    GB2312/GBK; characters outside GBK become '?'), base64 in `data`, its byte length in
    `dataLen`. That is the plain-text framing many boards accept in "transparent" mode;
    a board with its own protocol (address, command byte, checksum) gets it through
    `frame(index, text_bytes, is_voice) -> bytes`, applied before base64.
    """
    items = [(line, False) for line in (led_lines or [])]
    if voice:
        items.append((voice, True))
    serial = []
    for index, (text, is_voice) in enumerate(items):
        data = _text(text).encode('gbk', 'replace')
        if frame is not None:
            data = bytes(frame(index, data, is_voice))
        serial.append({'serialChannel': channel,
                       'data': base64.b64encode(data).decode('ascii'),
                       'dataLen': len(data)})
    return {'Response_AlarmInfoPlate': {
        'info': 'ok' if open_barrier else 'no',
        'channelNum': relay,
        'content': 'retransfer_stop',
        'serialData': serial,
    }}


# ---------------------------------------------------------------------------------------
# Multipart (Hikvision push; a single complete body)
# ---------------------------------------------------------------------------------------

Part = collections.namedtuple('Part', 'headers name filename content_type content')

_PARAM = re.compile(r';\s*([A-Za-z0-9_.*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def _header_params(value):
    """(main value lower-cased, {param: value}) of a header like Content-Type."""
    value = value or ''
    main = value.split(';', 1)[0].strip().lower()
    params = {}
    for match in _PARAM.finditer(value):
        params[match.group(1).lower()] = match.group(2) if match.group(2) is not None \
            else match.group(3)
    return main, params


def _parse_headers(block):
    headers = {}
    for line in block.split(b'\n'):
        line = line.rstrip(b'\r')
        if b':' not in line:
            continue
        key, value = line.split(b':', 1)
        headers[key.strip().decode('latin-1').lower()] = value.strip().decode('utf-8', 'replace')
    return headers


def _multipart(body, boundary, protocol):
    """The parts of a complete multipart body; refuses one cut before its closing line."""
    delim = b'--' + boundary
    pos = body.find(delim)
    if pos < 0:
        raise PayloadError('payload.truncated',
                           '%s 数据中没有分隔符 --%s' % (protocol, boundary.decode('latin-1')),
                           '%s body has no --%s delimiter' % (protocol,
                                                              boundary.decode('latin-1')),
                           protocol=protocol)
    parts = []
    while True:
        pos += len(delim)
        if body[pos:pos + 2] == b'--':
            return parts
        line_end = body.find(b'\n', pos)
        following = body.find(b'\n' + delim, line_end) if line_end >= 0 else -1
        if following < 0:
            raise PayloadError('payload.truncated',
                               '%s 数据在第 %d 部分中途截断（缺少结束分隔符）'
                               % (protocol, len(parts) + 1),
                               '%s body is cut short in part %d (no closing delimiter)'
                               % (protocol, len(parts) + 1), protocol=protocol)
        raw = body[line_end + 1:following]
        if raw.endswith(b'\r'):
            raw = raw[:-1]
        split = re.search(b'\r?\n\r?\n', raw)
        if raw.startswith(b'\r\n') or raw.startswith(b'\n'):      # a part without headers
            head, content = b'', raw[2 if raw.startswith(b'\r\n') else 1:]
        elif split is None:
            head, content = raw, b''
        else:
            head, content = raw[:split.start()], raw[split.end():]
        headers = _parse_headers(head)
        _disposition, disp = _header_params(headers.get('content-disposition'))
        ctype, _params = _header_params(headers.get('content-type'))
        parts.append(Part(headers, disp.get('name', ''), disp.get('filename', ''), ctype,
                          content))
        pos = following + 1


# ---------------------------------------------------------------------------------------
# Hikvision ISAPI
# ---------------------------------------------------------------------------------------

_HIK = 'Hikvision'
_XML_DECL = re.compile(r'''^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']''')
_HIK_HEADER_FIELDS = ('ipAddress', 'ipv6Address', 'portNo', 'protocol', 'macAddress',
                      'channelID', 'dateTime', 'activePostCount', 'eventType', 'eventState',
                      'eventDescription', 'channelName', 'UUID', 'picNum',
                      'isDataRetransmission', 'monitoringSiteID', 'deviceID')
# Picture parts, by lower-cased name without extension.
_HIK_PICTURES = {'licenseplatepicture': 'plate', 'detectionpicture': 'front',
                 'vehiclepicture': 'body'}


def _xml_text(data, protocol):
    """The text of an XML document (bytes) from its BOM or declaration, else UTF-8/GBK."""
    if data.startswith(b'\xef\xbb\xbf'):
        return data[3:].decode('utf-8', 'replace')
    if data.startswith((b'\xff\xfe', b'\xfe\xff')):
        return data.decode('utf-16', 'replace')
    head = data[:200].decode('latin-1')
    declared = _XML_DECL.match(head)
    encodings = ([declared.group(1)] if declared else []) + ['utf-8', 'gb18030']
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    raise PayloadError('payload.bad_xml', '%s XML 不是可识别的文本编码' % protocol,
                       '%s XML is not in a known text encoding' % protocol, protocol=protocol)


def parse_xml(data, protocol=_HIK):
    """An ElementTree element from untrusted XML bytes; refuses DTDs and entities.

    Entities (billion laughs, external files) need a DOCTYPE, and no camera sends one.
    """
    text = _xml_text(data, protocol) if isinstance(data, (bytes, bytearray)) else data
    if re.search(r'<!\s*(?:DOCTYPE|ENTITY)', text, re.I):
        raise PayloadError('payload.doctype', '%s XML 含有 DOCTYPE/ENTITY 声明，出于安全原因拒收'
                           % protocol,
                           '%s XML contains a DOCTYPE/ENTITY declaration, refused for safety'
                           % protocol, protocol=protocol)
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise PayloadError('payload.bad_xml', '%s XML 格式错误：%s' % (protocol, exc),
                           '%s XML is not well-formed: %s' % (protocol, exc),
                           protocol=protocol)


def _local(tag):
    return tag.rsplit('}', 1)[-1] if isinstance(tag, str) else ''


def _child(element, name):
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _child_text(element, name):
    """Stripped text of a direct child (by local name, any namespace); '' when empty or
    absent, so `<activePostCount/>` is simply ''."""
    child = _child(element, name) if element is not None else None
    return (child.text or '').strip() if child is not None else ''


def _flatten(element, prefix=''):
    """{'a': text, 'b.c': text} of an element's descendants (lists get [i])."""
    flat = {}
    counts = collections.Counter(_local(child.tag) for child in element)
    seen = collections.Counter()
    for child in element:
        name = _local(child.tag)
        if counts[name] > 1:
            name = '%s[%d]' % (name, seen[name])
            seen[_local(child.tag)] += 1
        key = prefix + name
        if len(child):
            flat.update(_flatten(child, key + '.'))
        else:
            flat[key] = (child.text or '').strip()
    return flat


def parse_hikvision(content_type, body, direction_map=None, received_utc=None,
                    local_offset=CST):
    """The PlateRead of a Hikvision ISAPI push.

    `content_type` is the request's Content-Type: multipart/form-data (the usual push, an
    `anpr.xml` part with <EventNotificationAlert> plus `licensePlatePicture.jpg` ->
    'plate' and `detectionPicture.jpg` -> 'front') or application/xml / text/xml (a bare
    alert, e.g. a heartbeat). The XML namespace may be hikvision.com, isapi.org or none.
    eventState 'inactive' (or eventType 'heartBeat') is a heartbeat read. Otherwise
    eventType must be ANPR and <ANPR> must have licensePlate (or originalLicensePlate);
    licensePlate is preferred, originalLicensePlate is kept in extra. dateTime without
    offset is taken as `local_offset` (Beijing time) and flagged in extra.
    isDataRetransmission 'true' marks an offline replay. Direction: see
    HIKVISION_DIRECTIONS. Raises PayloadError.
    """
    media, params = _header_params(content_type)
    body = bytes(body or b'')
    parts = []
    if media.startswith('multipart/'):
        boundary = params.get('boundary')
        if not boundary:
            raise PayloadError('payload.no_boundary',
                               'Hikvision 请求的 Content-Type 缺少 boundary 参数',
                               'the Hikvision request Content-Type has no boundary parameter',
                               protocol=_HIK, value=content_type)
        parts = _multipart(body, boundary.encode('latin-1'), _HIK)
        xml_part = None
        for part in parts:
            label = (part.name or part.filename).lower()
            if label.endswith('.xml') or 'xml' in part.content_type \
                    or part.content.lstrip().startswith(b'<'):
                xml_part = part
                break
        if xml_part is None or not xml_part.content.strip():
            raise PayloadError('payload.no_xml', 'Hikvision 数据中没有 anpr.xml 部分',
                               'the Hikvision body has no anpr.xml part', protocol=_HIK,
                               parts=[p.name for p in parts])
        xml_data = xml_part.content
    elif media in ('application/xml', 'text/xml'):
        xml_data = body
    else:
        raise PayloadError('payload.content_type',
                           'Hikvision 推送须为 multipart/form-data 或 XML（收到 %s）'
                           % _shown(content_type),
                           'a Hikvision push must be multipart/form-data or XML (got %s)'
                           % _shown(content_type), protocol=_HIK, value=content_type)

    root = parse_xml(xml_data, _HIK)
    if _local(root.tag) != 'EventNotificationAlert':
        raise _missing(_HIK, 'EventNotificationAlert')
    header = {name: _child_text(root, name) for name in _HIK_HEADER_FIELDS
              if _child(root, name) is not None}
    event_type = header.get('eventType', '')
    state = header.get('eventState', '').lower()
    offline = header.get('isDataRetransmission', '').lower() == 'true'
    mac, channel = header.get('macAddress', ''), header.get('channelID', '')
    device = mac or header.get('ipAddress', '')
    extra = {'alert': header, 'parts': [p.name or p.filename for p in parts]}

    if header.get('dateTime'):
        when, assumed = _iso(header['dateTime'], local_offset, _HIK, 'dateTime')
        if assumed:
            extra['time_offset_assumed'] = str(local_offset)
    else:
        _no_time(_HIK, 'dateTime', offline)
        when = _received(received_utc)
        extra['time_source'] = 'received'
    event_id = 'hik/%s/%s/%s/%s' % (device, channel, header.get('dateTime', ''),
                                    header.get('activePostCount', ''))

    if state == 'inactive' or event_type.lower() == 'heartbeat':
        return _read(camera_event_id=event_id, lane_hint='%s/%s' % (device, channel),
                     time_utc=when, is_heartbeat=True, is_offline=offline,
                     raw_kind=HIKVISION, extra=extra)
    if event_type.upper() != 'ANPR':
        raise PayloadError('payload.not_anpr',
                           'Hikvision 事件类型为 %s，不是车牌识别（ANPR）' % _shown(event_type),
                           'the Hikvision event type is %s, not ANPR' % _shown(event_type),
                           protocol=_HIK, value=event_type)
    anpr = _child(root, 'ANPR')
    if anpr is None:
        raise _missing(_HIK, 'EventNotificationAlert/ANPR')
    if _child(anpr, 'licensePlate') is None and _child(anpr, 'originalLicensePlate') is None:
        raise _missing(_HIK, 'ANPR/licensePlate')
    fields = _flatten(anpr)
    extra['ANPR'] = fields
    plate_text = _child_text(anpr, 'licensePlate') or _child_text(anpr, 'originalLicensePlate')
    plate_raw, plate_key = _plate(plate_text)

    pictures = {}
    other = []
    for part in parts:
        label = (part.name or part.filename).lower().rsplit('.', 1)[0]
        kind = _HIK_PICTURES.get(label)
        if kind and part.content:
            pictures[kind] = part.content
        elif part.content_type.startswith('image/'):
            other.append(part.name or part.filename)
    if other:
        extra['other_pictures'] = other

    mapping = HIKVISION_DIRECTIONS if direction_map is None else direction_map
    return _read(
        camera_event_id=event_id, lane_hint='%s/%s' % (device, channel),
        plate_raw=plate_raw, plate_key=plate_key,
        plate_color=_color_name(fields.get('plateColor')),
        confidence=_confidence(fields.get('confidenceLevel')),
        direction=mapping.get(fields.get('direction', '').lower()),
        time_utc=when, pictures=pictures, is_offline=offline, raw_kind=HIKVISION, extra=extra)


# ---------------------------------------------------------------------------------------
# Dahua snapManager attachFileProc stream
# ---------------------------------------------------------------------------------------

def dahua_subscribe_path(heartbeat=5, event_codes=('TrafficJunction',)):
    """The GET path that opens a Dahua event stream (answered with a never-ending
    multipart/x-mixed-replace; boundary=myboundary body); the camera sends a Heartbeat
    part every `heartbeat` seconds, which lets the box notice a dead link."""
    return ('/cgi-bin/snapManager.cgi?action=attachFileProc&Flags[0]=Event'
            '&Events=[%s]&heartbeat=%d' % (','.join(event_codes), int(heartbeat)))


_DAHUA_EVENT_KEY = re.compile(r'\A(?:Events|ReturnEvents)\[([0-9]+)\]\.(.+)\Z')


class DahuaStreamParser(object):
    """Incremental reader of a Dahua snapManager stream: feed(bytes) -> [PlateRead].

    The stream is a sequence of parts `--myboundary`, headers, blank line, body: a
    text/plain part of `Events[i].Key=Value` lines (or the word `Heartbeat`), then an
    image/jpeg part holding the snapshot of that event ('front' picture). An event read
    is returned when its picture arrives, or without picture when another text part
    comes first or on `flush()`. Bytes may be split anywhere; a part with Content-Length
    is cut by it, one without ends at the next delimiter; bytes outside parts are skipped
    (counted in `skipped_bytes`), unknown parts counted in `ignored_parts`.

    Time: Events[i].UTC (epoch seconds) + UTCMS; `utc_is_local=True` for firmware whose
    UTC field is Beijing wall-clock time in disguise; without UTC, LocalTime
    ('YYYY-MM-DD HH:MM:SS', taken as `local_offset`); without both, the time of `now()`.
    Direction from CommInfo.ParkType / ParkType (1 entry, 2 exit). `device_id` names
    the camera in camera_event_id and lane_hint (the stream itself does not carry it).
    """

    ANPR_CODES = frozenset(['TrafficJunction', 'TrafficGate'])
    MAX_HEADER = 8 * 1024
    MAX_PART = 16 * 1024 * 1024

    def __init__(self, boundary='myboundary', device_id='', local_offset=CST,
                 utc_is_local=False, now=None):
        if isinstance(boundary, str):
            boundary = boundary.encode('latin-1')
        self._delim = b'--' + boundary
        self._buf = bytearray()
        self._state = 'seek'
        self._headers = None
        self._scan = 0
        self._pending = []
        self.device_id = device_id
        self.local_offset = local_offset
        self.utc_is_local = utc_is_local
        self._now = now or datetime.datetime.utcnow
        self.skipped_bytes = 0
        self.ignored_parts = 0

    def feed(self, data):
        """Reads completed by `data` (bytes), in stream order."""
        self._buf += data
        out = []
        while self._step(out):
            pass
        return out

    def flush(self):
        """Reads still waiting for a picture (call when the stream ends)."""
        out, self._pending = self._pending, []
        return out

    # -- framing ------------------------------------------------------------------------
    def _step(self, out):
        buf = self._buf
        if self._state == 'seek':
            index = buf.find(self._delim)
            if index < 0:
                keep = len(self._delim) - 1
                if len(buf) > keep:
                    self._skip(len(buf) - keep)
                return False
            self._skip(index)
            del buf[:len(self._delim)]
            self._state = 'delim'
            return True
        if self._state == 'delim':
            if len(buf) < 2:
                return False
            if buf[:2] == b'--':            # closing delimiter: the camera ends the stream
                del buf[:2]
                self._state = 'seek'
                return True
            end = buf.find(b'\n')
            if end < 0:
                if len(buf) > self.MAX_HEADER:
                    self._state = 'seek'
                    return True
                return False
            del buf[:end + 1]
            self._state = 'headers'
            return True
        if self._state == 'headers':
            lines, pos = [], 0
            while True:
                end = buf.find(b'\n', pos)
                if end < 0:
                    if len(buf) > self.MAX_HEADER:
                        self._state = 'seek'            # no blank line: not a part
                        return True
                    return False
                line = bytes(buf[pos:end]).rstrip(b'\r')
                if line.startswith(self._delim):        # a part with no blank line
                    self._skip(pos)
                    self._state = 'seek'
                    return True
                pos = end + 1
                if not line:
                    break
                lines.append(line)
            del buf[:pos]
            self._headers = _parse_headers(b'\n'.join(lines))
            self._state = 'body'
            self._scan = 0
            return True
        # body
        length = self._headers.get('content-length', '').strip()
        length = int(length) if length.isdigit() and int(length) <= self.MAX_PART else None
        if length is not None:
            if len(buf) < length:
                return False
            content = bytes(buf[:length])
            early = content.find(b'\n' + self._delim)       # Content-Length was too long
            if early >= 0:
                content = content[:early].rstrip(b'\r')
                del buf[:early + 1]
            else:
                del buf[:length]
        else:
            early = buf.find(b'\n' + self._delim, self._scan)
            if early < 0:
                self._scan = max(0, len(buf) - len(self._delim))
                if len(buf) > self.MAX_PART:
                    self._skip(len(buf))
                    self._state = 'seek'
                    return True
                return False
            content = bytes(buf[:early])
            if content.endswith(b'\r'):
                content = content[:-1]
            del buf[:early + 1]
        self._state = 'seek'
        self._part(_header_params(self._headers.get('content-type'))[0], content, out)
        return True

    def _skip(self, count):
        if count <= 0:
            return
        # CR/LF between a body and the next delimiter is framing, not garbage.
        self.skipped_bytes += len(bytes(self._buf[:count]).strip(b'\r\n'))
        del self._buf[:count]

    # -- content ------------------------------------------------------------------------
    def _part(self, ctype, content, out):
        if ctype.startswith('image/'):
            if self._pending:
                for read in self._pending:
                    pictures = dict(read.pictures)
                    pictures['front'] = content
                    out.append(read._replace(pictures=pictures))
                self._pending = []
            else:
                self.ignored_parts += 1
            return
        out.extend(self.flush())
        if ctype and not ctype.startswith('text/'):
            self.ignored_parts += 1
            return
        try:
            text = content.decode('utf-8')
        except UnicodeDecodeError:
            text = content.decode('gb18030', 'replace')
        if text.strip().lower() == 'heartbeat':
            out.append(self._heartbeat())
            return
        grouped = collections.OrderedDict()
        for line in text.splitlines():
            if '=' not in line:
                continue
            key, value = line.split('=', 1)
            match = _DAHUA_EVENT_KEY.match(key.strip())
            if match:
                grouped.setdefault(int(match.group(1)), {})[match.group(2)] = value.strip()
        reads = [self._event(fields) for _index, fields in sorted(grouped.items())
                 if (fields.get('Code') or fields.get('EventBaseInfo.Code')) in self.ANPR_CODES]
        if reads:
            self._pending.extend(reads)
        else:
            self.ignored_parts += 1

    def _heartbeat(self):
        when = self._now()
        return _read(camera_event_id='dahua-heartbeat/%s/%s' % (self.device_id, when.isoformat()),
                     lane_hint='%s/' % self.device_id, time_utc=when, is_heartbeat=True,
                     raw_kind=DAHUA, extra={})

    def _event(self, fields):
        extra = {'fields': fields}
        utc = fields.get('UTC') or fields.get('EventBaseInfo.UTC') or ''
        utcms = fields.get('UTCMS', '')
        millis = int(utcms) % 1000 if utcms.isdigit() else 0
        when = None
        if re.match(r'\A[0-9]+(?:\.[0-9]+)?\Z', utc):
            try:
                when = _epoch(int(float(utc)), millis * 1000, 'Dahua', 'UTC')
                if self.utc_is_local:
                    when -= self.local_offset.utcoffset(None)
            except PayloadError:
                when = None
        if when is None and fields.get('LocalTime'):
            try:
                when, _assumed = _iso(fields['LocalTime'], self.local_offset, 'Dahua',
                                      'LocalTime')
            except PayloadError:
                when = None
        if when is None:
            when = self._now()
            extra['time_source'] = 'received'

        plate_text = fields.get('TrafficCar.PlateNumber')
        if plate_text is None and fields.get('Object.ObjectType') == 'Plate':
            plate_text = fields.get('Object.Text')
        plate_raw, plate_key = _plate(plate_text)
        park = fields.get('CommInfo.ParkType', fields.get('TrafficCar.ParkType',
                                                           fields.get('ParkType')))
        lane = fields.get('Lane', fields.get('TrafficCar.Lane', ''))
        record = (fields.get('TrafficCar.RecNo') or fields.get('EventID')
                  or fields.get('GroupID') or '')
        return _read(
            camera_event_id='dahua/%s/%s/%s.%03d' % (self.device_id, record, utc, millis),
            lane_hint='%s/%s' % (self.device_id, lane),
            plate_raw=plate_raw, plate_key=plate_key,
            plate_color=_color_name(fields.get('TrafficCar.PlateColor')
                                    or fields.get('Object.PlateColor')),
            confidence=_confidence(fields.get('TrafficCar.Confidence')
                                   or fields.get('Object.Confidence')),
            direction=DAHUA_PARK_TYPES.get((park or '').strip()),
            time_utc=when, pictures={}, raw_kind=DAHUA, extra=extra)


# ---------------------------------------------------------------------------------------
# To the ERP contract
# ---------------------------------------------------------------------------------------

def event_id_for(read, prefix=''):
    """A contract event_id (<= 64 characters) derived from the camera's own record id,
    so a resent or replayed read is acknowledged by the ERP as a duplicate."""
    digest = hashlib.sha256(read.camera_event_id.encode('utf-8')).hexdigest()[:40]
    return (prefix + digest)[-64:]


def to_event(read, lane_code, event_id, decision=None, reason=None):
    """The event dict (ERP contract, hj1321/events.py) of a PlateRead.

    type 'plate' ('heartbeat' for a heartbeat read); time in ISO 8601 with +00:00;
    `unreadable` true when the camera read no plate (or sent more than the contract's 16
    characters: the text is then kept in extra); pictures base64 (only JPEG/PNG, others
    listed in extra['dropped_pictures']); the camera's fields in extra['camera'].
    """
    when = read.time_utc.replace(tzinfo=datetime.timezone.utc).isoformat()
    event = {'event_id': event_id, 'type': 'heartbeat' if read.is_heartbeat else 'plate',
             'lane': lane_code, 'time': when}
    extra = {'source': read.raw_kind, 'camera_event_id': read.camera_event_id,
             'lane_hint': read.lane_hint, 'offline': bool(read.is_offline),
             'camera': read.extra}
    if not read.is_heartbeat:
        readable = bool(read.plate_key) and len(read.plate_raw) <= _MAX_PLATE
        if readable:
            event['plate'] = read.plate_raw
        elif read.plate_raw:
            extra['plate_raw'] = read.plate_raw
        event['unreadable'] = not readable
        if read.plate_color is not None:
            event['plate_color'] = read.plate_color
        if read.confidence is not None:
            event['confidence'] = read.confidence
        if read.direction in events.DIRECTIONS:
            event['direction'] = read.direction
    if decision is not None:
        event['decision'] = decision
    if reason is not None:
        event['reason'] = reason[:_MAX_REASON]
    pictures, dropped = {}, []
    for kind, data in sorted((read.pictures or {}).items()):
        if kind in events.PICTURE_KINDS and data and bytes(data).startswith(_PICTURE_MAGIC):
            pictures[kind] = base64.b64encode(bytes(data)).decode('ascii')
        else:
            dropped.append(kind)
    if pictures:
        event['pictures'] = pictures
    if dropped:
        extra['dropped_pictures'] = dropped
    event['extra'] = extra
    return event
