"""The gate box as a real process between simulated cameras and the real ERP.

Each test starts bin/odoo --load=web,hw_proxy,env_gate_hw (no database; PostgreSQL
pointed at a closed port) on its own port and data directory, forwarding to a real Odoo
on the test database. Cameras are the AlarmInfoPlate simulator over real HTTP with real
JPEG snapshots; results are read back from the ERP over XML-RPC.
"""
import base64
import datetime
import io
import json
import os
import sys
import threading
import time
import uuid

import pytest
import requests

from conftest import ROOT, free_port, start_erp, stop_process

for _path in (os.path.join(ROOT, 'addons', 'env_gate_ledger'),
              os.path.join(ROOT, 'addons', 'env_gate_hw'),
              os.path.join(ROOT, 'tests', 'simulators')):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import cameras_sim  # noqa: E402
from gatebox import cameras  # noqa: E402


def run_tag():
    return uuid.uuid4().hex[:8]


def plate_for(number, letter='F'):
    """A valid ordinary plate, distinct per number < 100,000 (province 琼: the demo plant
    has no Hainan trucks)."""
    return '琼%s%05d' % (letter, number % 100000)


def event_id(body):
    """The event id the box gives the read in `body` (cameras.event_id_for)."""
    return cameras.event_id_for(cameras.parse_alarminfoplate(body))


def push(box, lane='E-IN', **fields):
    status, reply, body = cameras_sim.post_alarminfoplate(box.camera_url(lane), timeout=30,
                                                          **fields)
    return status, reply, body


def led_texts(reply):
    return [base64.b64decode(item['data']).decode('gbk')
            for item in reply['Response_AlarmInfoPlate']['serialData']]


def wait_for(predicate, timeout=60, interval=0.3, what='condition'):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail('%s not met within %d s' % (what, timeout))


def erp_events(rpc, event_ids, fields=('sender_event_id',)):
    return rpc('env.gate.event', 'search_read', [('sender_event_id', 'in', list(event_ids))],
               fields=list(fields))


def sync_supported(server):
    reply = requests.get(server.url + '/env_gate/api/v1/sync', params={'since': 0},
                         headers={'Authorization': 'Bearer demo-token-e-in'}, timeout=30)
    return reply.status_code == 200


def models_exist(rpc, *names):
    return rpc('ir.model', 'search_count', [('model', 'in', list(names))]) == len(names)


# ---------------------------------------------------------------------------------------
# Camera -> box -> ERP
# ---------------------------------------------------------------------------------------

def test_camera_read_reaches_the_erp_as_a_passage_with_its_picture(odoo_server, gate_box_factory):
    box = gate_box_factory(odoo_server.url, name='passage')
    rpc = odoo_server.rpc()
    tag = run_tag()
    plate = plate_for(int(tag, 16), 'G')
    jpeg = cameras_sim.sample_jpeg(96, 64, (10, 120, 40))
    status, reply, body = push(box, plate=plate, serialno='sys-%s' % tag, plateid=1,
                               image=jpeg, confidence=97)
    assert status == 200
    answer = reply['Response_AlarmInfoPlate']
    assert answer['content'] == 'retransfer_stop'
    assert led_texts(reply)[0] == plate

    sent = event_id(body)
    [event] = wait_for(lambda: erp_events(odoo_server.rpc(), [sent], (
        'sender_event_id', 'plate_raw', 'passage_id', 'event_type', 'payload')),
        what='the event in the ERP')
    assert event['plate_raw'] == plate and event['event_type'] == 'plate'
    payload = json.loads(event['payload'])
    assert payload['lane'] == 'E-IN' and payload['extra']['decision']['action'] in (
        'pass', 'hold')
    [passage] = rpc('env.gate.passage', 'read', [event['passage_id'][0]],
                    fields=['plate_key', 'direction', 'picture_front', 'lane_id', 'decision'])
    assert passage['plate_key'] == plate and passage['direction'] == '1'
    assert base64.b64decode(passage['picture_front']) == jpeg
    status = box.wait_until(lambda s: s['outbox']['pending'] == 0)
    assert status['forwarder']['totals']['accepted'] >= 1
    assert status['lanes'][0]['camera']['state'] == 'online'
    # the lane in the ERP shows the camera online, heard from at the read (status report)
    heard = status['lanes'][0]['camera']['last_heartbeat'][:19].replace('T', ' ')
    [lane] = wait_for(lambda: (lambda rows: rows[0]['camera_state'] == 'online' and
                               (rows[0]['last_heartbeat'] or '') >= heard and rows)(rpc(
        'env.gate.lane', 'search_read', [('code', '=', 'E-IN')],
        fields=['camera_state', 'last_heartbeat'])), timeout=40,
        what='the camera state in the ERP lane')
    assert lane['camera_state'] == 'online'


def test_malformed_and_unknown_pushes_are_quarantined_and_the_box_keeps_serving(
        odoo_server, gate_box_factory):
    box = gate_box_factory(odoo_server.url, name='quarantine')
    bad = requests.post(box.url + '/env_gate_hw/camera/alarminfoplate?lane=E-IN',
                        data=b'{"AlarmInfoPlate": {"result": ', timeout=10,
                        headers={'Content-Type': 'application/json'})
    assert bad.status_code == 400
    assert bad.json()['error'] == 'payload.bad_json'
    assert bad.json()['message'] and bad.json()['message_zh']
    unknown = requests.post(box.url + '/env_gate_hw/camera/alarminfoplate',
                            data=cameras_sim.alarminfoplate_body(serialno='nobody-knows'),
                            timeout=10, headers={'Content-Type': 'application/json'})
    assert unknown.status_code == 404 and unknown.json()['error'] == 'lane.unknown_camera'
    hik = requests.post(box.url + '/env_gate_hw/camera/hikvision?lane=E-OUT', data=b'<x/>',
                        headers={'Content-Type': 'multipart/form-data; boundary=zz'}, timeout=10)
    assert hik.status_code == 400 and hik.json()['error'] == 'payload.truncated'
    kept = sorted(os.listdir(os.path.join(box.data_dir, 'quarantine')))
    sidecars = [json.load(open(os.path.join(box.data_dir, 'quarantine', name), encoding='utf-8'))
                for name in kept if name.endswith('.json')]
    assert sorted(s['code'] for s in sidecars) == ['lane.unknown_camera', 'payload.bad_json',
                                                  'payload.truncated']
    assert len([name for name in kept if name.endswith('.bin')]) == 3
    status, reply, _body = push(box, plate=plate_for(1, 'H'), serialno='sys-%s' % run_tag())
    assert status == 200
    page = requests.get(box.url + '/env_gate_hw/status', timeout=10)
    assert page.status_code == 200 and '环保门禁网关状态' in page.text
    assert 'demo-token' not in page.text and 'demo-token' not in json.dumps(box.status())
    assert box.status()['quarantine']['count'] == 3
    # the drivers are registered the hw_proxy way (its JSON-RPC status route)
    drivers = requests.post(box.url + '/hw_proxy/status_json', timeout=10, json={
        'jsonrpc': '2.0', 'method': 'call', 'params': {}}).json()['result']
    assert drivers['env_gate_hw.camera.E-IN']['status'] == 'connected'
    assert {'env_gate_hw.forwarder', 'env_gate_hw.syncer', 'env_gate_hw.barrier.N-OUT'} <= \
        set(drivers)


def test_a_configuration_error_is_reported_not_guessed(odoo_server, gate_box_factory):
    box = gate_box_factory(odoo_server.url, name='bad-config', start=False,
                           tokens={'E-OUT': 'two words'})
    box.start(ready_status=503)
    reply = requests.get(box.url + '/env_gate_hw/status.json', timeout=10).json()
    assert reply['error'] == 'box.not_running'
    assert 'E-OUT' in reply['message'] and 'token' in reply['message']
    assert 'token' in reply['message_zh']
    assert 'two words' not in json.dumps(reply, ensure_ascii=False)
    camera = requests.post(box.camera_url(), data=cameras_sim.alarminfoplate_body(), timeout=10)
    assert camera.status_code == 503        # never an "ok" without the box running


def test_hikvision_push_and_manual_lift_from_the_erp_are_recorded(odoo_server, gate_box_factory):
    box = gate_box_factory(odoo_server.url, name='lift')
    tag = run_tag()
    plate = plate_for(int(tag, 16) + 7, 'J')
    status, answer, _ctype, _body = cameras_sim.post_hikvision(
        box.url + '/env_gate_hw/camera/hikvision?lane=E-OUT', plate=plate,
        mac='44:19:b6:%s:%s:%s' % (tag[:2], tag[2:4], tag[4:6]), active_post_count=None)
    assert status == 200 and json.loads(answer.decode('utf-8'))['lane'] == 'E-OUT'

    refused = requests.post(box.url + '/env_gate_hw/barrier/open',
                            json={'lane': 'E-OUT', 'reason': 'x', 'user': 'y'},
                            headers={'Authorization': 'Bearer demo-token-e-in'}, timeout=10)
    assert refused.status_code == 401
    lift = requests.post(box.url + '/env_gate_hw/barrier/open',
                         json={'lane': 'E-OUT', 'reason': '车牌污损，人工核对放行 %s' % tag,
                               'user': '张伟'},
                         headers={'Authorization': 'Bearer demo-token-e-out'}, timeout=10)
    assert lift.status_code == 200, lift.text
    assert lift.json()['plate'] == plate
    rpc = odoo_server.rpc()
    [event] = wait_for(lambda: erp_events(rpc, [lift.json()['event_id']], (
        'event_type', 'plate_raw', 'payload')), what='the manual lift in the ERP')
    payload = json.loads(event['payload'])
    assert event['event_type'] == 'manual_lift' and event['plate_raw'] == plate
    assert payload['reason'].endswith(tag) and payload['extra']['user'] == '张伟'
    assert payload['extra']['source'] == 'erp'


def test_the_erp_lift_wizard_opens_the_barrier_through_the_box_once(odoo_server,
                                                                     gate_box_factory):
    """The guard's lift from the ERP lane form: recorded by the ERP, sent to the box, which
    records the same event id and drives the barrier; its copy arrives as a duplicate."""
    rpc = odoo_server.rpc()
    if not models_exist(rpc, 'env.gate.lane.lift'):
        pytest.skip('the ERP has no lift wizard (env.gate.lane.lift) yet')
    box = gate_box_factory(odoo_server.url, name='wizard')
    [lane] = rpc('env.gate.lane', 'search_read', [('code', '=', 'N-OUT')],
                 fields=['box_url'])
    rpc('env.gate.lane', 'write', [lane['id']], {'box_url': box.url,
                                                 'box_token': 'demo-token-n-out'})
    try:
        tag = run_tag()
        wizard = rpc('env.gate.lane.lift', 'create', {
            'lane_id': lane['id'], 'reason': 'system test %s: 车辆故障人工抬杆' % tag})
        rpc('env.gate.lane.lift', 'action_lift', [wizard])
        [result] = rpc('env.gate.lane.lift', 'read', [wizard], fields=['box_ok', 'message'])
        assert result['box_ok'], result['message']
        status = box.wait_until(lambda s: s['outbox']['pending'] == 0 and
                                s['forwarder']['totals']['duplicate'] >= 1)
        barrier = [item for item in status['lanes'] if item['code'] == 'N-OUT'][0]['barrier']
        assert barrier['pending'] is True           # the camera's next push opens it
        lifts = rpc('env.gate.event', 'search_read', [('event_type', '=', 'manual_lift'),
                                                      ('payload', 'ilike', tag)],
                    fields=['sender_event_id'])
        assert len(lifts) == 1
        status, reply, _body = push(box, lane='N-OUT', plate=plate_for(int(tag, 16), 'R'),
                                    serialno='sys-%s' % tag, plateid=1)
        assert reply['Response_AlarmInfoPlate']['info'] == 'ok'
    finally:
        rpc('env.gate.lane', 'write', [lane['id']], {'box_url': lane['box_url'] or False,
                                                     'box_token': False})


def test_qr_scan_and_a_lift_from_the_box_page_reach_the_erp(odoo_server, gate_box_factory):
    qrcode = pytest.importorskip('qrcode')
    box = gate_box_factory(odoo_server.url, name='qr')
    tag = run_tag()
    plate = plate_for(int(tag, 16) + 3, 'Q')
    assert push(box, lane='N-IN', plate=plate, serialno='sys-%s' % tag, plateid=1)[0] == 200
    text = '车辆识别代号：LFV2A21K5G3123456\n车辆型号：CA4250P66K24T1A1E5\n排放阶段：国六'
    image = io.BytesIO()
    qrcode.make(text.encode('gbk')).save(image)
    reply = requests.post(box.url + '/env_gate_hw/qr?lane=N-IN', timeout=30,
                          files={'image': ('list.png', image.getvalue(), 'image/png')})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body['plate'] == plate
    parsed = body['codes'][0]['parsed']
    assert parsed['vin'] == 'LFV2A21K5G3123456' and parsed['emission_stage'] == '6'
    assert body['codes'][0]['encoding'] == 'gbk'
    no_code = requests.post(box.url + '/env_gate_hw/qr?lane=N-IN', timeout=30,
                            data=cameras_sim.sample_jpeg(),
                            headers={'Content-Type': 'image/jpeg'})
    assert no_code.status_code == 422 and no_code.json()['error'] == 'qr.not_found'

    page_lift = requests.post(box.url + '/env_gate_hw/barrier/open', timeout=10, data={
        'lane': 'N-IN', 'user': '张伟', 'reason': '随车清单已核对 %s' % tag,
        'password': 'box-operator'})
    assert page_lift.status_code == 200 and '抬杆已记录' in page_lift.text
    wrong = requests.post(box.url + '/env_gate_hw/barrier/open', timeout=10, data={
        'lane': 'N-IN', 'user': 'x', 'reason': 'y', 'password': 'guess'})
    assert wrong.status_code == 401

    rpc = odoo_server.rpc()
    found = wait_for(lambda: (lambda rows: len(rows) == 2 and rows)(rpc(
        'env.gate.event', 'search_read', [('plate_key', '=', plate),
                                          ('event_type', 'in', ['qr', 'manual_lift'])],
        fields=['event_type', 'payload'])), what='the scan and the lift in the ERP')
    by_type = {event['event_type']: json.loads(event['payload']) for event in found}
    assert by_type['qr']['extra']['codes'][0]['parsed']['model'] == 'CA4250P66K24T1A1E5'
    assert by_type['manual_lift']['extra']['source'] == 'box'
    assert by_type['manual_lift']['reason'].endswith(tag)


# ---------------------------------------------------------------------------------------
# Decisions from the ERP's registers (needs env.gate.strategy / env.gate.blacklist and
# GET /env_gate/api/v1/sync on the ERP side)
# ---------------------------------------------------------------------------------------

def _need_sync(odoo_server):
    if not sync_supported(odoo_server):
        pytest.skip('the ERP has no GET /env_gate/api/v1/sync yet (env_gate_ledger)')


def _wait_synced(box, rpc_change_time, **counts):
    """Wait until the box's cache was refreshed after `rpc_change_time` and holds at
    least `counts` rows."""
    def fresh(status):
        cache = status['cache']
        return cache['state'] == 'ok' and cache['last_success'] and \
            cache['last_success'] > rpc_change_time and \
            all(cache[name] >= number for name, number in counts.items())
    return box.wait_until(fresh, timeout=30)


def _utc_now_text():
    return datetime.datetime.utcnow().isoformat()


def test_registered_china_vi_truck_gets_the_barrier_opened(odoo_server, gate_box_factory):
    _need_sync(odoo_server)
    rpc = odoo_server.rpc()
    tag = run_tag()
    plate = plate_for(int(tag, 16) + 11, 'K')
    rpc('env.gate.vehicle', 'create', {'plate': plate, 'plate_color': '2', 'emission_stage': '6',
                                       'fuel_type': 'B', 'vehicle_type': 'Q11'})
    changed = _utc_now_text()
    box = gate_box_factory(odoo_server.url, name='vi-truck')
    _wait_synced(box, changed, vehicles=1)
    jpeg = cameras_sim.sample_jpeg(80, 60, (200, 180, 20))
    status, reply, body = push(box, plate=plate, serialno='sys-%s' % tag, plateid=2,
                               image=jpeg, confidence=98)
    assert status == 200
    assert reply['Response_AlarmInfoPlate']['info'] == 'ok'
    assert led_texts(reply)[2] == '放行'
    [event] = wait_for(lambda: erp_events(rpc, [event_id(body)], ('passage_id',)),
                       what='the event in the ERP')
    [passage] = rpc('env.gate.passage', 'read', [event['passage_id'][0]],
                    fields=['decision', 'picture_front', 'emission_stage'])
    assert passage['decision'] == '1' and passage['emission_stage'] == '6'
    assert base64.b64decode(passage['picture_front']) == jpeg


def test_blacklisted_and_emergency_banned_trucks_are_refused_with_the_reason(
        odoo_server, gate_box_factory):
    rpc = odoo_server.rpc()
    if not models_exist(rpc, 'env.gate.blacklist', 'env.gate.strategy'):
        pytest.skip('env.gate.blacklist / env.gate.strategy are not in the ERP yet')
    _need_sync(odoo_server)
    tag = run_tag()
    listed = plate_for(int(tag, 16) + 21, 'L')
    banned = plate_for(int(tag, 16) + 22, 'M')
    rpc('env.gate.vehicle', 'create', {'plate': listed, 'plate_color': '2',
                                       'emission_stage': '6', 'fuel_type': 'B',
                                       'vehicle_type': 'Q11'})
    rpc('env.gate.vehicle', 'create', {'plate': banned, 'plate_color': '2',
                                       'emission_stage': '4', 'fuel_type': 'B',
                                       'vehicle_type': 'H11'})
    now = datetime.datetime.utcnow()
    stamp = lambda when: when.strftime('%Y-%m-%d %H:%M:%S')    # noqa: E731
    rpc('env.gate.blacklist', 'create', {
        'plate': listed, 'source': '市生态环境局 %s' % tag, 'reason': '超标排放',
        'valid_from': stamp(now - datetime.timedelta(days=1)), 'valid_to': False})
    strategy = rpc('env.gate.strategy', 'create', {
        'name': '橙色预警 system test %s' % tag, 'level': 'orange',
        'date_start': stamp(now - datetime.timedelta(hours=1)),
        'date_end': stamp(now + datetime.timedelta(minutes=20)), 'state': 'active'})
    try:
        changed = _utc_now_text()
        box = gate_box_factory(odoo_server.url, name='refusals')
        _wait_synced(box, changed, blacklist=1, strategies=1)
        results = {}
        for number, (plate, reason, led) in enumerate((
                (listed, 'blacklisted', '黑名单禁止通行'),
                (banned, 'emergency_orange', '橙色预警禁止通行'))):
            status, reply, body = push(box, plate=plate, serialno='sys-%s' % tag,
                                       plateid=10 + number, confidence=97)
            assert status == 200
            assert reply['Response_AlarmInfoPlate']['info'] == 'no'
            assert led_texts(reply)[2] == led
            results[event_id(body)] = reason
        events = wait_for(lambda: len(erp_events(rpc, results)) == 2 and erp_events(
            rpc, results, ('sender_event_id', 'passage_id')), what='both refusals in the ERP')
        for event in events:
            [passage] = rpc('env.gate.passage', 'read', [event['passage_id'][0]],
                            fields=['decision', 'reason'])
            assert passage['decision'] == '2'
            assert passage['reason'].startswith(results[event['sender_event_id']])
    finally:
        rpc('env.gate.strategy', 'write', [strategy], {
            'date_end': stamp(datetime.datetime.utcnow())})


# ---------------------------------------------------------------------------------------
# Never losing an event
# ---------------------------------------------------------------------------------------

def test_erp_down_while_500_reads_arrive_then_all_present_exactly_once(
        odoo_server, gate_box_factory):
    """A second ERP process on the test database, stopped while the camera pushes 500
    reads and started again: the box answers every read, keeps them, and delivers each
    exactly once when the ERP is back."""
    port = free_port()
    log_path = os.path.join(ROOT, 'artifacts', 'odoo-system-server-2.log')
    erp = start_erp(odoo_server.db, port, log_path, ready='api')
    box = gate_box_factory(erp.url, name='erp-down')
    try:
        stop_process(erp.process)
        tag = run_tag()
        sent = []
        for number in range(500):
            status, reply, body = push(box, plate=plate_for(number, 'N'),
                                       serialno='sys-%s' % tag, plateid=number + 1, image=b'',
                                       confidence=96)
            assert status == 200 and reply['Response_AlarmInfoPlate']['content'] == \
                'retransfer_stop'
            sent.append(event_id(body))
        assert len(set(sent)) == 500
        status = box.status()
        assert status['outbox']['pending'] == 500
        assert status['forwarder']['state'] == 'backing_off'
        erp = start_erp(odoo_server.db, port, log_path, ready='api')
        box.wait_until(lambda s: s['outbox']['pending'] == 0, timeout=120)
        found = erp_events(odoo_server.rpc(), sent)
        counts = {}
        for event in found:
            counts[event['sender_event_id']] = counts.get(event['sender_event_id'], 0) + 1
        assert len(found) == 500 and set(counts) == set(sent)
        assert set(counts.values()) == {1}
        assert box.status()['outbox']['dead'] == 0
    finally:
        stop_process(erp.process)
        erp.log.close()


def test_box_killed_mid_burst_loses_no_acknowledged_read(odoo_server, gate_box_factory):
    """SIGKILL while a camera pushes as fast as it can and the forwarder is sending;
    restarted on the same data directory, the box delivers every read the camera got an
    answer for, each exactly once."""
    box = gate_box_factory(odoo_server.url, name='sigkill')
    tag = run_tag()
    replied, tried = [], []
    lock = threading.Lock()
    stop = threading.Event()

    def camera():
        number = 0
        while not stop.is_set():
            number += 1
            body = cameras_sim.alarminfoplate_body(plate=plate_for(number, 'P'),
                                                   serialno='sys-%s' % tag, plateid=number,
                                                   confidence=96)
            with lock:
                tried.append(event_id(body))
            try:
                answer = requests.post(box.camera_url(), data=body, timeout=10,
                                       headers={'Content-Type': 'application/json'})
            except requests.RequestException:
                break           # the box is gone
            if answer.status_code == 200 and \
                    answer.json()['Response_AlarmInfoPlate']['content'] == 'retransfer_stop':
                with lock:
                    replied.append(event_id(body))

    thread = threading.Thread(target=camera)
    thread.start()
    wait_for(lambda: len(replied) >= 150, timeout=60, interval=0.05, what='150 answered reads')
    box.kill()
    stop.set()
    thread.join(30)
    assert not thread.is_alive()
    acknowledged = list(replied)
    box.start()
    box.wait_until(lambda s: s['outbox']['pending'] == 0, timeout=120)
    rpc = odoo_server.rpc()
    found = erp_events(rpc, tried)
    counts = {}
    for event in found:
        counts[event['sender_event_id']] = counts.get(event['sender_event_id'], 0) + 1
    assert set(acknowledged) <= set(counts), 'acknowledged reads missing from the ERP'
    assert set(counts.values()) == {1}, 'a read stored twice'
    assert box.status()['outbox']['dead'] == 0
