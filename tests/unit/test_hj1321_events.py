import base64
import datetime
import hashlib
import json

import pytest

from hj1321 import events
from hj1321.errors import Hj1321Error

JPEG = b'\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9'
PNG = b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02'
GIF = b'GIF89a\x01\x00\x01\x00\x00\x00\x00;'


def b64(data):
    return base64.b64encode(data).decode('ascii')


def event(**changes):
    data = {'event_id': 'e-1', 'type': 'plate', 'lane': 'IN-1',
            'time': '2026-11-28T08:15:30+08:00', 'plate': '冀B12345', 'plate_color': '1',
            'confidence': 97, 'direction': 'in'}
    for key, value in changes.items():
        if value is KeyError:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def rejected(obj):
    with pytest.raises(Hj1321Error) as info:
        events.parse_event(obj)
    return info.value


def test_a_full_plate_event():
    parsed = events.parse_event(event(
        decision='manual', reason='门卫核对后抬杆', extra={'serialno': 'abc'},
        pictures={'front': b64(JPEG), 'plate': b64(PNG)}))
    assert parsed.event_id == 'e-1'
    assert parsed.type == 'plate'
    assert parsed.lane == 'IN-1'
    assert parsed.time_utc == datetime.datetime(2026, 11, 28, 0, 15, 30)
    assert parsed.time_utc.tzinfo is None
    assert parsed.time_raw == '2026-11-28T08:15:30+08:00'
    assert parsed.plate_raw == '冀B12345'
    assert parsed.plate_key == '冀B12345'
    assert parsed.plate_kind == 'ordinary'
    assert parsed.plate_color == '1'
    assert parsed.confidence == 97.0 and isinstance(parsed.confidence, float)
    assert parsed.direction == '1'
    assert parsed.decision == 'manual'
    assert parsed.reason == '门卫核对后抬杆'
    assert parsed.pictures == {'front': JPEG, 'plate': PNG}
    assert parsed.extra == {'serialno': 'abc'}
    assert parsed.unreadable is False


def test_a_minimal_event_and_its_defaults():
    parsed = events.parse_event({'event_id': 'h', 'type': 'heartbeat', 'lane': 'L',
                                 'time': '2026-11-28T00:00:00Z'})
    assert parsed.plate_raw == '' and parsed.plate_key == '' and parsed.plate_kind is None
    assert parsed.plate_color is None and parsed.confidence is None
    assert parsed.direction is None and parsed.decision is None and parsed.reason is None
    assert parsed.pictures == {} and parsed.extra == {}


def test_null_optional_fields_mean_absent():
    parsed = events.parse_event(event(plate_color=None, confidence=None, direction=None,
                                      decision=None, reason=None, pictures=None, extra=None,
                                      unreadable=None))
    assert parsed.plate_color is None and parsed.confidence is None
    assert parsed.pictures == {} and parsed.extra == {} and parsed.unreadable is False


def test_unknown_properties_are_allowed():
    assert events.parse_event(event(camera={'ip': '10.0.0.9'}, firmware='v2')).event_id == 'e-1'


@pytest.mark.parametrize('raw, utc', [
    ('2026-11-28T08:15:30+08:00', datetime.datetime(2026, 11, 28, 0, 15, 30)),
    ('2026-11-28T08:15:30+0800', datetime.datetime(2026, 11, 28, 0, 15, 30)),
    ('2026-11-28 08:15:30+08:00', datetime.datetime(2026, 11, 28, 0, 15, 30)),
    ('2026-11-28T00:15:30Z', datetime.datetime(2026, 11, 28, 0, 15, 30)),
    ('2026-11-28T00:15:30+00:00', datetime.datetime(2026, 11, 28, 0, 15, 30)),
    ('2026-11-27T19:15:30-05:00', datetime.datetime(2026, 11, 28, 0, 15, 30)),
    ('2026-11-28T05:45:30+05:30', datetime.datetime(2026, 11, 28, 0, 15, 30)),
    ('2026-01-01T02:00:00+08:00', datetime.datetime(2025, 12, 31, 18, 0)),     # day and year roll back
    ('2024-02-29T12:00:00.5+08:00', datetime.datetime(2024, 2, 29, 4, 0, 0, 500000)),
    ('2026-11-28T08:15:30.123456789+08:00', datetime.datetime(2026, 11, 28, 0, 15, 30, 123456)),
    ('2000-02-29T00:00:00Z', datetime.datetime(2000, 2, 29)),
])
def test_times_are_converted_to_naive_utc(raw, utc):
    assert events.parse_event(event(time=raw)).time_utc == utc
    assert events.parse_time(raw) == utc


def test_python_isoformat_is_accepted():
    cst = datetime.timezone(datetime.timedelta(hours=8))
    when = datetime.datetime(2026, 1, 5, 8, 0, 0, 250000, tzinfo=cst)
    assert events.parse_time(when.isoformat()) == datetime.datetime(2026, 1, 5, 0, 0, 0, 250000)


@pytest.mark.parametrize('raw', [
    '2026-11-28T08:15:30',            # no offset
    '2026-11-28',                     # no time
    '2026-11-28T08:15+08:00',         # no seconds
    '2026-02-30T08:00:00+08:00',      # no such day
    '2026-02-29T08:00:00+08:00',      # not a leap year
    '2100-02-29T08:00:00+08:00',      # not a leap year either
    '2026-13-01T08:00:00+08:00',
    '2026-11-31T08:00:00+08:00',
    '2026-11-28T24:00:00+08:00',
    '2026-11-28T08:60:00+08:00',
    '2026-11-28T08:15:60+08:00',      # leap second
    '2026-11-28T08:15:30+24:00',
    '2026-11-28T08:15:30+08:60',
    '2026-11-28T08:15:30z',
    '2026-11-28T08:15:30+08:00\n',
    '0001-01-01T00:00:00+08:00',      # outside 1900-2199
    '2026-11-28t08:15:30+08:00',
    '２０２６-11-28T08:15:30+08:00',   # full-width digits
    '٢٠٢٦-11-28T08:15:30+08:00',       # Arabic-Indic digits
    'yesterday', '', 1764288930, None,
])
def test_bad_times(raw):
    if raw is None:
        assert rejected(event(time=raw)).code == 'event.missing_field'
        return
    exc = rejected(event(time=raw))
    assert exc.code == 'event.bad_time'
    assert 'time' in exc.message_en and 'time' in exc.message_zh
    assert '+08:00' in exc.message_en


@pytest.mark.parametrize('field', ['event_id', 'type', 'lane', 'time'])
def test_required_fields(field):
    exc = rejected(event(**{field: KeyError}))
    assert exc.code == 'event.missing_field'
    assert field in exc.message_en and field in exc.message_zh
    assert exc.params['field'] == field
    assert rejected(event(**{field: None})).code == 'event.missing_field'


@pytest.mark.parametrize('changes, code, field', [
    (dict(event_id=''), 'event.bad_field', 'event_id'),
    (dict(event_id='x' * 65), 'event.bad_field', 'event_id'),
    (dict(event_id=12), 'event.bad_field', 'event_id'),
    (dict(lane=''), 'event.bad_field', 'lane'),
    (dict(lane='L' * 33), 'event.bad_field', 'lane'),
    (dict(type='plates'), 'event.bad_type', 'type'),
    (dict(type='PLATE'), 'event.bad_type', 'type'),
    (dict(type=['plate']), 'event.bad_type', 'type'),
    (dict(plate=KeyError), 'event.missing_field', 'plate'),
    (dict(plate=None), 'event.missing_field', 'plate'),
    (dict(plate=''), 'event.missing_field', 'plate'),
    (dict(plate=' · '), 'event.missing_field', 'plate'),
    (dict(plate='冀B123456789012345'), 'event.bad_field', 'plate'),   # 17 characters
    (dict(plate=12345), 'event.bad_field', 'plate'),
    (dict(plate_color='7'), 'event.bad_color', 'plate_color'),
    (dict(plate_color=1), 'event.bad_color', 'plate_color'),
    (dict(plate_color='blue'), 'event.bad_color', 'plate_color'),
    (dict(confidence=-0.1), 'event.bad_confidence', 'confidence'),
    (dict(confidence=100.5), 'event.bad_confidence', 'confidence'),
    (dict(confidence='90'), 'event.bad_confidence', 'confidence'),
    (dict(confidence=True), 'event.bad_confidence', 'confidence'),
    (dict(direction='1'), 'event.bad_field', 'direction'),
    (dict(direction='IN'), 'event.bad_field', 'direction'),
    (dict(direction=['in']), 'event.bad_field', 'direction'),
    (dict(decision='open'), 'event.bad_field', 'decision'),
    (dict(reason='x' * 201), 'event.bad_field', 'reason'),
    (dict(reason=5), 'event.bad_field', 'reason'),
    (dict(unreadable='yes'), 'event.bad_field', 'unreadable'),
    (dict(unreadable=1), 'event.bad_field', 'unreadable'),
    (dict(extra=[1]), 'event.bad_field', 'extra'),
    (dict(extra='x'), 'event.bad_field', 'extra'),
    (dict(pictures=[b64(JPEG)]), 'event.bad_picture', 'pictures'),
    (dict(pictures={'rear': b64(JPEG)}), 'event.bad_picture', 'pictures'),
    (dict(pictures={'front': 'not base64!!'}), 'event.bad_picture', 'pictures.front'),
    (dict(pictures={'front': b64(GIF)}), 'event.bad_picture', 'pictures.front'),
    (dict(pictures={'front': b64(b'hello world')}), 'event.bad_picture', 'pictures.front'),
    (dict(pictures={'front': ''}), 'event.bad_picture', 'pictures.front'),
    (dict(pictures={'front': None}), 'event.bad_picture', 'pictures.front'),
    (dict(pictures={'front': b64(JPEG)[:-1]}), 'event.bad_picture', 'pictures.front'),
    (dict(pictures={'front': b64(JPEG + b'x')[:-1] + '=='}), 'event.bad_picture', 'pictures.front'),
    (dict(pictures={'front': base64.encodebytes(JPEG * 10).decode()}), 'event.bad_picture',
     'pictures.front'),                                  # MIME line breaks
    (dict(pictures={'front': base64.urlsafe_b64encode(JPEG).decode()}), 'event.bad_picture',
     'pictures.front'),
])
def test_invalid_events_name_the_field(changes, code, field):
    exc = rejected(event(**changes))
    assert exc.code == code
    assert exc.params['field'] == field
    assert field in exc.message_en and field in exc.message_zh


def test_not_an_object():
    for value in ('not an object', ['e'], None, 5):
        exc = rejected(value)
        assert exc.code == 'event.not_object'


def test_unreadable_plate_events():
    parsed = events.parse_event(event(plate='', unreadable=True))
    assert parsed.unreadable is True and parsed.plate_key == '' and parsed.plate_kind is None
    parsed = events.parse_event(event(plate=KeyError, unreadable=True))
    assert parsed.plate_raw == '' and parsed.plate_key == ''
    parsed = events.parse_event(event(plate='冀B1?3', unreadable=True))   # partial read kept raw
    assert parsed.plate_raw == '冀B1?3' and parsed.plate_key == ''


def test_other_event_types_need_no_plate():
    for kind in ('weight', 'qr', 'manual_lift', 'heartbeat'):
        parsed = events.parse_event(event(type=kind, plate=KeyError))
        assert parsed.type == kind and parsed.plate_key == ''


def test_an_unclassifiable_plate_is_kept_not_rejected():
    parsed = events.parse_event(event(plate='冀BO1234'))
    assert parsed.plate_key == '冀BO1234' and parsed.plate_kind is None
    parsed = events.parse_event(event(plate=' 冀b·12345 '))
    assert parsed.plate_raw == ' 冀b·12345 '            # the raw read exactly as sent
    assert parsed.plate_key == '冀B12345' and parsed.plate_kind == 'ordinary'


@pytest.mark.parametrize('direction, code', [('in', '1'), ('out', '2')])
def test_direction_becomes_the_hj_code(direction, code):
    assert events.parse_event(event(direction=direction)).direction == code


@pytest.mark.parametrize('value', [0, 100, 99.5, 0.0])
def test_confidence_bounds(value):
    assert events.parse_event(event(confidence=value)).confidence == float(value)


@pytest.mark.parametrize('decision', events.DECISIONS)
def test_decisions(decision):
    assert events.parse_event(event(decision=decision)).decision == decision


def test_all_picture_kinds_decode():
    pictures = {kind: b64(JPEG if i % 2 else PNG) for i, kind in enumerate(events.PICTURE_KINDS)}
    parsed = events.parse_event(event(pictures=pictures))
    assert set(parsed.pictures) == set(events.PICTURE_KINDS)
    assert parsed.pictures['body'] == JPEG and parsed.pictures['front'] == PNG


# ---- the request envelope -----------------------------------------------------------

def test_parse_request_returns_the_raw_events():
    body = json.dumps({'events': [event(), event(event_id='e-2')]}, ensure_ascii=False)
    raw = events.parse_request(body.encode('utf-8'))
    assert [e['event_id'] for e in raw] == ['e-1', 'e-2']
    assert raw[0]['plate'] == '冀B12345'
    assert events.parse_request(body) == raw                          # str works too
    assert events.parse_request(b'\xef\xbb\xbf' + body.encode()) == raw   # with a BOM


@pytest.mark.parametrize('body, code', [
    (b'{"events": [', 'request.bad_json'),
    (b'', 'request.bad_json'),
    (b'\xff\xfe{}', 'request.bad_json'),
    (b'{"events": [{"confidence": NaN}]}', 'request.bad_json'),
    (b'{"events": [{"confidence": Infinity}]}', 'request.bad_json'),
    (b'[' * 100000 + b']' * 100000, 'request.bad_json'),
    (b'{"events": []}', 'request.no_events'),
    (b'{"events": {}}', 'request.no_events'),
    (b'{"event": [{}]}', 'request.no_events'),
    (b'[{"event_id": "x"}]', 'request.no_events'),
    (b'"events"', 'request.no_events'),
    (json.dumps({'events': [{}] * 501}).encode(), 'request.too_many'),
])
def test_bad_envelopes(body, code):
    with pytest.raises(Hj1321Error) as info:
        events.parse_request(body)
    assert info.value.code == code
    assert info.value.message_en and info.value.message_zh


def test_500_events_are_allowed():
    assert len(events.parse_request(json.dumps({'events': [{}] * 500}))) == 500


# ---- raw payload without the picture bytes ------------------------------------------

def test_strip_pictures_keeps_digests_and_sizes():
    raw = event(pictures={'front': b64(JPEG), 'plate': b64(PNG)})
    original = json.loads(json.dumps(raw))
    parsed = events.parse_event(raw)
    stripped = events.strip_pictures(raw, parsed.pictures)
    assert stripped['pictures'] == {
        'front': {'sha256': hashlib.sha256(JPEG).hexdigest(), 'bytes': len(JPEG)},
        'plate': {'sha256': hashlib.sha256(PNG).hexdigest(), 'bytes': len(PNG)},
    }
    assert stripped['plate'] == '冀B12345' and stripped['time'] == raw['time']
    assert raw == original                                   # the input is not modified
    assert b64(JPEG) not in json.dumps(stripped)


def test_strip_pictures_accepts_precomputed_digests():
    raw = event(pictures={'front': b64(JPEG)})
    digests = {'front': {'sha256': 'ab' * 32, 'bytes': 7}}
    assert events.strip_pictures(raw, digests)['pictures'] == digests


def test_strip_pictures_decodes_what_the_caller_did_not():
    raw = event(pictures={'front': b64(JPEG)})
    assert events.strip_pictures(raw, {})['pictures']['front'] == events.picture_ref(JPEG)


def test_strip_pictures_without_pictures_is_a_copy():
    raw = event()
    stripped = events.strip_pictures(raw, {})
    assert stripped == raw and stripped is not raw


def test_messages_stay_short_for_huge_values():
    for changes in (dict(time='x' * 100000), dict(reason='r' * 100000), dict(type='t' * 100000),
                    dict(plate_color='c' * 100000), dict(decision='d' * 100000)):
        exc = rejected(event(**changes))
        assert len(exc.message_en) < 400 and len(exc.message_zh) < 400, changes
