"""The published JSON Schema and parse_event must agree: both accept or both reject."""
import base64
import calendar
import datetime
import json
import re

import jsonschema
import pytest

from hj1321 import codes, events, plates
from hj1321.errors import Hj1321Error

EVENT_SCHEMA = events.load_schema('event')
REQUEST_SCHEMA = events.load_schema('events_request')
JPEG = b'\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9'
PNG = b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01'


def b64(data):
    return base64.b64encode(data).decode('ascii')


def _validator(schema):
    resolver = jsonschema.RefResolver.from_schema(schema, store={
        EVENT_SCHEMA['$id']: EVENT_SCHEMA, REQUEST_SCHEMA['$id']: REQUEST_SCHEMA})
    return jsonschema.Draft7Validator(schema, resolver=resolver)


EVENT_VALIDATOR = _validator(EVENT_SCHEMA)
REQUEST_VALIDATOR = _validator(REQUEST_SCHEMA)

BASE = {'event_id': 'e-1', 'type': 'plate', 'lane': 'IN-1', 'time': '2026-11-28T08:15:30+08:00',
        'plate': '冀B12345'}
DROP = object()


def make(**changes):
    data = dict(BASE)
    for key, value in changes.items():
        if value is DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return data


SAMPLES = [
    # (label, event, valid)
    ('base', make(), True),
    ('all fields', make(plate_color='6', confidence=88.5, direction='out', decision='refuse',
                        reason='国IV柴油车橙色预警期间禁止', unreadable=False,
                        pictures={'front': b64(JPEG), 'body': b64(PNG)}, extra={'a': [1]}), True),
    ('unknown property', make(serialno='x'), True),
    ('nulls', make(plate_color=None, confidence=None, direction=None, decision=None, reason=None,
                   unreadable=None, pictures=None, extra=None), True),
    ('heartbeat, no plate', make(type='heartbeat', plate=DROP), True),
    ('weight, plate null', make(type='weight', plate=None), True),
    ('qr', make(type='qr', plate=DROP, extra={'text': '随车清单'}), True),
    ('manual_lift', make(type='manual_lift', decision='manual', reason='纸质台账'), True),
    ('unreadable, empty plate', make(plate='', unreadable=True), True),
    ('unreadable, no plate', make(plate=DROP, unreadable=True), True),
    ('unreadable, blank plate', make(plate=' · ', unreadable=True), True),
    ('unreadable, partial', make(plate='冀B1?', unreadable=True), True),
    ('unclassifiable plate kept', make(plate='冀BO1234'), True),
    ('plate with separators', make(plate='冀B·12345'), True),
    ('plate 16 chars', make(plate='冀B12345678901234'), True),
    ('empty reason', make(reason=''), True),
    ('confidence 0', make(confidence=0), True),
    ('confidence 100', make(confidence=100), True),
    ('all decisions', make(decision='unrecognised'), True),
    ('time Z', make(time='2026-11-28T00:15:30Z'), True),
    ('time +0800', make(time='2026-11-28T08:15:30+0800'), True),
    ('time space', make(time='2026-11-28 08:15:30+08:00'), True),
    ('time fraction', make(time='2026-11-28T08:15:30.123+08:00'), True),
    ('leap day', make(time='2024-02-29T08:15:30+08:00'), True),
    ('leap day 2000', make(time='2000-02-29T08:15:30+08:00'), True),
    ('1900', make(time='1900-01-01T00:00:00+08:00'), True),
    ('2199', make(time='2199-12-31T23:59:59-05:00'), True),
    ('all picture kinds', make(pictures={k: b64(JPEG) for k in events.PICTURE_KINDS}), True),
    ('empty pictures', make(pictures={}), True),
    ('id 64', make(event_id='x' * 64), True),
    ('lane 32', make(lane='L' * 32), True),

    ('not an object', ['x'], False),
    ('string', 'event', False),
    ('no event_id', make(event_id=DROP), False),
    ('no type', make(type=DROP), False),
    ('no lane', make(lane=DROP), False),
    ('no time', make(time=DROP), False),
    ('null event_id', make(event_id=None), False),
    ('null type', make(type=None), False),
    ('null time', make(time=None), False),
    ('empty id', make(event_id=''), False),
    ('long id', make(event_id='x' * 65), False),
    ('int id', make(event_id=7), False),
    ('empty lane', make(lane=''), False),
    ('long lane', make(lane='L' * 33), False),
    ('bad type', make(type='photo'), False),
    ('plate event without plate', make(plate=DROP), False),
    ('plate event, null plate', make(plate=None), False),
    ('plate event, empty plate', make(plate=''), False),
    ('plate event, blank plate', make(plate='   '), False),
    ('plate event, separators only', make(plate='·-._'), False),
    ('plate event, ideographic space', make(plate='\u3000'), False),
    ('plate event, full-width hyphen', make(plate='－'), False),
    ('plate event, zero-width space', make(plate='\u200b'), False),
    ('weight, empty plate', make(type='weight', plate=''), False),
    ('unreadable false, empty plate', make(plate='', unreadable=False), False),
    ('plate 17 chars', make(plate='冀B123456789012345'), False),
    ('plate number', make(plate=12345), False),
    ('unreadable string', make(unreadable='true'), False),
    ('unreadable int', make(unreadable=1), False),
    ('colour 7', make(plate_color='7'), False),
    ('colour int', make(plate_color=1), False),
    ('colour name', make(plate_color='blue'), False),
    ('confidence negative', make(confidence=-1), False),
    ('confidence 101', make(confidence=101), False),
    ('confidence string', make(confidence='95'), False),
    ('confidence bool', make(confidence=True), False),
    ('direction code', make(direction='1'), False),
    ('direction upper', make(direction='IN'), False),
    ('decision', make(decision='open'), False),
    ('reason long', make(reason='x' * 201), False),
    ('reason int', make(reason=3), False),
    ('extra list', make(extra=[1]), False),
    ('pictures list', make(pictures=[b64(JPEG)]), False),
    ('picture kind', make(pictures={'rear': b64(JPEG)}), False),
    ('picture not base64', make(pictures={'front': 'not base64!!'}), False),
    ('picture gif', make(pictures={'front': b64(b'GIF89a....')}), False),
    ('picture text', make(pictures={'front': b64(b'hello')}), False),
    ('picture empty', make(pictures={'front': ''}), False),
    ('picture null', make(pictures={'front': None}), False),
    ('picture bad padding', make(pictures={'front': b64(JPEG)[:-1]}), False),
    ('picture extra padding', make(pictures={'front': b64(JPEG + b'xy') + '='}), False),
    ('picture line breaks', make(pictures={'front': base64.encodebytes(JPEG * 10).decode()}), False),
    ('picture trailing newline', make(pictures={'front': b64(JPEG) + '\n'}), False),
    ('picture url-safe', make(pictures={'front': base64.urlsafe_b64encode(JPEG * 3).decode()
                                        .replace('_', '-') + '-_'}), False),
    ('time no offset', make(time='2026-11-28T08:15:30'), False),
    ('time date only', make(time='2026-11-28'), False),
    ('time words', make(time='yesterday'), False),
    ('time number', make(time=1764288930), False),
    ('time Feb 30', make(time='2026-02-30T08:15:30+08:00'), False),
    ('time Feb 29 2026', make(time='2026-02-29T08:15:30+08:00'), False),
    ('time Feb 29 2100', make(time='2100-02-29T08:15:30+08:00'), False),
    ('time Feb 29 1900', make(time='1900-02-29T08:15:30+08:00'), False),
    ('time Nov 31', make(time='2026-11-31T08:15:30+08:00'), False),
    ('time hour 24', make(time='2026-11-28T24:00:00+08:00'), False),
    ('time leap second', make(time='2026-11-28T08:15:60+08:00'), False),
    ('time offset 24', make(time='2026-11-28T08:15:30+24:00'), False),
    ('time year 1899', make(time='1899-12-31T08:15:30+08:00'), False),
    ('time year 0001', make(time='0001-01-01T00:00:00+08:00'), False),
    ('time trailing newline', make(time='2026-11-28T08:15:30+08:00\n'), False),
    ('time lower z', make(time='2026-11-28T08:15:30z'), False),
    ('time full-width digits', make(time='２０２６-11-28T08:15:30+08:00'), False),
    ('time Arabic-Indic digits', make(time='٢٠٢٦-11-28T08:15:30+08:00'), False),
]


def _parse_accepts(obj):
    try:
        events.parse_event(obj)
    except Hj1321Error:
        return False
    return True


def test_the_schemas_are_valid_draft_07():
    jsonschema.Draft7Validator.check_schema(EVENT_SCHEMA)
    jsonschema.Draft7Validator.check_schema(REQUEST_SCHEMA)
    for schema in (EVENT_SCHEMA, REQUEST_SCHEMA):
        assert ' / ' in schema['title']                       # English / Chinese
        assert re.search('[\u4e00-\u9fff]', schema['description'])
    for name, prop in EVENT_SCHEMA['properties'].items():
        assert re.search('[\u4e00-\u9fff]', prop['title'] + prop['description']), name
        assert re.search('[A-Za-z]{3}', prop['title']), name


@pytest.mark.parametrize('label, obj, valid', SAMPLES, ids=[s[0] for s in SAMPLES])
def test_schema_and_parse_event_agree(label, obj, valid):
    schema_says = EVENT_VALIDATOR.is_valid(obj)
    parse_says = _parse_accepts(obj)
    assert schema_says == parse_says, '%s: schema %s, parse_event %s' % (
        label, schema_says, parse_says)
    assert parse_says is valid


def test_the_schema_carries_the_same_rules_as_the_code():
    props = EVENT_SCHEMA['properties']
    assert props['time']['pattern'] == events.TIME_PATTERN
    assert props['pictures']['additionalProperties']['pattern'] == events.PICTURE_PATTERN
    assert props['pictures']['propertyNames']['enum'] == list(events.PICTURE_KINDS)
    assert props['type']['enum'] == list(events.TYPES)
    assert [d for d in props['decision']['enum'] if d] == list(events.DECISIONS)
    assert [d for d in props['direction']['enum'] if d] == sorted(events.DIRECTIONS)
    assert [c for c in props['plate_color']['enum'] if c] == \
        [c.code for c in codes.table('plate_color')]
    plate_rule = EVENT_SCHEMA['allOf'][0]['else']['properties']['plate']['anyOf'][1]
    assert plate_rule['pattern'] == plates.PLATE_CONTENT_PATTERN
    assert REQUEST_SCHEMA['properties']['events']['maxItems'] == events.MAX_EVENTS


def test_the_plate_content_pattern_matches_normalisation():
    """A one-character plate is blank for the schema exactly when normalize_plate empties it."""
    content = re.compile(plates.PLATE_CONTENT_PATTERN)
    for code in list(range(0x0, 0x3100)) + list(range(0xFE00, 0x10000)):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        try:
            blank = not plates.normalize_plate(ch)
        except Hj1321Error:
            blank = True
        assert blank is (content.search(ch) is None), hex(code)


def test_the_time_pattern_accepts_exactly_the_real_dates():
    pattern = re.compile(events.TIME_PATTERN)
    for year in (1900, 1904, 1999, 2000, 2023, 2024, 2026, 2100, 2196, 2199):
        for month in range(1, 13):
            for day in range(1, 32):
                text = '%04d-%02d-%02dT12:00:00+08:00' % (year, month, day)
                real = day <= calendar.monthrange(year, month)[1]
                assert bool(pattern.match(text)) is real, text
                if real:
                    assert events.parse_time(text) == datetime.datetime(year, month, day, 4)


REQUESTS = [
    ({'events': [BASE]}, True),
    ({'events': [BASE] * 500}, True),
    ({'events': [BASE], 'sender': 'box-1'}, True),
    ({'events': []}, False),
    ({'events': [BASE] * 501}, False),
    ({'events': {}}, False),
    ({'event': [BASE]}, False),
    ([BASE], False),
]


@pytest.mark.parametrize('body, valid', REQUESTS)
def test_request_schema_and_parse_request_agree(body, valid):
    try:
        events.parse_request(json.dumps(body, ensure_ascii=False).encode('utf-8'))
        parse_says = True
    except Hj1321Error:
        parse_says = False
    assert REQUEST_VALIDATOR.is_valid(body) is parse_says is valid


def test_request_schema_checks_the_events_too():
    assert not REQUEST_VALIDATOR.is_valid({'events': [make(time='soon')]})
