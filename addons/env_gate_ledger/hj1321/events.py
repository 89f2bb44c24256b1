"""The ingestion contract: POST /env_gate/api/v1/events with {"events": [...]}.

schemas/events_request.schema.json is the published contract; parse_event applies the same
rules by hand because it runs for every event on the hot path (a unit test keeps the two
in agreement) and because its errors must name the field in both languages.
"""
import base64
import binascii
import collections
import datetime
import hashlib
import json
import re

from . import codes, plates
from .errors import Hj1321Error

MAX_EVENTS = 500
TYPES = ('plate', 'weight', 'qr', 'manual_lift', 'heartbeat')
DECISIONS = ('pass', 'refuse', 'manual', 'unrecognised')
DIRECTIONS = {'in': '1', 'out': '2'}
PICTURE_KINDS = ('front', 'body', 'plate', 'list', 'license', 'nameplate')
_TIME = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})$')

ParsedEvent = collections.namedtuple('ParsedEvent', [
    'event_id', 'type', 'lane', 'time_utc', 'time_raw', 'plate_raw', 'plate_key', 'plate_kind',
    'plate_color', 'confidence', 'direction', 'decision', 'reason', 'pictures', 'extra'])


def _error(code, field, zh, en):
    return Hj1321Error(code, '字段 %s：%s' % (field, zh), 'field %s: %s' % (field, en), field=field)


def parse_time(value, field='time'):
    """ISO 8601 with an offset -> naive UTC datetime. A time without offset is refused:
    a camera on local time and a box on UTC would otherwise shift passages by 8 hours."""
    match = _TIME.match(value) if isinstance(value, str) else None
    if not match:
        raise _error('event.bad_time', field,
                     '时间 %r 须为带时区的 ISO 8601 格式，如 2026-11-28T08:15:30+08:00' % (value,),
                     'time %r must be ISO 8601 with an offset, e.g. 2026-11-28T08:15:30+08:00'
                     % (value,))
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        when = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute),
                                 int(second), int((fraction or '.0')[1:].ljust(6, '0')))
    except ValueError:
        raise _error('event.bad_time', field, '时间 %r 不存在' % value, 'time %r does not exist' % value)
    if zone != 'Z':
        sign = -1 if zone[0] == '-' else 1
        digits = zone[1:].replace(':', '')
        when -= sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return when


def _picture(kind, value):
    if not isinstance(value, str):
        raise _error('event.bad_picture', 'pictures.%s' % kind, '图片须为 base64 字符串',
                     'a picture must be a base64 string')
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _error('event.bad_picture', 'pictures.%s' % kind, '图片不是有效的 base64',
                     'the picture is not valid base64')
    if not (data.startswith(b'\xff\xd8\xff') or data.startswith(b'\x89PNG\r\n\x1a\n')):
        raise _error('event.bad_picture', 'pictures.%s' % kind, '图片须为 JPEG 或 PNG',
                     'the picture must be a JPEG or PNG')
    return data


def _string(obj, field, max_len, required=True):
    value = obj.get(field)
    if value is None:
        if required:
            raise _error('event.missing_field', field, '缺少必填字段', 'is required')
        return None
    if not isinstance(value, str) or not (1 <= len(value) <= max_len):
        raise _error('event.bad_field', field, '须为1到%d个字符的字符串' % max_len,
                     'must be a string of 1 to %d characters' % max_len)
    return value


def parse_event(obj):
    """Validate one raw event and return a ParsedEvent; raise Hj1321Error naming the field."""
    if not isinstance(obj, dict):
        raise Hj1321Error('event.not_object', '事件须为 JSON 对象', 'an event must be a JSON object')
    event_id = _string(obj, 'event_id', 64)
    kind = obj.get('type')
    if kind not in TYPES:
        raise _error('event.bad_type', 'type', '类型须为 %s 之一' % '/'.join(TYPES),
                     'must be one of %s' % ', '.join(TYPES))
    lane = _string(obj, 'lane', 32)
    if 'time' not in obj:
        raise _error('event.missing_field', 'time', '缺少必填字段', 'is required')
    time_utc = parse_time(obj['time'])
    unreadable = obj.get('unreadable', False)
    if not isinstance(unreadable, bool):
        raise _error('event.bad_field', 'unreadable', '须为 true 或 false', 'must be true or false')
    plate_raw = obj.get('plate')
    if plate_raw is not None and (not isinstance(plate_raw, str) or len(plate_raw) > 16):
        raise _error('event.bad_field', 'plate', '须为不超过16个字符的字符串',
                     'must be a string of at most 16 characters')
    plate_key, plate_kind = '', None
    if plate_raw and plate_raw.strip():
        plate_key = plates.normalize_plate(plate_raw)
        plate_kind = plates.classify_plate(plate_key)
    elif kind == 'plate' and not unreadable:
        raise _error('event.missing_field', 'plate', '车牌识别事件须有车牌号，无法识别时设 unreadable=true',
                     'a plate event needs a plate, or unreadable=true')
    color = obj.get('plate_color')
    if color is not None and not codes.is_valid('plate_color', color):
        raise _error('event.bad_color', 'plate_color', '号牌颜色代码 %r 无效' % (color,),
                     'plate colour code %r is not in the HJ 1321 table' % (color,))
    confidence = obj.get('confidence')
    if confidence is not None:
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) \
                or not 0 <= confidence <= 100:
            raise _error('event.bad_confidence', 'confidence', '置信度须为0到100的数字',
                         'must be a number from 0 to 100')
        confidence = float(confidence)
    direction = obj.get('direction')
    if direction is not None:
        if direction not in DIRECTIONS:
            raise _error('event.bad_field', 'direction', '须为 in 或 out', 'must be "in" or "out"')
        direction = DIRECTIONS[direction]
    decision = obj.get('decision')
    if decision is not None and decision not in DECISIONS:
        raise _error('event.bad_field', 'decision', '须为 %s 之一' % '/'.join(DECISIONS),
                     'must be one of %s' % ', '.join(DECISIONS))
    reason = obj.get('reason')
    if reason is not None and (not isinstance(reason, str) or len(reason) > 200):
        raise _error('event.bad_field', 'reason', '须为不超过200个字符的字符串',
                     'must be a string of at most 200 characters')
    pictures = obj.get('pictures') or {}
    if not isinstance(pictures, dict):
        raise _error('event.bad_picture', 'pictures', '须为对象 {种类: base64}',
                     'must be an object {kind: base64}')
    decoded = {}
    for pkind, value in pictures.items():
        if pkind not in PICTURE_KINDS:
            raise _error('event.bad_picture', 'pictures', '未知的图片种类 %r' % pkind,
                         'unknown picture kind %r (known: %s)' % (pkind, ', '.join(PICTURE_KINDS)))
        decoded[pkind] = _picture(pkind, value)
    extra = obj.get('extra')
    if extra is not None and not isinstance(extra, dict):
        raise _error('event.bad_field', 'extra', '须为对象', 'must be an object')
    return ParsedEvent(event_id, kind, lane, time_utc, obj['time'], plate_raw or '', plate_key,
                       plate_kind, color, confidence, direction, decision, reason, decoded,
                       extra or {})


def parse_request(body):
    """The list of raw events in a request body; raises Hj1321Error for the envelope."""
    try:
        data = json.loads(body.decode('utf-8') if isinstance(body, bytes) else body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Hj1321Error('request.bad_json', '请求体不是有效的 UTF-8 JSON：%s' % exc,
                          'the body is not valid UTF-8 JSON: %s' % exc)
    events = data.get('events') if isinstance(data, dict) else None
    if not isinstance(events, list) or not events:
        raise Hj1321Error('request.no_events', '请求体须为 {"events": [...]}，且至少含一个事件',
                          'the body must be {"events": [...]} with at least one event')
    if len(events) > MAX_EVENTS:
        raise Hj1321Error('request.too_many', '一次最多提交 %d 个事件' % MAX_EVENTS,
                          'at most %d events per request' % MAX_EVENTS)
    return events


def strip_pictures(event, decoded):
    """A copy of the raw event with each picture's base64 replaced by its SHA-256 and size;
    `decoded` is ParsedEvent.pictures. The bytes themselves are stored as attachments."""
    if not decoded:
        return event
    copy = dict(event)
    copy['pictures'] = {kind: {'sha256': hashlib.sha256(data).hexdigest(), 'bytes': len(data)}
                        for kind, data in decoded.items()}
    return copy
