"""The adapters' wire formats, field by field, and the classification of every answer."""
import base64
import hashlib
import json
import urllib.parse
import xml.etree.ElementTree as ElementTree

import pytest

from hj1321 import canonical, regulators as wire

JPEG = b'\xff\xd8\xff\xe0\x00\x10JFIF' + bytes(range(256)) * 4 + b'\xff\xd9'
ENTERPRISE = {'code': '1302030001', 'name': '河北冀东钢铁有限公司'}
TRUCK = {'plate': '冀B12345', 'plate_color': '1', 'vin': 'LFWSRXSJ0K1A12345',
         'vehicle_type': 'Q11', 'registration_date': '2021-03-04', 'brand_model': '解放J6P',
         'engine_model': 'CA6DM3', 'engine_maker': '锡柴', 'engine_no': 'E123',
         'fuel_type': 'B', 'emission_stage': '6', 'use_nature': 'F', 'networked': '1',
         'fleet_name': '唐山冀东物流', 'owner': '李强', 'picture_license': JPEG, 'picture_list': JPEG}
ENTRY_VALUES = {'name': '0101A261128081530', 'direction': '1', 'pass_time': '2026-11-28 00:15:30',
                'decision': 'pass', 'lift_mode': '2', 'barrier_no': '0101', 'gate_code': '01',
                'lane_code': 'E-IN', 'camera_no': 'C1', 'plate_key': '冀B12345',
                'plate_raw': '冀B12345', 'plate_color': '1', 'emission_stage': '6',
                'fuel_type': 'B', 'vin': 'LFWSRXSJ0K1A12345', 'vehicle_type': 'Q11',
                'use_nature': 'F', 'networked': '1', 'fleet_name': '唐山冀东物流',
                'vehicle': TRUCK, 'vehicle_id': 1, 'cargo_name': '铁矿石', 'quantity': 34.5,
                'uom': 't', 'pictures': {'front': JPEG, 'body': JPEG, 'plate': JPEG}}
EXIT_VALUES = dict(ENTRY_VALUES, name='0102B261128101502', direction='2',
                   pass_time='2026-11-28 02:15:02', barrier_no='0102', lane_code='E-OUT',
                   entry_name='0101A261128081530', cargo_name='热轧钢卷', quantity=30.0)


def passage(values=ENTRY_VALUES, embed=True):
    return canonical.canonical_passage(values, ENTERPRISE, embed_pictures=embed)


ENTRY = passage()
EXIT = passage(EXIT_VALUES)
VEHICLE = canonical.canonical_vehicle(TRUCK, ENTERPRISE, embed_pictures=True)
STATUS = canonical.canonical_gate_status({'barrier_no': '0101', 'gate_code': '01',
                                          'time': '2026-11-28 00:20:00', 'online': True,
                                          'barrier_ok': True, 'camera_ok': False}, ENTERPRISE)
DATA_URI = 'data:image/jpeg;base64,' + base64.b64encode(JPEG).decode()


# ---- what goes where ------------------------------------------------------------------

def test_supported_kinds_pictures_and_dependencies():
    assert wire.supports(wire.CANONICAL_JSON, 'machinery')
    assert wire.supports(wire.SOAP, 'vehicle') and not wire.supports(wire.HENAN, 'vehicle')
    assert not wire.supports(wire.HEBEI, 'gate_status')
    with pytest.raises(wire.UnsupportedKind):
        wire.check_supported(wire.HEBEI, 'vehicle')
    with pytest.raises(ValueError):
        wire.check_supported('fax', 'passage')
    assert [a for a in wire.ADAPTERS if wire.needs_picture_bytes(a)] == [
        wire.CANONICAL_JSON, wire.HENAN, wire.SOAP]
    assert wire.dependency(wire.HEBEI, 'passage', EXIT) == ENTRY['record_id']
    assert wire.dependency(wire.HEBEI, 'passage', ENTRY) is None
    assert wire.dependency(wire.HENAN, 'passage', EXIT) is None


def test_outcome():
    outcome = wire.Outcome(wire.DUPLICATE, '已有', 'had it')
    assert outcome.delivered and outcome.message('zh_CN') == '已有' and outcome.message() == 'had it'
    assert not wire.Outcome(wire.RETRY).delivered
    with pytest.raises(ValueError):
        wire.Outcome('maybe')


def test_retry_delay_follows_the_pattern_and_the_platform():
    assert [wire.retry_delay(n) for n in (1, 2, 3, 4, 5, 7, 8, 50)] == [
        60, 60, 300, 300, 900, 900, 3600, 3600]
    assert wire.retry_delay(1, retry_after=120) == 120 and wire.retry_delay(8, retry_after=5) == 3600
    assert wire.retry_delay(2, pattern={1: 10, 2: 20}) == 20


@pytest.mark.parametrize('status,kind,unreachable', [
    (200, None, False), (201, None, False), (401, wire.AUTH, False), (403, wire.AUTH, False),
    (404, wire.REJECTED, False), (413, wire.REJECTED, False), (408, wire.RETRY, False),
    (429, wire.RETRY, False), (500, wire.RETRY, False), (502, wire.RETRY, True),
    (503, wire.RETRY, True), (504, wire.RETRY, True)])
def test_http_status_classification(status, kind, unreachable):
    outcome = wire.classify_http(status, 'body', {'Retry-After': '7'})
    if kind is None:
        assert outcome is None
    else:
        assert outcome.kind == kind and outcome.unreachable is unreachable
        assert outcome.http_status == status and outcome.message_zh and outcome.message_en
        if status in (429, 503):
            assert outcome.retry_after == 7


# ---- A. canonical JSON ----------------------------------------------------------------

def test_canonical_request():
    path, headers, body = wire.canonical_request(ENTRY)
    assert path == '/passages' and body is ENTRY
    assert headers == {'Idempotency-Key': ENTRY['record_id'], 'X-Enterprise-Code': '1302030001'}
    path, headers, body = wire.canonical_request(VEHICLE)
    assert path == '/vehicles' and headers['Idempotency-Key'] == (
        'vehicle/1302030001/%E5%86%80B12345@' + VEHICLE['revision'])
    headers['Idempotency-Key'].encode('latin-1')
    assert {k: wire.CANONICAL_PATHS[k] for k in ('in_plant_vehicle', 'machinery', 'gate',
                                                  'gate_status')} == {
        'in_plant_vehicle': '/in-plant-vehicles', 'machinery': '/machinery', 'gate': '/gates',
        'gate_status': '/gate-status'}


@pytest.mark.parametrize('status,body,kind,platform_id', [
    (201, {'status': 'accepted', 'id': 'CJ1'}, wire.OK, 'CJ1'),
    (200, {'status': 'duplicate', 'id': 'CJ1'}, wire.DUPLICATE, 'CJ1'),
    (409, {'status': 'duplicate', 'id': 7}, wire.DUPLICATE, '7'),
    (422, {'status': 'rejected', 'code': 'schema', 'message': 'bad', 'message_zh': '不对'},
     wire.REJECTED, None),
    (400, 'not json', wire.REJECTED, None),
    (200, '<html>proxy</html>', wire.RETRY, None),
    (200, {'status': 'weird'}, wire.RETRY, None),
    (401, {'status': 'unauthorized'}, wire.AUTH, None),
    (500, 'oops', wire.RETRY, None)])
def test_parse_canonical(status, body, kind, platform_id):
    text = body if isinstance(body, str) else json.dumps(body)
    outcome = wire.parse_canonical(status, text)
    assert outcome.kind == kind and outcome.platform_id == platform_id
    if status == 422:
        assert outcome.message_zh == '平台拒收：不对' and outcome.message_en.endswith('bad')
        assert outcome.code == 'platform.schema'


def test_parse_blacklist_and_strategies():
    text = json.dumps({'items': [
        {'id': 3, 'plate': '冀B54321', 'plate_color': '1', 'source': '唐山市生态环境局',
         'reason': '超标排放', 'valid_from': '2026-11-01 08:00:00', 'valid_to': None},
        {'id': 4, 'plate': '冀B54322', 'valid_from': '2026-11-01T00:00:00Z',
         'valid_to': '2026-12-01T08:00:00+08:00'},
        {'id': 5, 'plate': ''}, {'id': 6, 'plate': '冀B1', 'plate_color': '8'}]})
    outcome = wire.parse_blacklist(200, text)
    assert outcome.kind == wire.OK and outcome.code == 'blacklist.partial'
    assert outcome.data == [
        {'platform_id': '3', 'plate': '冀B54321', 'plate_color': '1', 'source': '唐山市生态环境局',
         'reason': '超标排放', 'valid_from': '2026-11-01 00:00:00', 'valid_to': None},
        {'platform_id': '4', 'plate': '冀B54322', 'plate_color': None, 'source': None,
         'reason': None, 'valid_from': '2026-11-01 00:00:00', 'valid_to': '2026-12-01 00:00:00'}]
    assert '#2' in outcome.message_en and '#3' in outcome.message_en
    assert wire.parse_blacklist(200, '{"items": 3}').kind == wire.RETRY
    assert wire.parse_blacklist(503, '').unreachable

    text = json.dumps({'items': [{'id': 'S7', 'name': '2026-11 橙色预警', 'level': '2',
                                  'date_start': '2026-11-28 00:00:00',
                                  'date_end': '2026-11-30 00:00:00',
                                  'rules': [{'max_stage': '4', 'vehicle_classes': ['H1', 'Q1']}],
                                  'exempt_flags': ['special'], 'exempt_plates': ['冀B11111']},
                                 {'id': 'S8', 'level': 'purple'}]})
    outcome = wire.parse_strategies(200, text)
    assert outcome.data == [{'platform_id': 'S7', 'name': '2026-11 橙色预警', 'level': 'orange',
                             'date_start': '2026-11-27 16:00:00', 'date_end': '2026-11-29 16:00:00',
                             'rules': [{'max_stage': '4', 'fuels': None,
                                        'vehicle_classes': ['H1', 'Q1'], 'categories': None,
                                        'action': 'refuse'}],
                             'exempt_flags': ['special'], 'exempt_plates': ['冀B11111']}]
    assert outcome.code == 'strategies.partial'


# ---- B. Henan -------------------------------------------------------------------------

def test_henan_envelope_and_paths():
    assert wire.henan_envelope('1302030001', 'getAccessToken', {'username': 'u', 'password': 'p'}) \
        == {'organ': '1302030001', 'ipctype': 'getAccessToken',
            'value': {'username': 'u', 'password': 'p'}}
    body = wire.henan_envelope('1302030001', 'shareDrivingRecord', {'a': 1}, 'tok')
    assert list(body) == ['organ', 'ipctype', 'access_token', 'value']
    assert {op: wire.henan_path(op) for op in wire.HENAN_ENDPOINTS} == {
        'getAccessToken': '/restapi/transportControl/get_data',
        'getCheckVehicle': '/restapi/transportControl/get_data',
        'shareDrivingRecord': '/restapi/transportControl/put_data',
        'sharePhotoInfo': '/restapi/transportControl/put_file',
        'putdcstatus': '/restapi/transportControl/put_data'}


def test_henan_driving_record_field_by_field():
    value = wire.henan_driving_record(ENTRY)
    expected = {
        'lsh': '13020300010101A261128081530', 'qybh': '1302030001', 'qymc': '河北冀东钢铁有限公司',
        'dzbh': '0101', 'cphm': '冀B12345', 'cpys': '1', 'tgsjq': '2026-11-28 08:15:30',
        'tgsjz': '2026-11-28 08:15:30', 'bgzt': '2', 'tgzt': '1',
        'serialNum': '13020300010101A261128081530', 'enterpriseId': '1302030001',
        'entranceGateCode': '01', 'gateCodeB': '0101', 'inOutComStatus': '1',
        'date': '2026-11-28 08:15:30', 'license': '冀B12345', 'licenseColor': '1',
        'cdmc': '唐山冀东物流', 'vin': 'LFWSRXSJ0K1A12345', 'registerDate': '2021-03-04',
        'model': '解放J6P', 'fuelType': 'B', 'emissionStandard': '6', 'useCharacter': 'F',
        'networkStatus': '1', 'hwmc': '铁矿石', 'ysl': 34.5, 'ysldw': 't', 'gkjg': '1',
        'drivingLicenseImg': DATA_URI, 'drivingLicenseImg2': DATA_URI,
        'imgURL1': DATA_URI, 'imgURL2': DATA_URI}
    assert value == expected
    exit_ = wire.henan_driving_record(EXIT)
    assert (exit_['tgzt'], exit_['inOutComStatus'], exit_['dzbh'], exit_['hwmc']) == (
        '2', '2', '0102', '热轧钢卷')
    assert exit_['ysl'] == 30.0


def test_henan_photos_and_gate_status():
    photos = wire.henan_photos(ENTRY)
    assert [(p['zpbh'], p['zplx'], p['imageType']) for p in photos] == [
        ('13020300010101A261128081530_1', '1', '1'), ('13020300010101A261128081530_2', '2', '2'),
        ('13020300010101A261128081530_3', '3', '3')]
    photo = photos[0]
    assert photo['base64Image'] == DATA_URI and wire.data_uri_bytes(photo['base64Image']) == JPEG
    assert (photo['lsh'], photo['qybh'], photo['dzbh'], photo['cphm'], photo['pzsj']) == (
        '13020300010101A261128081530', '1302030001', '0101', '冀B12345', '2026-11-28 08:15:30')
    assert photo['imageNum'] == photo['zpbh'] and photo['serialNum'] == photo['lsh']
    assert wire.henan_dc_status(STATUS) == [{'dzbh': '0101', 'bgzt': '0', 'vlpzt': '1'}]
    offline = dict(STATUS, online=False, camera_ok=None)
    assert wire.henan_dc_status(offline) == [{'dzbh': '0101', 'bgzt': '1', 'vlpzt': '1'}]
    assert wire.henan_check_vehicle('1302030001', '冀B12345', '1', '0101') == {
        'license': '冀B12345', 'licenseColor': '1', 'enterpriseID': '1302030001',
        'gateCodeB': '0101'}


def test_henan_cannot_build_without_plate_or_picture_bytes():
    with pytest.raises(wire.BuildError) as info:
        wire.henan_driving_record(passage(embed=False))
    assert info.value.code == 'build.picture_not_embedded'
    unread = passage(dict(ENTRY_VALUES, plate_key=False, plate_raw=False, pictures=None,
                          vehicle=None))
    with pytest.raises(wire.BuildError) as info:
        wire.henan_driving_record(unread)
    assert info.value.code == 'build.plate_missing' and '人工' in info.value.message_zh


@pytest.mark.parametrize('status,body,kind', [
    (200, {'code': '200', 'status': '成功'}, wire.OK),
    (200, {'code': 200, 'status': '成功'}, wire.OK),
    (200, {'code': '400', 'status': '数据重复：流水号已存在'}, wire.DUPLICATE),
    (200, {'code': '401', 'status': 'access_token无效或已过期'}, wire.AUTH),
    (200, {'code': '400', 'status': 'token失效'}, wire.AUTH),
    (200, {'code': '500', 'status': '数据库异常'}, wire.RETRY),
    (200, {'code': '400', 'status': '系统繁忙，请稍后再试'}, wire.RETRY),
    (200, {'code': '400', 'status': '车牌颜色代码错误'}, wire.REJECTED),
    (200, {'status': 'no code'}, wire.RETRY),
    (200, '<html>gateway</html>', wire.RETRY),
    (200, '', wire.RETRY),
    (500, 'Internal Server Error', wire.RETRY),
    (503, '', wire.RETRY)])
def test_parse_henan(status, body, kind):
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    outcome = wire.parse_henan(status, text)
    assert outcome.kind == kind
    if kind == wire.REJECTED:
        assert '车牌颜色代码错误' in outcome.message_zh and '车牌颜色代码错误' in outcome.message_en


def test_parse_henan_token_and_check():
    ok = wire.parse_henan_token(200, json.dumps({'code': '200', 'access_token': 'T1',
                                                 'datetime': '2026-11-28 08:00:00'}))
    assert ok.kind == wire.OK and ok.data == {'access_token': 'T1', 'datetime': '2026-11-28 08:00:00'}
    nested = wire.parse_henan_token(200, json.dumps({'code': '200', 'value': {'access_token': 'T2'}}))
    assert nested.data['access_token'] == 'T2'
    refused = wire.parse_henan_token(200, json.dumps({'code': '401', 'status': '用户名或密码错误'}))
    assert refused.kind == wire.AUTH
    assert wire.parse_henan_token(200, json.dumps({'code': '200'})).kind == wire.RETRY

    value = {'isControl': '1', 'controlReason': '国四柴油车橙色预警禁止进厂', 'vin': 'V',
             'registerDate': '2015-01-02 00:00:00', 'emissionStandard': '4', 'fuelType': 'B'}
    check = wire.parse_henan_check(200, json.dumps({'code': '200', 'value': json.dumps(value)}))
    assert check.data['allowed'] is False and check.data['reason'].startswith('国四')
    assert check.data['vehicle']['registration_date'] == '2015-01-02'
    assert check.data['vehicle']['emission_stage'] == '4'
    allowed = wire.parse_henan_check(200, json.dumps({'code': '200', 'value': {'isControl': 0}}))
    assert allowed.data['allowed'] is True
    assert wire.parse_henan_check(200, json.dumps({'code': '200', 'value': {}})).kind == wire.RETRY


# ---- C. Hebei -------------------------------------------------------------------------

ENTRY_KEYS = {'entranceNumber', 'entranceGateNumber', 'carInTime', 'entryHeadPic', 'entryBodyPic',
              'entryTransportedName', 'entryTransportedValue'}
EXIT_KEYS = {'exportNumber', 'exportGateNumber', 'carOutTime', 'factoryHeadPic', 'factoryBodyPic',
             'factoryTransportedName', 'factoryTransportedValue', 'throughId'}
COMMON_KEYS = {'carPlate', 'carPalteColor', 'dischargeStage', 'carType', 'carIdCode',
               'registrationDate', 'brand', 'carFuel', 'networkingStatus', 'carUseNature',
               'accompanyPicture', 'drivingPicture', 'motorcadeName'}
URL = 'https://plant.example/pictures/{sha256}.jpg'
PICTURE_URL = URL.format(sha256=hashlib.sha256(JPEG).hexdigest())


def test_hebei_entry_and_exit_keys():
    entry = wire.hebei_upload(ENTRY, picture_url=URL)
    assert set(entry) == ENTRY_KEYS | COMMON_KEYS
    assert (entry['entranceNumber'], entry['entranceGateNumber'], entry['carInTime']) == (
        '01', '0101', '2026-11-28 08:15:30')
    assert entry['entryHeadPic'] == entry['entryBodyPic'] == PICTURE_URL
    assert (entry['entryTransportedName'], entry['entryTransportedValue']) == ('铁矿石', 34.5)
    assert (entry['carPlate'], entry['carPalteColor'], entry['dischargeStage'], entry['carType'],
            entry['carIdCode'], entry['registrationDate'], entry['brand'], entry['carFuel'],
            entry['networkingStatus'], entry['carUseNature'], entry['motorcadeName']) == (
        '冀B12345', '1', '6', 'Q11', 'LFWSRXSJ0K1A12345', '2021-03-04', '解放J6P', 'B', '1', 'F',
        '唐山冀东物流')
    assert entry['accompanyPicture'] == entry['drivingPicture'] == PICTURE_URL

    exit_ = wire.hebei_upload(EXIT, through_id='T-42', picture_url=URL)
    assert set(exit_) == EXIT_KEYS | COMMON_KEYS
    assert (exit_['exportNumber'], exit_['exportGateNumber'], exit_['carOutTime'],
            exit_['throughId']) == ('01', '0102', '2026-11-28 10:15:02', 'T-42')
    assert exit_['factoryTransportedName'] == '热轧钢卷'
    assert wire.hebei_upload(EXIT)['throughId'] == ''            # an exit without entry


def test_hebei_pictures_are_urls_only():
    plain = passage(embed=False)
    body = wire.hebei_upload(plain)                 # no URL known: no picture keys at all
    assert not {'entryHeadPic', 'entryBodyPic', 'accompanyPicture', 'drivingPicture'} & set(body)
    with_url = dict(plain, pictures=[dict(plain['pictures'][0], url='https://x/1.jpg')])
    assert wire.hebei_upload(with_url)['entryHeadPic'] == 'https://x/1.jpg'
    assert 'base64' not in json.dumps(wire.hebei_upload(ENTRY, picture_url=URL))


def test_hebei_token_request_and_answers():
    headers, form = wire.hebei_token_request('slcj001', 'ENC', '200010', 'S3CR3T')
    assert headers == {'Client_id': '200010', 'Client_secret': 'S3CR3T'}
    assert form == {'username': 'slcj001', 'password': 'ENC'}
    ok = wire.parse_hebei_token(200, json.dumps({'code': '10000', 'data': {
        'access_token': 'A', 'expires_in': '3600'}}))
    assert ok.data == {'access_token': 'A', 'expires_in': 3600}
    assert wire.parse_hebei_token(200, json.dumps({'code': '40001', 'msg': '密码错误'})).kind == wire.AUTH
    assert wire.parse_hebei_token(200, json.dumps({'code': '10000', 'data': {}})).kind == wire.RETRY

    upload = wire.parse_hebei_upload(200, json.dumps({'code': '10000', 'data': {'throughId': 'T9'}}))
    assert upload.kind == wire.OK and upload.platform_id == 'T9'
    exit_ok = wire.parse_hebei_upload(200, json.dumps({'code': '10000', 'data': None}),
                                      through_id='T9')
    assert exit_ok.platform_id == 'T9'
    duplicate = wire.parse_hebei_upload(200, json.dumps({'code': '20001', 'msg': '通行记录已存在',
                                                         'data': {'throughId': 'T9'}}))
    assert duplicate.kind == wire.DUPLICATE and duplicate.platform_id == 'T9'
    assert wire.parse_hebei_upload(401, '{"code":"401"}').kind == wire.AUTH
    assert wire.parse_hebei_upload(200, '{"code":"401","msg":"expired"}').kind == wire.AUTH
    rejected = wire.parse_hebei_upload(200, json.dumps({'code': '20002', 'msg': '通行记录不存在'}))
    assert rejected.kind == wire.REJECTED and '通行记录不存在' in rejected.message_en


# ---- D. SOAP dealCommand ------------------------------------------------------------------

def test_soap_key_is_double_md5():
    inner = hashlib.md5(b'1302030001Bdmj').hexdigest()
    assert wire.soap_key('1302030001', 'Bdmj') == hashlib.md5(inner.encode()).hexdigest()
    assert len(wire.soap_key('1302030001', 'x')) == 32
    assert wire.soap_params('Q', 's', '01Q00', '<root/>') == {
        'qybh': 'Q', 'jkxlh': wire.soap_key('Q', 's'), 'jkid': '01Q00', 'sXmlDoc': '<root/>'}


def test_soap_passage_document():
    jkid, doc, fields = wire.soap_record(ENTRY)
    assert jkid == '01W01'
    assert [name for name, _v in fields] == [
        'id', 'lsh', 'cphm', 'cpys', 'qybh', 'crkbh', 'sxtbh', 'dzbh', 'cdh', 'jclx', 'bgzt',
        'tgkssj', 'tgjssj', 'cjsj', 'ctzp', 'cszp', 'cpzp', 'yshwmc', 'ysl', 'ysdw', 'cdmc', 'pfbz',
        'rlzl', 'syr', 'gkjg']
    values = dict(fields)
    assert values['id'] == hashlib.md5(ENTRY['record_id'].encode()).hexdigest()
    assert (values['lsh'], values['cphm'], values['qybh'], values['crkbh'], values['dzbh'],
            values['jclx'], values['bgzt'], values['tgkssj'], values['ysl'], values['gkjg']) == (
        '13020300010101A261128081530', '冀B12345', '1302030001', '01', '0101', '1', '2',
        '2026-11-28 08:15:30', '34.5', '自动放行')
    assert base64.b64decode(values['ctzp']) == JPEG
    # the XML: <root><vehcrpara>, every value URL-encoded (Chinese, '+' and '/' of base64)
    root = ElementTree.fromstring(doc.encode())
    assert root.tag == 'root' and [c.tag for c in root] == ['vehcrpara']
    raw = {child.tag: child.text or '' for child in root[0]}
    assert raw['cphm'] == '%E5%86%80B12345' and '+' not in raw['ctzp'] and '/' not in raw['ctzp']
    assert urllib.parse.unquote_plus(raw['ctzp']) == values['ctzp']
    assert wire.parse_soap_doc(doc) == ('vehcrpara', {k: str(v) for k, v in fields})


def test_soap_vehicle_and_gate_status_documents():
    jkid, doc, fields = wire.soap_record(VEHICLE)
    values = dict(fields)
    assert jkid == '01W02'
    assert (values['cphm'], values['cpys'], values['clsbdh'], values['cllx'], values['ccdjrq'],
            values['clppxh'], values['rlzl'], values['pfbz'], values['syxz'], values['lwzt'],
            values['syr']) == ('冀B12345', '1', 'LFWSRXSJ0K1A12345', 'Q11', '2021-03-04',
                               '解放J6P', 'B', '6', 'F', '1', '唐山冀东物流')
    assert base64.b64decode(values['xszazp']) == JPEG
    assert wire.soap_record(STATUS)[2] == [('organ', '1302030001'), ('dzbh', '0101'),
                                           ('isonline', '1')]
    jkid, doc = wire.soap_whitelist('1302030001')
    assert jkid == '01Q04' and wire.parse_soap_doc(doc) == ('QueryCondition', {'qybh': '1302030001'})
    assert wire.soap_heartbeat('1302030001')[0] == '01Q00'


def test_soap_build_errors():
    no_vin = canonical.canonical_vehicle(dict(TRUCK, vin=False), ENTERPRISE, embed_pictures=True)
    with pytest.raises(wire.BuildError) as info:
        wire.soap_record(no_vin)
    assert info.value.code == 'build.vin_missing'
    long_serial = dict(ENTRY, platform_serial='9' * 47)
    with pytest.raises(wire.BuildError) as info:
        wire.soap_record(long_serial)
    assert info.value.code == 'build.serial_too_long'
    with pytest.raises(wire.UnsupportedKind):
        wire.soap_record(canonical.canonical_gate({'code': '01', 'name': 'g'}, ENTERPRISE))


@pytest.mark.parametrize('code,message,kind', [
    ('1', '处理成功', wire.OK), ('1', '已有此记录', wire.DUPLICATE),
    ('0', '授权序列号非法', wire.AUTH), ('0', '该企业未授权', wire.AUTH),
    ('0', '注册日期为空', wire.REJECTED), ('-1', '数据库连接失败', wire.RETRY)])
def test_parse_soap(code, message, kind):
    encoded = wire.soap_result(code, message)
    outcome = wire.parse_soap(encoded)
    assert outcome.kind == kind
    plain = urllib.parse.unquote_plus(encoded)          # a platform that does not encode
    assert wire.parse_soap(plain).kind == kind
    if kind == wire.REJECTED:
        assert message in outcome.message_zh and message in outcome.message_en


def test_parse_soap_garbage_and_whitelist():
    for text in ('', None, '<html>502</html>', 'not xml at all', '<root><head/></root>'):
        assert wire.parse_soap(text).kind == wire.RETRY
    rows = [[('cphm', '冀B11111'), ('cpys', '1'), ('yxqs', '2026-01-01'), ('yxqz', '2026-12-31'),
             ('bz', '应急保障车辆')]]
    outcome = wire.parse_soap_whitelist(wire.soap_result('1', '查询成功', rows))
    assert outcome.data == [{'plate': '冀B11111', 'plate_color': '1', 'valid_from': '2026-01-01',
                             'valid_to': '2026-12-31', 'note': '应急保障车辆'}]
    assert outcome.message_en == 'got 1 whitelist entries'


# ---- secrets ----------------------------------------------------------------------------

def test_mask_structures():
    data = {'username': 'demo', 'password': 'hunter22', 'Client_secret': 'abc123',
            'headers': {'Authorization': 'Bearer tok-123456', 'Content-Type': 'x'},
            'access_token': 'tok-123456', 'value': [{'jkxlh': 'k' * 32, 'throughId': 'T1'}],
            'refresh_token': '', 'apiKey': 'zzzz9'}
    masked = wire.mask(data)
    assert masked == {'username': 'demo', 'password': '***', 'Client_secret': '***',
                      'headers': {'Authorization': 'Bearer ***', 'Content-Type': 'x'},
                      'access_token': '***', 'value': [{'jkxlh': '***', 'throughId': 'T1'}],
                      'refresh_token': '', 'apiKey': '***'}
    assert data['password'] == 'hunter22'           # a copy, the original is kept


@pytest.mark.parametrize('text', [
    'username=demo&password=hunter22&grant=x',
    '{"organ": "1", "access_token": "hunter22", "value": {}}',
    '<soap:Body><ns0:dealCommand><qybh>1</qybh><jkxlh>hunter22</jkxlh></ns0:dealCommand>',
    'Authorization: Bearer hunter22',
    'Authorization: hunter22',
    'GET /x?access_token=hunter22 HTTP/1.1',
    b'{"password":"hunter22"}'])
def test_mask_text(text):
    masked = wire.mask(text)
    assert 'hunter22' not in masked and '***' in masked


def test_mask_known_secrets_anywhere_and_dump():
    text = 'error near s3cr3t-Value in "free text" and tok-xyz'
    assert wire.mask(text, ['s3cr3t-Value', 'tok-xyz']) == 'error near *** in "free text" and ***'
    assert wire.mask('abc', ['ab']) == 'abc'            # too short to be a secret: kept
    long_b64 = base64.b64encode(JPEG).decode()
    dumped = wire.dump({'ctzp': long_b64, 'img': 'data:image/jpeg;base64,' + long_b64,
                        'note': '车牌 冀B12345, ' * 25, 'password': 'p4ssw0rd'})
    parsed = json.loads(dumped)
    assert parsed['ctzp'].startswith('<base64 %d chars sha256=' % len(long_b64))
    assert parsed['img'].startswith('<base64 ')
    assert parsed['note'].endswith('...(+44 chars)') and parsed['password'] == '***'
    assert parsed['note'].startswith('车牌 冀B12345, 车牌')
    # a secret across the cut is masked first, so not even its first characters remain
    straddling = {'note': '车' * 250 + 'SeCrEt-Value-123' + '车' * 50}
    assert 'SeCrEt' not in wire.dump(straddling, secrets=['SeCrEt-Value-123'])
