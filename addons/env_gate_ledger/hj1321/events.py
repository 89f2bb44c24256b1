"""The ingestion contract: POST /env_gate/api/v1/events with {"events": [...]}.

schemas/events_request.schema.json (with schemas/event.schema.json) is the published
contract for gate boxes. `parse_event` applies the same rules by hand because it runs for
every event on the hot path (jsonschema is far slower) and because its errors must name
the field in both languages; a unit test keeps the two in agreement on sample events.

Optional fields may be null, which means absent. Unknown properties are allowed and kept
in the raw payload.
"""
import base64
import binascii
import collections
import datetime
import hashlib
import json
import os
import re

from . import codes, plates
from .errors import Hj1321Error

MAX_EVENTS = 500
TYPES = ('plate', 'weight', 'qr', 'manual_lift', 'heartbeat')
DECISIONS = ('pass', 'refuse', 'manual', 'unrecognised')
DIRECTIONS = {'in': '1', 'out': '2'}
# front 车头, body 车身, plate 车牌 (passage pictures); list 随车清单, license 行驶证,
# nameplate 铭牌 (registration pictures a gate box may capture).
PICTURE_KINDS = ('front', 'body', 'plate', 'list', 'license', 'nameplate')

# The same patterns are in schemas/event.schema.json (a test checks they are equal).
# Dates are checked for existence (month lengths, leap years) and limited to 1900-2199 so
# that every accepted time converts to UTC; the offset is required.
_YEAR = '(?:19|20|21)[0-9]{2}'
_LEAP_YEAR = '(?:19|20|21)(?:0[48]|[2468][048]|[13579][26])|2000'
TIME_PATTERN = (
    '^(?:' + _YEAR + '-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])'
    '|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))'
    '|(?:' + _LEAP_YEAR + ')-02-29)'
    '[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:[.][0-9]{1,9})?'
    '(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])$(?!\\n)')
# Base64 (standard alphabet, padded, no line breaks) of a JPEG (FF D8 FF) or PNG file.
# '$(?!\n)' is a plain end of text in both ECMA-262 and Python (whose '$' alone would also
# match before a final newline).
PICTURE_PATTERN = ('^(?=/9j/|iVBORw0KGgo)(?:[A-Za-z0-9+/]{4})*'
                   '(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$(?!\\n)')

_TIME = re.compile(
    r'\A([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.]([0-9]{1,9}))?'
    r'(Z|([+-])([0-9]{2}):?([0-9]{2}))\Z')
_TIME_CONTRACT = re.compile(TIME_PATTERN)
_BASE64 = re.compile(r'[A-Za-z0-9+/]*={0,2}\Z')
_PICTURE_PREFIXES = ('/9j/', 'iVBORw0KGgo')
_MAGIC = (b'\xff\xd8\xff', b'\x89PNG\r\n\x1a\n')
_SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'schemas')
_SCHEMAS = {}

ParsedEvent = collections.namedtuple('ParsedEvent', [
    'event_id', 'type', 'lane', 'time_utc', 'time_raw', 'plate_raw', 'plate_key', 'plate_kind',
    'plate_color', 'confidence', 'direction', 'decision', 'reason', 'pictures', 'extra',
    'unreadable'])
ParsedEvent.__doc__ = """One validated event.

time_utc is a naive UTC datetime; plate_key is '' when the plate was unreadable or not
sent; plate_kind is None for a plate that fits no known shape (kept, flagged later);
direction is the HJ code '1' in / '2' out or None; pictures maps kind -> decoded bytes."""


def _error(code, field, zh, en, **params):
    return Hj1321Error(code, '字段 %s：%s' % (field, zh), 'field %s: %s' % (field, en),
                       field=field, **params)


def _shown(value, limit=40):
    """repr() of a received value for a message, cut short: replies must stay small."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def _missing(field):
    return _error('event.missing_field', field, '缺少必填字段', 'is required but missing')


def parse_time(value, field='time'):
    """ISO 8601 date-time with an offset -> naive UTC datetime.

    A time without offset is refused: a camera on local time and a box on UTC would
    otherwise shift passages by 8 hours without anyone noticing. Fractions beyond
    microseconds are truncated.
    """
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None or not _TIME_CONTRACT.match(value):
        raise _error('event.bad_time', field,
                     '时间 %s 须为带时区的 ISO 8601 格式（1900-2199年的真实日期），'
                     '如 2026-11-28T08:15:30+08:00 或 2026-11-28T00:15:30Z' % _shown(value),
                     'time %s must be an ISO 8601 date-time with an offset (a real date in '
                     '1900-2199), e.g. 2026-11-28T08:15:30+08:00 or 2026-11-28T00:15:30Z'
                     % _shown(value), value=value)
    (year, month, day, hour, minute, second, fraction, zone,
     sign, zone_hours, zone_minutes) = match.groups()
    when = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute),
                             int(second), int((fraction or '0')[:6].ljust(6, '0')))
    if zone != 'Z':
        offset = datetime.timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
        when = when - offset if sign == '+' else when + offset
    return when


def _string(obj, field, max_len, required=False, min_len=1):
    value = obj.get(field)
    if value is None:
        if required:
            raise _missing(field)
        return None
    if not isinstance(value, str) or not min_len <= len(value) <= max_len:
        if isinstance(value, str):
            got_zh, got_en = '收到 %d 个字符' % len(value), 'got %d' % len(value)
        else:
            got_zh = got_en = type(value).__name__
        raise _error('event.bad_field', field,
                     '须为 %d 到 %d 个字符的字符串（%s）' % (min_len, max_len, got_zh),
                     'must be a string of %d to %d characters (%s)' % (min_len, max_len, got_en),
                     value=value)
    return value


def _picture(kind, value):
    field = 'pictures.%s' % kind
    if not isinstance(value, str):
        raise _error('event.bad_picture', field, '图片须为 base64 字符串（收到 %s）'
                     % type(value).__name__, 'a picture must be a base64 string (got %s)'
                     % type(value).__name__)
    if len(value) % 4 or not _BASE64.match(value):
        raise _error('event.bad_picture', field,
                     '图片不是有效的 base64（标准字母表、带填充、不换行）',
                     'the picture is not valid base64 (standard alphabet, padded, no line '
                     'breaks)')
    if not value.startswith(_PICTURE_PREFIXES):
        raise _error('event.bad_picture', field, '图片须为 JPEG 或 PNG 文件',
                     'the picture must be a JPEG or PNG file')
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):        # not reachable after the checks above
        raise _error('event.bad_picture', field, '图片不是有效的 base64',
                     'the picture is not valid base64')
    if not data.startswith(_MAGIC):
        raise _error('event.bad_picture', field, '图片须为 JPEG 或 PNG 文件',
                     'the picture must be a JPEG or PNG file')
    return data


def _pictures(value):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _error('event.bad_picture', 'pictures', '须为对象 {种类: base64}',
                     'must be an object {kind: base64}')
    decoded = {}
    for kind, data in value.items():
        if kind not in PICTURE_KINDS:
            raise _error('event.bad_picture', 'pictures',
                         '未知的图片种类 %s（可用：%s）' % (_shown(kind), '、'.join(PICTURE_KINDS)),
                         'unknown picture kind %s (known: %s)'
                         % (_shown(kind), ', '.join(PICTURE_KINDS)),
                         value=kind)
        decoded[kind] = _picture(kind, data)
    return decoded


def parse_event(obj):
    """Validate one raw event (a dict from the request) and return a ParsedEvent.

    Raises Hj1321Error naming the field: event.not_object, event.missing_field,
    event.bad_field, event.bad_type, event.bad_time, event.bad_color,
    event.bad_confidence, event.bad_picture.
    """
    if not isinstance(obj, dict):
        raise Hj1321Error('event.not_object', '事件须为 JSON 对象（收到 %s）' % type(obj).__name__,
                          'an event must be a JSON object (got %s)' % type(obj).__name__)
    event_id = _string(obj, 'event_id', 64, required=True)
    kind = obj.get('type')
    if kind is None:
        raise _missing('type')
    if kind not in TYPES:
        raise _error('event.bad_type', 'type',
                     '事件类型 %s 无效，须为 %s 之一' % (_shown(kind), '、'.join(TYPES)),
                     'event type %s is not one of %s' % (_shown(kind), ', '.join(TYPES)),
                     value=kind)
    lane = _string(obj, 'lane', 32, required=True)
    time_raw = obj.get('time')
    if time_raw is None:
        raise _missing('time')
    time_utc = parse_time(time_raw)

    unreadable = obj.get('unreadable')
    if unreadable is None:
        unreadable = False
    elif not isinstance(unreadable, bool):
        raise _error('event.bad_field', 'unreadable', '须为 true 或 false',
                     'must be true or false', value=unreadable)
    plate_raw = _string(obj, 'plate', 16, min_len=0)
    plate_key, plate_kind = '', None
    if not unreadable:
        if plate_raw is None:
            if kind == 'plate':
                raise _error('event.missing_field', 'plate',
                             '车牌识别事件须有车牌号；无法识别时发送 "unreadable": true',
                             'a plate event needs a plate; send "unreadable": true when the '
                             'plate could not be read')
        else:
            try:
                plate_key = plates.normalize_plate(plate_raw)
            except Hj1321Error:
                raise _error('event.missing_field', 'plate',
                             '车牌号 %s 为空；无法识别时发送 "unreadable": true' % _shown(plate_raw),
                             'the plate %s is empty; send "unreadable": true when the plate '
                             'could not be read' % _shown(plate_raw), value=plate_raw)
            plate_kind = plates.classify_plate(plate_key)

    color = obj.get('plate_color')
    if color is not None and not codes.is_valid('plate_color', color):
        raise _error('event.bad_color', 'plate_color',
                     '号牌颜色代码 %s 无效（可用：%s）'
                     % (_shown(color), '、'.join(c.code for c in codes.table('plate_color'))),
                     'plate colour code %s is not in the HJ 1321 table (allowed: %s)'
                     % (_shown(color), ', '.join(c.code for c in codes.table('plate_color'))),
                     value=color)
    confidence = obj.get('confidence')
    if confidence is not None:
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) \
                or not 0 <= confidence <= 100:
            raise _error('event.bad_confidence', 'confidence',
                         '置信度须为 0 到 100 的数字（收到 %s）' % _shown(confidence),
                         'must be a number from 0 to 100 (got %s)' % _shown(confidence),
                         value=confidence)
        confidence = float(confidence)
    direction = obj.get('direction')
    if direction is not None:
        if not isinstance(direction, str) or direction not in DIRECTIONS:
            raise _error('event.bad_field', 'direction',
                         '须为 "in" 或 "out"（收到 %s）' % _shown(direction),
                         'must be "in" or "out" (got %s)' % _shown(direction), value=direction)
        direction = DIRECTIONS[direction]
    decision = obj.get('decision')
    if decision is not None and (not isinstance(decision, str) or decision not in DECISIONS):
        raise _error('event.bad_field', 'decision',
                     '须为 %s 之一（收到 %s）' % ('、'.join(DECISIONS), _shown(decision)),
                     'must be one of %s (got %s)' % (', '.join(DECISIONS), _shown(decision)),
                     value=decision)
    reason = _string(obj, 'reason', 200, min_len=0)
    pictures = _pictures(obj.get('pictures'))
    extra = obj.get('extra')
    if extra is not None and not isinstance(extra, dict):
        raise _error('event.bad_field', 'extra', '须为对象', 'must be an object', value=extra)
    return ParsedEvent(event_id, kind, lane, time_utc, time_raw, plate_raw or '', plate_key,
                       plate_kind, color, confidence, direction, decision, reason, pictures,
                       extra or {}, unreadable)


def _no_constants(name):
    raise ValueError('%s is not valid JSON' % name)


def parse_request(body):
    """The list of raw events in a request body (bytes or str).

    Raises Hj1321Error 'request.bad_json', 'request.no_events' or 'request.too_many' for
    the envelope; the events themselves are checked one by one with parse_event, so one
    bad event does not refuse the batch.
    """
    try:
        text = body.decode('utf-8-sig') if isinstance(body, (bytes, bytearray)) else body
        data = json.loads(text, parse_constant=_no_constants)
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as exc:
        raise Hj1321Error('request.bad_json', '请求体不是有效的 UTF-8 JSON：%s' % exc,
                          'the request body is not valid UTF-8 JSON: %s' % exc)
    events = data.get('events') if isinstance(data, dict) else None
    if not isinstance(events, list) or not events:
        raise Hj1321Error('request.no_events', '请求体须为 {"events": [...]}，且至少含一个事件',
                          'the body must be {"events": [...]} with at least one event')
    if len(events) > MAX_EVENTS:
        raise Hj1321Error('request.too_many',
                          '一次最多提交 %d 个事件，收到 %d 个' % (MAX_EVENTS, len(events)),
                          'at most %d events per request, got %d' % (MAX_EVENTS, len(events)),
                          count=len(events))
    return events


def picture_ref(data):
    """{'sha256': hex, 'bytes': size} of picture bytes: what the raw payload keeps."""
    return {'sha256': hashlib.sha256(data).hexdigest(), 'bytes': len(data)}


def strip_pictures(event, digests):
    """A copy of the raw event with each picture's base64 replaced by
    {"sha256": <hex>, "bytes": <len>}; the bytes themselves are stored as attachments.

    `digests` maps picture kind to either the decoded bytes (ParsedEvent.pictures) or an
    already computed {"sha256", "bytes"} dict. The input event is not modified.
    """
    copy = dict(event)
    raw = event.get('pictures')
    if not isinstance(raw, dict) or not raw:
        return copy
    refs = {}
    for kind, value in raw.items():
        known = (digests or {}).get(kind)
        if isinstance(known, (bytes, bytearray)):
            refs[kind] = picture_ref(bytes(known))
        elif isinstance(known, dict):
            refs[kind] = {'sha256': known['sha256'], 'bytes': known['bytes']}
        else:   # not decoded by the caller: decode here rather than keep the base64
            try:
                refs[kind] = picture_ref(base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError, TypeError):
                refs[kind] = {'sha256': None, 'bytes': None}
    copy['pictures'] = refs
    return copy


def load_schema(name='event'):
    """The published JSON Schema `name` ('event' or 'events_request') as a dict."""
    schema = _SCHEMAS.get(name)
    if schema is None:
        path = os.path.join(_SCHEMA_DIR, '%s.schema.json' % name)
        with open(path, encoding='utf-8') as handle:
            schema = _SCHEMAS[name] = json.load(handle)
    return schema


WEIGHT_UNITS = {'t': 1.0, 'kg': 0.001}


def parse_weight(obj):
    """The weight of a `weight` event in tonnes; raises Hj1321Error naming the field.

    A weight event carries `weight` (number >= 0), `unit` ('t' default, or 'kg') and the
    plate of the vehicle the box saw on the lane (`plate`).
    """
    weight, unit = obj.get('weight'), obj.get('unit') or 't'
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
        raise _error('event.bad_weight', 'weight', '重量须为不小于0的数字',
                     'must be a number of at least 0')
    if unit not in WEIGHT_UNITS:
        raise _error('event.bad_weight', 'unit', '单位须为 t 或 kg', 'must be "t" or "kg"')
    return round(weight * WEIGHT_UNITS[unit], 3)
