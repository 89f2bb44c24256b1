"""Plate camera protocols: real-shaped payloads in, PlateRead and contract events out."""
import base64
import datetime
import io
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import pytest
from PIL import Image

from gatebox import cameras
from gatebox.cameras import PayloadError
from hj1321 import events

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'simulators'))
import cameras_sim  # noqa: E402


def make_jpeg(size=(24, 16), shade=(30, 90, 200)):
    out = io.BytesIO()
    Image.new('RGB', size, shade).save(out, 'JPEG', quality=70)
    return out.getvalue()


JPEG = make_jpeg()
PLATE_JPEG = make_jpeg((16, 6), (200, 190, 20))
# 2026-11-28 08:15:30.250 Beijing time = 00:15:30.250 UTC
SEC = 1795824930
WHEN_UTC = datetime.datetime(2026, 11, 28, 0, 15, 30, 250000)
assert datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=SEC) == WHEN_UTC.replace(
    microsecond=0)

EVENT_SCHEMA = events.load_schema('event')
EVENT_VALIDATOR = jsonschema.Draft7Validator(EVENT_SCHEMA)


def b64(data):
    return base64.b64encode(data).decode('ascii')


def rejected(function, *args):
    with pytest.raises(PayloadError) as info:
        function(*args)
    return info.value


def accepted(event):
    """The event is valid for the ERP (parse_event) and for the published schema."""
    json.dumps(event)                                   # the box sends it as JSON
    EVENT_VALIDATOR.validate(event)
    return events.parse_event(event)


# ---------------------------------------------------------------------------------------
# AlarmInfoPlate
# ---------------------------------------------------------------------------------------

def aip_body(**changes):
    """A push as a Vzenith camera sends it (fields from the vendor documentation)."""
    plate_result = {
        'bright': 0, 'carBright': 0, 'carColor': 0, 'colorType': 2, 'colorValue': 0,
        'confidence': 95, 'direction': 4, 'imagePath': '%2Fmmc%2FVzIPCCap%2F2026_11_28%2F1.jpg',
        'license': '冀B12345',
        'location': {'RECT': {'bottom': 690, 'left': 670, 'right': 811, 'top': 655}},
        'timeStamp': {'Timeval': {'decday': 28, 'dechour': 8, 'decmin': 15, 'decmon': 11,
                                  'decsec': 30, 'decyear': 2026, 'sec': SEC, 'usec': 250000}},
        'timeUsed': 0, 'triggerType': 8, 'type': 4, 'plateid': 3817, 'isoffline': 0,
        'imageFile': b64(JPEG), 'imageFileLen': len(JPEG),
        'imageFragmentFile': b64(PLATE_JPEG), 'imageFragmentFileLen': len(PLATE_JPEG),
    }
    for key, value in changes.items():
        if value is KeyError:
            plate_result.pop(key, None)
        else:
            plate_result[key] = value
    data = {'AlarmInfoPlate': {'channel': 0, 'deviceName': 'IVS', 'ipaddr': '192.168.1.100',
                               'result': {'PlateResult': plate_result},
                               'serialno': 'e5d5b8e5-37d7a9cd', 'user_data': ''}}
    return json.dumps(data, ensure_ascii=False).encode('utf-8')


def test_alarminfoplate_read_has_every_field_normalised():
    read = cameras.parse_alarminfoplate(aip_body())
    assert read.raw_kind == 'alarminfoplate'
    assert read.plate_raw == '冀B12345' and read.plate_key == '冀B12345'
    assert read.plate_color == '1'              # colorType 2 yellow -> HJ 1 yellow
    assert read.confidence == 95.0 and isinstance(read.confidence, float)
    assert read.time_utc == WHEN_UTC and read.time_utc.tzinfo is None
    assert read.pictures == {'front': JPEG, 'plate': PLATE_JPEG}
    assert read.is_offline is False and read.is_heartbeat is False
    assert read.direction is None               # image motion says nothing about in/out
    assert read.camera_event_id == 'aip/e5d5b8e5-37d7a9cd/3817/%d.250000' % SEC
    assert read.lane_hint == 'e5d5b8e5-37d7a9cd/0'
    assert read.extra['ipaddr'] == '192.168.1.100'
    assert read.extra['PlateResult']['type'] == 4
    assert 'imageFile' not in read.extra['PlateResult']      # no base64 in extra
    assert 'imageFragmentFile' not in read.extra['PlateResult']


def test_alarminfoplate_same_record_resent_has_same_id_another_record_not():
    first = cameras.parse_alarminfoplate(aip_body())
    again = cameras.parse_alarminfoplate(aip_body())
    other = cameras.parse_alarminfoplate(aip_body(plateid=3818))
    assert first.camera_event_id == again.camera_event_id
    assert other.camera_event_id != first.camera_event_id
    assert cameras.event_id_for(first) == cameras.event_id_for(again)
    assert cameras.event_id_for(first, 'box1-') != cameras.event_id_for(other, 'box1-')
    assert len(cameras.event_id_for(first, 'x' * 60)) <= 64


@pytest.mark.parametrize('color_type, hj', [
    (0, '5'), (1, '0'), (2, '1'), (3, '2'), (4, '3'), (5, '4'), (6, '6'), ('5', '4'), (99, '5')])
def test_alarminfoplate_colour_types_map_to_hj_codes(color_type, hj):
    assert cameras.parse_alarminfoplate(aip_body(colorType=color_type)).plate_color == hj


def test_alarminfoplate_direction_map_is_applied_when_given():
    read = cameras.parse_alarminfoplate(aip_body(direction=4), direction_map={4: 'in', 3: 'out'})
    assert read.direction == 'in'
    assert cameras.parse_alarminfoplate(aip_body(direction='3'),
                                        direction_map={4: 'in', 3: 'out'}).direction == 'out'


@pytest.mark.parametrize('license_', ['_无_', '无牌车', '', '  ', '无车牌'])
def test_alarminfoplate_no_plate_is_an_unreadable_read(license_):
    read = cameras.parse_alarminfoplate(aip_body(license=license_))
    assert read.plate_key == ''
    assert read.plate_raw == license_
    parsed = accepted(cameras.to_event(read, 'IN-1', 'e-1', decision='unrecognised'))
    assert parsed.unreadable is True and parsed.plate_key == ''
    assert parsed.decision == 'unrecognised'


def test_alarminfoplate_offline_replay_is_flagged():
    read = cameras.parse_alarminfoplate(aip_body(isoffline=1))
    assert read.is_offline is True
    assert read.time_utc == WHEN_UTC


def test_alarminfoplate_without_time_uses_the_receive_time_unless_offline():
    received = datetime.datetime(2026, 11, 28, 1, 0, 0)
    read = cameras.parse_alarminfoplate(aip_body(timeStamp=KeyError), received_utc=received)
    assert read.time_utc == received
    assert read.extra['time_source'] == 'received'
    error = rejected(cameras.parse_alarminfoplate, aip_body(timeStamp=KeyError, isoffline=1))
    assert error.code == 'payload.bad_time'
    assert 'timeStamp.Timeval.sec' in error.message_en and 'timeStamp' in error.message_zh


def test_alarminfoplate_minimal_body_is_enough():
    body = json.dumps({'AlarmInfoPlate': {'result': {'PlateResult': {
        'license': '京A12345', 'timeStamp': {'Timeval': {'sec': SEC}}}}}}).encode()
    read = cameras.parse_alarminfoplate(body)
    assert read.plate_key == '京A12345'
    assert read.plate_color is None and read.confidence is None
    assert read.pictures == {} and read.is_offline is False
    assert read.time_utc == WHEN_UTC.replace(microsecond=0)
    assert read.camera_event_id == 'aip///%d.000000' % SEC
    accepted(cameras.to_event(read, 'IN-1', 'e-min'))


def test_alarminfoplate_gbk_body_and_nul_padding_are_read():
    body = aip_body().decode('utf-8').encode('gbk') + b'\x00\x00'
    assert cameras.parse_alarminfoplate(body).plate_key == '冀B12345'


def test_alarminfoplate_broken_picture_keeps_the_read():
    read = cameras.parse_alarminfoplate(aip_body(imageFile='not base64!!',
                                                 imageFragmentFile=KeyError))
    assert read.pictures == {}
    assert read.plate_key == '冀B12345'
    assert read.extra['picture_problems'] == ['imageFile: not valid base64']


def test_alarminfoplate_wrapped_base64_is_accepted():
    wrapped = '\n'.join(b64(JPEG)[i:i + 76] for i in range(0, len(b64(JPEG)), 76))
    read = cameras.parse_alarminfoplate(aip_body(imageFile=wrapped))
    assert read.pictures['front'] == JPEG


@pytest.mark.parametrize('body, code, field', [
    (b'{"AlarmInfoPlate": {', 'payload.bad_json', None),
    (b'\xff\xfe\x00garbage', 'payload.bad_json', None),
    (b'{"AlarmInfoPlate": NaN}', 'payload.bad_json', None),
    (b'[]', 'payload.missing_field', 'AlarmInfoPlate'),
    (b'{"Alarm": {}}', 'payload.missing_field', 'AlarmInfoPlate'),
    (b'{"AlarmInfoPlate": {"result": {}}}', 'payload.missing_field',
     'AlarmInfoPlate.result.PlateResult'),
    (aip_body(license=KeyError), 'payload.missing_field',
     'AlarmInfoPlate.result.PlateResult.license'),
    (aip_body(license=12345), 'payload.bad_field', 'AlarmInfoPlate.result.PlateResult.license'),
    (aip_body(timeStamp={'Timeval': {'sec': 'yesterday'}}), 'payload.bad_time',
     'AlarmInfoPlate.result.PlateResult.timeStamp.Timeval.sec'),
    (aip_body(timeStamp={'Timeval': {'sec': 99999999999}}), 'payload.bad_time',
     'AlarmInfoPlate.result.PlateResult.timeStamp.Timeval.sec'),
])
def test_alarminfoplate_malformed_bodies_are_refused_with_a_code(body, code, field):
    error = rejected(cameras.parse_alarminfoplate, body)
    assert isinstance(error, ValueError)
    assert error.code == code
    assert error.protocol == 'AlarmInfoPlate'
    assert error.message_zh and error.message_en and error.message_zh != error.message_en
    if field:
        assert error.params['field'] == field
        assert field in error.message_en and field in error.message_zh


# ---------------------------------------------------------------------------------------
# AlarmInfoPlate reply
# ---------------------------------------------------------------------------------------

def _serial_texts(reply):
    return [base64.b64decode(item['data']).decode('gbk')
            for item in reply['Response_AlarmInfoPlate']['serialData']]


def test_reply_opens_the_barrier_and_sends_gbk_lines():
    reply = cameras.alarminfoplate_reply(True, ['冀B12345', '欢迎光临 国六'], voice='请通行')
    body = reply['Response_AlarmInfoPlate']
    assert body['info'] == 'ok'
    assert body['content'] == 'retransfer_stop'
    assert body['channelNum'] == 0
    assert _serial_texts(reply) == ['冀B12345', '欢迎光临 国六', '请通行']
    for item in body['serialData']:
        raw = base64.b64decode(item['data'])
        assert item['dataLen'] == len(raw)
        assert item['serialChannel'] == 0
    assert base64.b64decode(body['serialData'][0]['data']) == '冀B12345'.encode('gbk')
    json.dumps(reply)


def test_reply_refusal_keeps_the_barrier_closed_and_still_stops_resends():
    reply = cameras.alarminfoplate_reply(False, ['禁止通行', '国三车辆'], channel=1, relay=1)
    body = reply['Response_AlarmInfoPlate']
    assert body['info'] == 'no'
    assert body['content'] == 'retransfer_stop'
    assert body['channelNum'] == 1
    assert [item['serialChannel'] for item in body['serialData']] == [1, 1]
    assert _serial_texts(reply) == ['禁止通行', '国三车辆']


def test_reply_without_lines_and_with_board_framing():
    assert cameras.alarminfoplate_reply(True, [])['Response_AlarmInfoPlate']['serialData'] == []
    framed = cameras.alarminfoplate_reply(
        True, ['车'], voice='好', frame=lambda i, data, voice: bytes([0xAA, i, voice]) + data)
    items = framed['Response_AlarmInfoPlate']['serialData']
    assert base64.b64decode(items[0]['data']) == b'\xaa\x00\x00' + '车'.encode('gbk')
    assert base64.b64decode(items[1]['data']) == b'\xaa\x01\x01' + '好'.encode('gbk')
    assert items[0]['dataLen'] == 5


def test_reply_characters_outside_gbk_become_question_marks():
    reply = cameras.alarminfoplate_reply(True, ['OK \U0001F600'])
    assert _serial_texts(reply) == ['OK ?']


# ---------------------------------------------------------------------------------------
# Hikvision ISAPI
# ---------------------------------------------------------------------------------------

HIK_NS = 'http://www.hikvision.com/ver20/XMLSchema'
ISAPI_NS = 'http://www.isapi.org/ver20/XMLSchema'
BOUNDARY = 'boundary'


def hik_xml(namespace=HIK_NS, anpr=None, header=None):
    xmlns = ' xmlns="%s"' % namespace if namespace else ''
    header = header if header is not None else (
        '<ipAddress>192.168.1.64</ipAddress><portNo>80</portNo><protocol>HTTP</protocol>'
        '<macAddress>44:19:b6:6d:24:85</macAddress><channelID>1</channelID>'
        '<dateTime>2026-11-28T08:15:30.250+08:00</dateTime>'
        '<activePostCount>7</activePostCount><eventType>ANPR</eventType>'
        '<eventState>active</eventState><eventDescription>ANPR</eventDescription>'
        '<channelName>Camera 01</channelName>')
    anpr = anpr if anpr is not None else (
        '<ANPR><country>3</country><licensePlate>冀B12345</licensePlate><line>1</line>'
        '<direction>forward</direction><confidenceLevel>98</confidenceLevel>'
        '<plateType>92TypeCivil</plateType><plateColor>yellow</plateColor>'
        '<licenseBright>0</licenseBright><vehicleType>truck</vehicleType>'
        '<pictureInfoList><pictureInfo><fileName>licensePlatePicture.jpg</fileName>'
        '<type>licensePlatePicture</type></pictureInfo><pictureInfo>'
        '<fileName>detectionPicture.jpg</fileName><type>detectionPicture</type>'
        '</pictureInfo></pictureInfoList>'
        '<originalLicensePlate>冀B12345</originalLicensePlate></ANPR>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
            '<EventNotificationAlert version="2.0"%s>\r\n%s\r\n%s\r\n'
            '<UUID>51bd4a5a-0fe6-11ef-8000-4419b66d2485</UUID><picNum>2</picNum>'
            '<isDataRetransmission>false</isDataRetransmission>\r\n'
            '</EventNotificationAlert>\r\n' % (xmlns, header, anpr)).encode('utf-8')


def hik_body(xml=None, pictures=True, close=True):
    """A push as the camera sends it, written out by hand: CRLF lines, --boundary."""
    xml = hik_xml() if xml is None else xml
    out = (b'--boundary\r\n'
           b'Content-Disposition: form-data; name="anpr.xml"; filename="anpr.xml"\r\n'
           b'Content-Type: application/xml\r\n'
           b'Content-Length: ' + str(len(xml)).encode() + b'\r\n\r\n' + xml + b'\r\n')
    if pictures:
        out += (b'--boundary\r\n'
                b'Content-Disposition: form-data; name="licensePlatePicture.jpg"; '
                b'filename="licensePlatePicture.jpg"\r\n'
                b'Content-Type: image/jpeg\r\n\r\n' + PLATE_JPEG + b'\r\n'
                b'--boundary\r\n'
                b'Content-Disposition: form-data; name="detectionPicture.jpg"; '
                b'filename="detectionPicture.jpg"\r\n'
                b'Content-Type: image/jpeg\r\n\r\n' + JPEG + b'\r\n')
    if close:
        out += b'--boundary--\r\n'
    return out


CTYPE = 'multipart/form-data; boundary=boundary'


@pytest.mark.parametrize('namespace', [HIK_NS, ISAPI_NS, None])
def test_hikvision_push_with_or_without_namespace(namespace):
    read = cameras.parse_hikvision(CTYPE, hik_body(hik_xml(namespace)))
    assert read.raw_kind == 'hikvision'
    assert read.plate_raw == '冀B12345' and read.plate_key == '冀B12345'
    assert read.plate_color == '1'
    assert read.confidence == 98.0
    assert read.direction == 'in'
    assert read.time_utc == WHEN_UTC
    assert read.pictures == {'plate': PLATE_JPEG, 'front': JPEG}
    assert read.camera_event_id == 'hik/44:19:b6:6d:24:85/1/2026-11-28T08:15:30.250+08:00/7'
    assert read.lane_hint == '44:19:b6:6d:24:85/1'
    assert read.extra['ANPR']['originalLicensePlate'] == '冀B12345'
    assert read.extra['ANPR']['vehicleType'] == 'truck'
    assert read.extra['ANPR']['pictureInfoList.pictureInfo[1].type'] == 'detectionPicture'
    assert read.extra['alert']['UUID'] == '51bd4a5a-0fe6-11ef-8000-4419b66d2485'
    assert read.is_heartbeat is False and read.is_offline is False


def test_hikvision_quoted_boundary_and_pictures_containing_crlf_dashes():
    tricky = JPEG + b'\r\n--bound\r\n--boundar' + b'\xff\xd9'
    body = hik_body().replace(JPEG, tricky)
    read = cameras.parse_hikvision('multipart/form-data; boundary="boundary"', body)
    assert read.pictures['front'] == tricky


def test_hikvision_empty_elements_do_not_crash():
    xml = hik_xml(header=(
        '<macAddress>44:19:b6:6d:24:85</macAddress><channelID/>'
        '<dateTime>2026-11-28T08:15:30+08:00</dateTime><activePostCount/>'
        '<eventType>ANPR</eventType><eventState>active</eventState>'),
        anpr=('<ANPR><licensePlate>冀B12345</licensePlate><direction/><confidenceLevel/>'
              '<plateType/><plateColor/><vehicleType/></ANPR>'))
    read = cameras.parse_hikvision(CTYPE, hik_body(xml))
    assert read.plate_key == '冀B12345'
    assert read.confidence is None and read.plate_color is None and read.direction is None
    assert read.camera_event_id == 'hik/44:19:b6:6d:24:85//2026-11-28T08:15:30+08:00/'
    assert read.extra['alert']['activePostCount'] == ''
    accepted(cameras.to_event(read, 'IN-1', 'e-empty'))


def test_hikvision_heartbeat_is_a_heartbeat_read():
    xml = hik_xml(header=(
        '<macAddress>44:19:b6:6d:24:85</macAddress><channelID>1</channelID>'
        '<dateTime>2026-11-28T08:15:30+08:00</dateTime><activePostCount>0</activePostCount>'
        '<eventType>videoloss</eventType><eventState>inactive</eventState>'), anpr='')
    for content_type, body in ((CTYPE, hik_body(xml, pictures=False)),
                               ('application/xml; charset=UTF-8', xml)):
        read = cameras.parse_hikvision(content_type, body)
        assert read.is_heartbeat is True
        assert read.plate_key == '' and read.pictures == {}
        assert read.time_utc == WHEN_UTC.replace(microsecond=0)
        event = cameras.to_event(read, 'IN-1', 'hb-1')
        assert event['type'] == 'heartbeat' and 'plate' not in event
        assert accepted(event).type == 'heartbeat'


def test_hikvision_prefers_license_plate_and_falls_back_to_original():
    anpr = ('<ANPR><licensePlate>冀B12345</licensePlate>'
            '<originalLicensePlate>冀B12346</originalLicensePlate></ANPR>')
    read = cameras.parse_hikvision(CTYPE, hik_body(hik_xml(anpr=anpr)))
    assert read.plate_raw == '冀B12345'
    assert read.extra['ANPR']['originalLicensePlate'] == '冀B12346'
    only = '<ANPR><originalLicensePlate>冀B12346</originalLicensePlate></ANPR>'
    assert cameras.parse_hikvision(CTYPE, hik_body(hik_xml(anpr=only))).plate_raw == '冀B12346'


def test_hikvision_no_plate_colours_and_directions():
    anpr = ('<ANPR><licensePlate>无车牌</licensePlate><plateColor>yellowGreen</plateColor>'
            '<direction>reverse</direction></ANPR>')
    read = cameras.parse_hikvision(CTYPE, hik_body(hik_xml(anpr=anpr)))
    assert read.plate_key == '' and read.plate_raw == '无车牌'
    assert read.plate_color == '6'
    assert read.direction == 'out'
    inverted = cameras.parse_hikvision(CTYPE, hik_body(hik_xml(anpr=anpr)),
                                       direction_map={'forward': 'out', 'reverse': 'in'})
    assert inverted.direction == 'in'
    assert cameras.parse_hikvision(CTYPE, hik_body(hik_xml(anpr=anpr)),
                                   direction_map={}).direction is None


@pytest.mark.parametrize('name, hj', [
    ('blue', '0'), ('yellow', '1'), ('white', '2'), ('black', '3'), ('green', '4'),
    ('gradientGreen', '4'), ('civilAviationBlack', '3'), ('Yellow Green', '6'),
    ('other', '5'), ('0xff', '5'), ('7', '5')])
def test_vendor_colour_names(name, hj):
    anpr = '<ANPR><licensePlate>冀B12345</licensePlate><plateColor>%s</plateColor></ANPR>' % name
    assert cameras.parse_hikvision(CTYPE, hik_body(hik_xml(anpr=anpr))).plate_color == hj


def test_hikvision_retransmission_and_time_without_offset():
    xml = hik_xml().replace(b'<isDataRetransmission>false', b'<isDataRetransmission>true')
    xml = xml.replace(b'2026-11-28T08:15:30.250+08:00', b'2026-11-28T08:15:30')
    read = cameras.parse_hikvision(CTYPE, hik_body(xml))
    assert read.is_offline is True
    assert read.time_utc == WHEN_UTC.replace(microsecond=0)      # taken as Beijing time
    assert read.extra['time_offset_assumed'] == 'CST'


def test_hikvision_gb2312_declared_xml():
    xml = hik_xml().decode('utf-8').replace('encoding="UTF-8"', 'encoding="GB2312"')
    read = cameras.parse_hikvision('text/xml', xml.encode('gbk'))
    assert read.plate_key == '冀B12345'


DOCTYPE_XML = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
               b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n'
               b'<EventNotificationAlert><eventType>ANPR</eventType><ANPR>'
               b'<licensePlate>&lol2;</licensePlate></ANPR></EventNotificationAlert>')
EXTERNAL_XML = (b'<?xml version="1.0"?><!doctype x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                b'<EventNotificationAlert>&e;</EventNotificationAlert>')


@pytest.mark.parametrize('content_type, body, code', [
    ('application/json', b'{}', 'payload.content_type'),
    ('', hik_body(), 'payload.content_type'),
    ('multipart/form-data', hik_body(), 'payload.no_boundary'),
    (CTYPE, hik_body(close=False), 'payload.truncated'),
    (CTYPE, hik_body()[:len(hik_body()) // 2], 'payload.truncated'),
    (CTYPE, b'no delimiter at all', 'payload.truncated'),
    (CTYPE, hik_body(DOCTYPE_XML), 'payload.doctype'),
    ('application/xml', EXTERNAL_XML, 'payload.doctype'),
    (CTYPE, hik_body(b'<EventNotificationAlert><eventType>ANPR</eventType>'), 'payload.bad_xml'),
    (CTYPE, hik_body(b''), 'payload.no_xml'),
    (CTYPE, hik_body(hik_xml().replace(b'>ANPR</eventType>', b'>VMD</eventType>')),
     'payload.not_anpr'),
    (CTYPE, hik_body(hik_xml(anpr='')), 'payload.missing_field'),
    (CTYPE, hik_body(hik_xml(anpr='<ANPR><plateColor>blue</plateColor></ANPR>')),
     'payload.missing_field'),
    (CTYPE, hik_body(b'<Other/>'), 'payload.missing_field'),
    (CTYPE, hik_body(hik_xml().replace(b'2026-11-28T08:15:30.250+08:00', b'yesterday')),
     'payload.bad_time'),
])
def test_hikvision_malformed_bodies_are_refused_with_a_code(content_type, body, code):
    error = rejected(cameras.parse_hikvision, content_type, body)
    assert error.code == code
    assert error.protocol == 'Hikvision'
    assert error.message_zh and error.message_en


def test_hikvision_missing_plate_message_names_the_field():
    error = rejected(cameras.parse_hikvision, CTYPE,
                     hik_body(hik_xml(anpr='<ANPR><plateColor>blue</plateColor></ANPR>')))
    assert error.params['field'] == 'ANPR/licensePlate'
    assert 'ANPR/licensePlate' in error.message_en and '缺少' in error.message_zh


# ---------------------------------------------------------------------------------------
# Dahua snapManager stream
# ---------------------------------------------------------------------------------------

def test_dahua_subscribe_path_is_the_documented_one():
    assert cameras.dahua_subscribe_path() == (
        '/cgi-bin/snapManager.cgi?action=attachFileProc&Flags[0]=Event'
        '&Events=[TrafficJunction]&heartbeat=5')
    assert cameras.dahua_subscribe_path(heartbeat=10).endswith('&heartbeat=10')


def dahua_text(plate='冀B12345', color='Yellow', park='1', lane='1', utc=SEC, ms=250, rec=41,
               code='TrafficJunction'):
    return ('Events[0].Code=%s\r\nEvents[0].Action=Pulse\r\nEvents[0].EventID=9001\r\n'
            'Events[0].UTC=%d\r\nEvents[0].UTCMS=%d\r\nEvents[0].Lane=%s\r\n'
            'Events[0].TrafficCar.PlateNumber=%s\r\nEvents[0].TrafficCar.PlateColor=%s\r\n'
            'Events[0].TrafficCar.PlateType=Yellow\r\nEvents[0].TrafficCar.RecNo=%d\r\n'
            'Events[0].CommInfo.ParkType=%s\r\n'
            % (code, utc, ms, lane, plate, color, rec, park)).encode('utf-8')


def part(ctype, payload, length=True):
    head = b'--myboundary\r\nContent-Type: ' + ctype + b'\r\n'
    if length:
        head += b'Content-Length: ' + str(len(payload)).encode() + b'\r\n'
    return head + b'\r\n' + payload + b'\r\n'


HEARTBEAT = part(b'text/plain', b'Heartbeat')
NOW = datetime.datetime(2026, 11, 28, 0, 20, 0)

# heartbeat; event 1 with lengths; garbage; event 2 without lengths (ends at the next
# delimiter); an unreadable plate; an event whose picture never comes; heartbeat.
STREAM = (b'junk before the first part\r\n' + HEARTBEAT
          + part(b'text/plain', dahua_text()) + part(b'image/jpeg', JPEG)
          + b'\x00\x01 noise between parts \xff\r\n'
          + part(b'text/plain', dahua_text('冀B54321', 'Blue', '2', '2', rec=42), False)
          + part(b'image/jpeg', PLATE_JPEG, False)
          + part(b'text/plain', dahua_text('无牌车', 'Unknown', '0', rec=43))
          + part(b'image/jpeg', JPEG)
          + part(b'text/plain', dahua_text('京A00001', rec=44))
          + HEARTBEAT)


def summary(reads):
    return [(r.is_heartbeat, r.plate_raw, r.plate_key, r.plate_color, r.direction, r.lane_hint,
             r.time_utc, r.camera_event_id, sorted(r.pictures.items())) for r in reads]


def parse_all(chunks, **options):
    parser = cameras.DahuaStreamParser(device_id='cam-7', now=lambda: NOW, **options)
    reads = []
    for chunk in chunks:
        reads.extend(parser.feed(chunk))
    reads.extend(parser.flush())
    return reads, parser


def test_dahua_stream_events_heartbeats_and_pictures():
    reads, parser = parse_all([STREAM])
    assert [r.is_heartbeat for r in reads] == [True, False, False, False, False, True]
    heartbeat, first, second, nameless, no_picture, _last = reads
    assert heartbeat.time_utc == NOW and heartbeat.raw_kind == 'dahua'
    assert first.plate_raw == '冀B12345' and first.plate_key == '冀B12345'
    assert first.plate_color == '1' and first.direction == 'in'
    assert first.time_utc == WHEN_UTC
    assert first.pictures == {'front': JPEG}
    assert first.lane_hint == 'cam-7/1'
    assert first.camera_event_id == 'dahua/cam-7/41/%d.250' % SEC
    assert first.extra['fields']['TrafficCar.PlateType'] == 'Yellow'
    assert second.plate_key == '冀B54321' and second.plate_color == '0'
    assert second.direction == 'out' and second.pictures == {'front': PLATE_JPEG}
    assert nameless.plate_key == '' and nameless.plate_color == '5' and nameless.direction is None
    assert no_picture.plate_key == '京A00001' and no_picture.pictures == {}
    assert parser.skipped_bytes > 0


def test_dahua_stream_split_at_every_byte_offset_gives_the_same_reads():
    expected = summary(parse_all([STREAM])[0])
    assert len(expected) == 6
    for offset in range(len(STREAM) + 1):
        reads = parse_all([STREAM[:offset], STREAM[offset:]])[0]
        assert summary(reads) == expected, 'split at %d' % offset


def test_dahua_stream_fed_byte_by_byte_and_in_three_pieces():
    expected = summary(parse_all([STREAM])[0])
    assert summary(parse_all([STREAM[i:i + 1] for i in range(len(STREAM))])[0]) == expected
    third = len(STREAM) // 3
    assert summary(parse_all([STREAM[:third], STREAM[third:2 * third],
                              STREAM[2 * third:]])[0]) == expected


def test_dahua_reads_are_returned_as_soon_as_complete():
    parser = cameras.DahuaStreamParser(device_id='cam-7', now=lambda: NOW)
    assert [r.is_heartbeat for r in parser.feed(HEARTBEAT)] == [True]
    assert parser.feed(part(b'text/plain', dahua_text())) == []      # waits for its picture
    reads = parser.feed(part(b'image/jpeg', JPEG))
    assert [r.plate_key for r in reads] == ['冀B12345'] and reads[0].pictures == {'front': JPEG}


def test_dahua_other_events_and_orphan_pictures_are_ignored():
    stream = (part(b'image/jpeg', JPEG) + part(b'text/plain', dahua_text(code='VideoMotion'))
              + part(b'application/octet-stream', b'\x00\x01') + HEARTBEAT)
    reads, parser = parse_all([stream])
    assert [r.is_heartbeat for r in reads] == [True]
    assert parser.ignored_parts == 3


def test_dahua_wrong_content_length_and_closing_delimiter():
    lying = (b'--myboundary\r\nContent-Type: text/plain\r\nContent-Length: 4000\r\n\r\n'
             + dahua_text() + b'\r\n' + part(b'image/jpeg', JPEG) + HEARTBEAT
             + b'x' * 4000 + b'--myboundary--\r\n')
    reads, _parser = parse_all([lying])
    # The too long text part swallowed nothing: its event and picture still pair up.
    assert [r.plate_key for r in reads if not r.is_heartbeat] == ['冀B12345']
    assert reads[0].pictures == {'front': JPEG}


def test_dahua_local_clock_option_and_local_time_fallback():
    reads, _parser = parse_all([part(b'text/plain', dahua_text()), part(b'image/jpeg', JPEG)],
                               utc_is_local=True)
    assert reads[0].time_utc == WHEN_UTC - datetime.timedelta(hours=8)
    text = dahua_text().replace(b'Events[0].UTC=%d' % SEC, b'Events[0].LocalTime=2026-11-28 '
                                b'08:15:30')
    reads, _parser = parse_all([part(b'text/plain', text), part(b'image/jpeg', JPEG)])
    assert reads[0].time_utc == WHEN_UTC.replace(microsecond=0)
    text = dahua_text().replace(b'Events[0].UTC=%d' % SEC, b'')
    reads, _parser = parse_all([part(b'text/plain', text)])
    assert reads[0].time_utc == NOW and reads[0].extra['time_source'] == 'received'


# ---------------------------------------------------------------------------------------
# To the ERP contract
# ---------------------------------------------------------------------------------------

def test_to_event_from_each_protocol_is_accepted_by_the_erp():
    aip = cameras.parse_alarminfoplate(aip_body(colorType=5, license='冀BD12345'))
    hik = cameras.parse_hikvision(CTYPE, hik_body())
    dahua = parse_all([part(b'text/plain', dahua_text(color='Blue', park='2')),
                       part(b'image/jpeg', JPEG)])[0][0]
    for read, color, direction in ((aip, '4', None), (hik, '1', '1'), (dahua, '0', '2')):
        event = cameras.to_event(read, 'GATE-1', 'e-%s' % read.raw_kind, decision='pass')
        assert event['time'].endswith('+00:00')
        parsed = accepted(event)
        assert parsed.type == 'plate' and parsed.lane == 'GATE-1'
        assert parsed.plate_raw == read.plate_raw and parsed.plate_key == read.plate_key
        assert parsed.plate_color == color
        assert parsed.direction == direction
        assert parsed.time_utc == read.time_utc
        assert parsed.pictures == read.pictures and parsed.pictures
        assert parsed.unreadable is False and parsed.decision == 'pass'
        assert parsed.extra['source'] == read.raw_kind
        assert parsed.extra['camera_event_id'] == read.camera_event_id
        assert parsed.extra['camera'] == read.extra
    assert accepted(cameras.to_event(aip, 'GATE-1', 'e')).plate_kind == 'new_energy_small'
    assert accepted(cameras.to_event(aip, 'GATE-1', 'e')).confidence == 95.0


def test_to_event_reason_cut_to_the_contract_and_odd_pictures_dropped():
    read = cameras.parse_alarminfoplate(aip_body())._replace(
        pictures={'front': JPEG, 'body': b'GIF89a\x01\x00', 'weird': JPEG})
    event = cameras.to_event(read, 'IN-1', 'e-2', decision='refuse', reason='国三车辆' * 100)
    parsed = accepted(event)
    assert len(parsed.reason) == 200 and parsed.decision == 'refuse'
    assert set(parsed.pictures) == {'front'}
    assert event['extra']['dropped_pictures'] == ['body', 'weird']


def test_to_event_plate_longer_than_the_contract_is_sent_as_unreadable():
    read = cameras.parse_alarminfoplate(aip_body(license='冀B12345冀B12345冀B12345'))
    assert read.plate_key                                # the camera did send text
    event = cameras.to_event(read, 'IN-1', 'e-3')
    parsed = accepted(event)
    assert parsed.unreadable is True and 'plate' not in event
    assert parsed.extra['plate_raw'] == '冀B12345冀B12345冀B12345'


def test_to_event_offline_flag_in_extra():
    read = cameras.parse_alarminfoplate(aip_body(isoffline=1))
    assert accepted(cameras.to_event(read, 'IN-1', 'e-4')).extra['offline'] is True


# ---------------------------------------------------------------------------------------
# Simulators over loopback HTTP
# ---------------------------------------------------------------------------------------

class _Capture(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self.server.captured.append((self.path, self.headers.get('Content-Type'), body))
        reply = json.dumps(cameras.alarminfoplate_reply(True, ['欢迎'])).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


@pytest.fixture
def listener():
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Capture)
    server.captured = []
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_alarminfoplate_simulator_posts_what_the_parser_reads(listener):
    url = 'http://127.0.0.1:%d/camera/aip' % listener.server_address[1]
    status, reply, sent = cameras_sim.post_alarminfoplate(url, plate='冀E67890', color_type=5,
                                                          plateid=77, isoffline=1)
    assert status == 200
    assert reply['Response_AlarmInfoPlate']['info'] == 'ok'
    path, content_type, body = listener.captured[0]
    assert path == '/camera/aip' and content_type == 'application/json' and body == sent
    read = cameras.parse_alarminfoplate(body)
    assert read.plate_key == '冀E67890' and read.plate_color == '4' and read.is_offline
    assert read.pictures['front'].startswith(b'\xff\xd8\xff')
    accepted(cameras.to_event(read, 'IN-1', 'sim-1'))


def test_hikvision_simulator_posts_what_the_parser_reads(listener):
    url = 'http://127.0.0.1:%d/camera/hik' % listener.server_address[1]
    status, _reply, content_type, sent = cameras_sim.post_hikvision(
        url, plate='冀F11111', color='blue', namespace=cameras_sim.ISAPI_NS,
        active_post_count=None)
    assert status == 200
    _path, received_type, body = listener.captured[0]
    assert received_type == content_type and body == sent
    read = cameras.parse_hikvision(received_type, body)
    assert read.plate_key == '冀F11111' and read.plate_color == '0' and read.direction == 'in'
    assert set(read.pictures) == {'plate', 'front'}
    accepted(cameras.to_event(read, 'IN-1', 'sim-2'))
    heartbeat_type, heartbeat = cameras_sim.hikvision_body(heartbeat=True)
    assert cameras.parse_hikvision(heartbeat_type, heartbeat).is_heartbeat


def _stream_reads(server, path, wanted, seconds=8.0):
    """Subscribe like the box does and parse until `wanted(reads)` or the deadline."""
    host, port = server._httpd.server_address[:2]
    parser = cameras.DahuaStreamParser(device_id='sim')
    reads = []
    deadline = time.monotonic() + seconds
    with socket.create_connection((host, port), timeout=1) as sock:
        sock.sendall(('GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n' % (path, host, port)).encode())
        head = b''
        while b'\r\n\r\n' not in head and time.monotonic() < deadline:
            head += sock.recv(4096)
        status_line, _, rest = head.partition(b'\r\n\r\n')
        assert b' 200 ' in status_line.split(b'\r\n')[0]
        assert b'multipart/x-mixed-replace; boundary=myboundary' in status_line
        reads.extend(parser.feed(rest))
        while not wanted(reads) and time.monotonic() < deadline:
            if server.subscribers() and not getattr(server, '_pushed', False):
                server._pushed = True
                server.push_event(plate='冀C33333', color='Green', park_type=2, rec_no=3)
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            reads.extend(parser.feed(chunk))
    return reads


def test_dahua_simulator_stream_is_parsed_into_the_events_it_sent():
    initial = [cameras_sim.dahua_event_parts(plate='冀A11111', rec_no=1),
               cameras_sim.dahua_event_parts(plate='冀B22222', park_type=2, rec_no=2,
                                             with_length=False)]
    with cameras_sim.DahuaSnapServer(initial=initial) as server:
        reads = _stream_reads(
            server, cameras.dahua_subscribe_path(heartbeat=1),
            lambda got: len([r for r in got if not r.is_heartbeat]) >= 3
            and any(r.is_heartbeat for r in got))
    plates = [(r.plate_key, r.direction, r.plate_color) for r in reads if not r.is_heartbeat]
    assert plates == [('冀A11111', 'in', '1'), ('冀B22222', 'out', '1'),
                      ('冀C33333', 'out', '4')]
    assert any(r.is_heartbeat for r in reads)
    assert all(r.pictures['front'].startswith(b'\xff\xd8\xff')
               for r in reads if not r.is_heartbeat)


def test_dahua_simulator_refuses_other_paths():
    with cameras_sim.DahuaSnapServer() as server:
        host, port = server._httpd.server_address[:2]
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(b'GET /cgi-bin/other.cgi HTTP/1.0\r\n\r\n')
            answer = sock.recv(1024)
    assert answer.startswith(b'HTTP/1.0 404')
