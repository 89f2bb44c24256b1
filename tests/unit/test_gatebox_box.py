"""gatebox.box: the pipeline from a camera push to the outbox, without Odoo.

Real SQLite outbox and cache files, real camera bodies (the simulators' builders), a real
HTTP relay board and a real pseudo-terminal for the serial drivers. The ERP is not
needed here (the forwarder is not started); the system tests run the whole thing.
"""
import base64
import io
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gatebox import box as box_module
from gatebox import cameras, config, status_page
from gatebox import weighbridge as wb
from gatebox.box import GateBox
from gatebox.quarantine import Quarantine

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'simulators'))
import cameras_sim  # noqa: E402
import modbus_sim  # noqa: E402
import weighbridge_sim  # noqa: E402
from support import pty_pair, wait_until  # noqa: E402

VI_TRUCK = '冀B60001'
IV_TRUCK = '冀B40001'
LISTED = '冀B66666'


def closed_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def make_box(tmp_path, **lanes):
    lanes = lanes or {
        'E-IN': {'token': 'tok-e-in', 'direction': 'in', 'camera': 'alarminfoplate',
                 'camera_id': 'cam-e-in', 'heartbeat_timeout': '30'},
        'E-OUT': {'token': 'tok-e-out', 'direction': 'out', 'camera': 'hikvision',
                  'camera_id': '44:19:b6:6d:24:85'},
    }
    sections = {'env_gate_hw': {'erp_url': 'http://127.0.0.1:%d' % closed_port(),
                                'data_dir': str(tmp_path / 'box'), 'dedup_window': '10',
                                'operator_password': 'op-pass', 'box_name': 'test box'}}
    for code, values in lanes.items():
        sections['env_gate_hw lane ' + code] = values
    gate_box = GateBox(config.parse_sections(sections))
    gate_box.cache.apply({
        'version': 3, 'full': True,
        'vehicles': [
            {'id': 1, 'plate_key': VI_TRUCK, 'stage': '6', 'fuel': 'B', 'category': 'transport',
             'vehicle_type': 'Q11'},
            {'id': 2, 'plate_key': IV_TRUCK, 'stage': '4', 'fuel': 'B', 'category': 'transport',
             'vehicle_type': 'H11'},
            {'id': 3, 'plate_key': LISTED, 'stage': '6', 'fuel': 'B', 'category': 'transport',
             'vehicle_type': 'Q11'}],
        'blacklist': [{'id': 1, 'plate_key': LISTED, 'source': '市生态环境局',
                       'reason': '超标排放'}],
        'strategies': [{'id': 7, 'name': '橙色预警', 'level': 'orange', 'rules': None,
                        'date_start': '2020-01-01 00:00:00', 'date_end': None}],
        'lanes': []})
    return gate_box


@pytest.fixture
def gate_box(tmp_path):
    gate_box = make_box(tmp_path)
    yield gate_box
    gate_box.stop(timeout=2)


def aip(gate_box, lane='E-IN', **fields):
    fields.setdefault('serialno', 'cam-e-in')
    body = cameras_sim.alarminfoplate_body(**fields)
    return gate_box.handle_alarminfoplate(body, lane), body


def queued(gate_box):
    return [json.loads(row.payload) for row in gate_box.outbox.peek(500)]


def test_registered_vi_truck_passes_and_is_queued_before_the_answer(gate_box):
    reply, body = aip(gate_box, plate=VI_TRUCK, plateid=11)
    assert reply.status == 200
    answer = reply.body['Response_AlarmInfoPlate']
    assert answer['info'] == 'ok' and answer['content'] == 'retransfer_stop'
    led = [base64.b64decode(item['data']).decode('gbk') for item in answer['serialData']]
    assert led[0] == VI_TRUCK and '国VI' in led[1] and led[2] == '放行'
    [event] = queued(gate_box)
    read = cameras.parse_alarminfoplate(body)
    assert event['event_id'] == cameras.event_id_for(read)
    assert event['type'] == 'plate' and event['lane'] == 'E-IN' and event['direction'] == 'in'
    assert event['decision'] == 'pass' and 'reason' not in event
    assert event['pictures']['front'] and event['extra']['decision']['cache_version'] == 3
    assert gate_box.lanes['E-IN'].barrier.status()['opens'] == 1


@pytest.mark.parametrize('plate,reason,led', [
    (LISTED, 'blacklisted', '黑名单禁止通行'), (IV_TRUCK, 'emergency_orange', '橙色预警禁止通行')])
def test_refusals_carry_their_reason(gate_box, plate, reason, led):
    reply, _body = aip(gate_box, plate=plate, plateid=12)
    answer = reply.body['Response_AlarmInfoPlate']
    assert answer['info'] == 'no'
    assert base64.b64decode(answer['serialData'][2]['data']).decode('gbk') == led
    [event] = queued(gate_box)
    assert event['decision'] == 'refuse' and event['reason'].startswith(reason + ':')


def test_held_vehicle_is_recorded_as_not_passed(gate_box):
    reply, _body = aip(gate_box, plate='冀B99999', plateid=13)
    assert reply.body['Response_AlarmInfoPlate']['info'] == 'no'
    [event] = queued(gate_box)
    assert event['decision'] == 'refuse'
    assert event['reason'].startswith('unregistered (hold):') and '等待人工确认' in event['reason']
    reply, _body = aip(gate_box, plate='', plateid=14, image=b'')
    [_first, unreadable] = queued(gate_box)
    assert unreadable['decision'] == 'unrecognised' and unreadable['unreadable'] is True


def test_retransmission_and_repeat_reads_are_not_queued_twice(gate_box):
    first, body = aip(gate_box, plate=VI_TRUCK, plateid=20, when=None)
    again = gate_box.handle_alarminfoplate(body, 'E-IN')       # the camera resends
    assert again.body == first.body
    # the camera triggers again on the same truck a moment later: a new record
    repeat, _ = aip(gate_box, plate=VI_TRUCK, plateid=21)
    assert repeat.body['Response_AlarmInfoPlate']['info'] == 'ok'
    assert len(queued(gate_box)) == 1
    assert gate_box.lanes['E-IN'].counts['repeats'] == 2
    # another plate is a new vehicle
    aip(gate_box, plate=IV_TRUCK, plateid=22)
    assert len(queued(gate_box)) == 2


def test_repeat_with_another_outcome_is_queued(gate_box, tmp_path):
    aip(gate_box, plate=VI_TRUCK, plateid=30, confidence=50)     # low confidence: held
    aip(gate_box, plate=VI_TRUCK, plateid=31, confidence=97)     # clear read: passes
    assert [e['decision'] for e in queued(gate_box)] == ['unrecognised', 'pass']


def test_lane_found_by_camera_id_and_unknown_camera_quarantined(gate_box):
    reply, _body = aip(gate_box, lane=None, plate=VI_TRUCK, plateid=40)
    assert reply.status == 200 and queued(gate_box)[0]['lane'] == 'E-IN'
    reply, body = aip(gate_box, lane=None, serialno='stranger', plate=VI_TRUCK, plateid=41)
    assert reply.status == 404 and reply.body['error'] == 'lane.unknown_camera'
    assert reply.body['message_zh'] and reply.body['message']
    assert reply.body['Response_AlarmInfoPlate']['content'] == 'retransfer_stop'
    kept = gate_box.quarantine.recent(1)[0]
    assert kept['code'] == 'lane.unknown_camera'
    with open(os.path.join(gate_box.quarantine.path, kept['file']), 'rb') as handle:
        assert handle.read() == body
    assert len(queued(gate_box)) == 1


@pytest.mark.parametrize('body,code', [
    (b'not json', 'payload.bad_json'), (b'{"AlarmInfoPlate": {}}', 'payload.missing_field'),
    (b'', 'payload.bad_json')])
def test_malformed_pushes_are_quarantined_with_their_reason(gate_box, body, code):
    reply = gate_box.handle_alarminfoplate(body, 'E-IN', '10.1.1.1')
    assert reply.status == 400 and reply.body['error'] == code
    kept = gate_box.quarantine.recent(1)[0]
    assert kept['code'] == code and kept['remote_addr'] == '10.1.1.1'
    assert kept['message_en'] and kept['message_zh']
    assert queued(gate_box) == []
    # and the next good read is served as usual
    assert aip(gate_box, plate=VI_TRUCK, plateid=50)[0].status == 200


def test_hikvision_read_heartbeat_and_empty_elements(gate_box):
    ctype, body = cameras_sim.hikvision_body(plate=VI_TRUCK, active_post_count=None,
                                             direction='reverse')
    reply = gate_box.handle_hikvision(ctype, body, None, '192.168.1.64')
    assert reply.status == 200 and reply.body['lane'] == 'E-OUT'
    [event] = queued(gate_box)
    assert event['direction'] == 'out' and event['decision'] == 'pass'
    assert set(event['pictures']) == {'front', 'plate'}
    ctype, body = cameras_sim.hikvision_body(heartbeat=True)
    before = gate_box.lanes['E-OUT'].camera_seen
    reply = gate_box.handle_hikvision(ctype, body, 'E-OUT')
    assert reply.body['heartbeat'] is True and gate_box.lanes['E-OUT'].camera_seen >= before
    assert len(queued(gate_box)) == 1
    reply = gate_box.handle_hikvision('text/plain', b'hello', 'E-OUT')
    assert reply.status == 400 and reply.body['error'] == 'payload.content_type'


def test_camera_offline_after_silence(gate_box):
    lane = gate_box.lanes['E-IN']
    now = time.time()
    gate_box.check_cameras(now)
    assert lane.camera_state == 'unknown'
    gate_box.check_cameras(now + 31)
    assert lane.camera_state == 'offline'
    aip(gate_box, plate=VI_TRUCK, plateid=60)
    gate_box.check_cameras()
    assert lane.camera_state == 'online'
    payload = gate_box.status_payload(lane)
    assert payload['cameras'][0]['state'] == 'online' and payload['cameras'][0]['lane'] == 'E-IN'
    assert payload['outbox']['pending'] == 1
    barrier = lane.barrier.status()
    assert payload['barriers'] == [{'lane': 'E-IN', 'driver': barrier['driver'],
                                    'state': barrier['status'], 'last_error': None}]
    gate_box.check_cameras(time.time() + 31)
    assert gate_box.status_payload(lane)['cameras'][0]['state'] == 'offline'
    assert 'tok-e-in' not in json.dumps(gate_box.status_payload(lane))


def test_manual_lift_needs_the_lane_token_or_operator_password(gate_box):
    assert gate_box.authorize_lift('E-IN', bearer='tok-e-out').status == 401
    assert gate_box.authorize_lift('E-IN', password='wrong').status == 401
    assert gate_box.authorize_lift('E-IN', bearer='tok-e-in') is None
    assert gate_box.authorize_lift('E-IN', password='op-pass') is None
    assert gate_box.manual_lift('E-IN', '', '张伟').status == 400


def test_manual_lift_is_recorded_and_opens_through_the_next_camera_reply(gate_box):
    aip(gate_box, plate='冀B99999', plateid=70)               # held: unregistered
    reply = gate_box.manual_lift('E-IN', '随车清单核对无误', '张伟', source='erp',
                                 request_id='wizard-1')
    assert reply.status == 200 and reply.body['barrier']['state'] == 'pending'
    assert reply.body['plate'] == '冀B99999'
    again = gate_box.manual_lift('E-IN', '随车清单核对无误', '张伟', request_id='wizard-1')
    assert again.body['barrier']['state'] == 'already_done'
    lift = [e for e in queued(gate_box) if e['type'] == 'manual_lift']
    assert len(lift) == 1
    assert lift[0]['decision'] == 'manual' and lift[0]['reason'] == '随车清单核对无误'
    assert lift[0]['extra']['user'] == '张伟' and lift[0]['plate'] == '冀B99999'
    # the camera sees the waiting truck again: this answer opens
    reply, _ = aip(gate_box, plate='冀B99999', plateid=71)
    assert reply.body['Response_AlarmInfoPlate']['info'] == 'ok'
    reply, _ = aip(gate_box, plate='冀B99999', plateid=72)
    assert reply.body['Response_AlarmInfoPlate']['info'] == 'no'


class RelayBoard(object):
    """A network relay board on loopback: counts GETs, can fail the first ones."""

    def __init__(self, fail_first=0):
        self.hits = []
        self.fail_first = fail_first
        board = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                board.hits.append(self.path)
                status = 500 if len(board.hits) <= board.fail_first else 200
                self.send_response(status)
                self.send_header('Content-Length', '2')
                self.end_headers()
                self.wfile.write(b'ok')

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d/relay?ch=1&on=1' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_http_relay_barrier_opens_on_pass_and_retries(tmp_path):
    board = RelayBoard(fail_first=1)
    gate_box = make_box(tmp_path, **{'E-OUT': {
        'token': 't', 'direction': 'out', 'camera': 'hikvision', 'barrier': 'http_relay',
        'barrier_url': board.url, 'barrier_expire': '5'}})
    driver = gate_box.lanes['E-OUT'].barrier
    driver.start()
    try:
        ctype, body = cameras_sim.hikvision_body(plate=VI_TRUCK)
        assert gate_box.handle_hikvision(ctype, body, 'E-OUT').status == 200
        assert wait_until(lambda: driver.status()['opens'] == 1)
        status = driver.status()
        assert status['failures'] == 1 and status['status'] == 'connected'
        assert board.hits == ['/relay?ch=1&on=1'] * 2
    finally:
        gate_box.stop(timeout=2)
        board.close()


def test_modbus_barrier_pulses_its_coil_on_a_manual_lift(tmp_path):
    board = modbus_sim.RelayBoard(unit=1).start()
    gate_box = make_box(tmp_path, **{'W-IN': {
        'token': 't', 'direction': 'in', 'camera': 'hikvision', 'barrier': 'modbus_tcp',
        'barrier_host': '127.0.0.1', 'barrier_tcp_port': str(board.port), 'barrier_coil': '1',
        'barrier_pulse_ms': '20'}})
    driver = gate_box.lanes['W-IN'].barrier
    driver.start()
    try:
        reply = gate_box.manual_lift('W-IN', 'camera cannot read the plate', 'guard1',
                                     source='box')
        assert reply.body['barrier'] == {'state': 'queued', 'driver': 'modbus_tcp'}
        assert wait_until(lambda: driver.status()['opens'] == 1 and
                          driver.status()['relay'] == 'off')
        assert [(a, on) for _, a, on in board.writes] == [(1, True), (1, False)]
        barrier = gate_box.status()['lanes'][0]['barrier']
        assert barrier['driver'] == 'modbus_tcp' and barrier['status'] == 'connected'
        assert barrier['last_reason'] == 'manual: camera cannot read the plate'
    finally:
        gate_box.stop(timeout=2)
        board.stop()


def read_fd(fd, count, timeout=3.0):
    data = b''
    deadline = time.monotonic() + timeout
    while len(data) < count and time.monotonic() < deadline:
        try:
            data += os.read(fd, count - len(data))
        except BlockingIOError:
            time.sleep(0.01)
    return data


def test_serial_barrier_writes_its_command_on_a_manual_lift(tmp_path):
    with pty_pair() as (master, path):
        os.set_blocking(master, False)
        gate_box = make_box(tmp_path, **{'N-OUT': {
            'token': 't', 'direction': 'out', 'barrier': 'serial', 'barrier_port': path,
            'barrier_open': 'A0 01 01 A2'}})
        driver = gate_box.lanes['N-OUT'].barrier
        driver.start()
        try:
            reply = gate_box.manual_lift('N-OUT', 'truck broke down at the gate', 'guard1',
                                         source='box')
            assert reply.body['barrier']['state'] == 'queued'
            assert read_fd(master, 4) == b'\xa0\x01\x01\xa2'
            assert wait_until(lambda: driver.status()['opens'] == 1)
        finally:
            gate_box.stop(timeout=2)


def test_stable_weight_is_tied_to_the_lanes_current_vehicle(tmp_path):
    with pty_pair() as (master, path):
        gate_box = make_box(tmp_path, **{'T-IN': {
            'token': 't', 'direction': 'in', 'camera': 'alarminfoplate', 'scale_url': path,
            'scale_protocol': 'xk3190', 'scale_n': '3', 'scale_min_weight': '0.5'}})
        reply = gate_box.handle_alarminfoplate(
            cameras_sim.alarminfoplate_body(plate=VI_TRUCK, plateid=80), 'T-IN')
        assert reply.status == 200
        lane = gate_box.lanes['T-IN']
        lane.scale = gate_box._make_scale(lane)
        sim = weighbridge_sim.IndicatorSimulator(master, wb.XK3190, weight='38.60',
                                                 interval=0.01)
        sim.start()
        lane.scale.start()
        try:
            assert wait_until(lambda: any(e['type'] == 'weight' for e in queued(gate_box)))
        finally:
            sim.stop()
            gate_box.stop(timeout=2)
    [weight] = [e for e in queued_rows(gate_box) if e['type'] == 'weight']
    assert weight['weight'] == 38.6 and weight['unit'] == 't' and weight['plate'] == VI_TRUCK


def queued_rows(gate_box):
    from gatebox.outbox import Outbox
    with Outbox(gate_box.outbox.path) as outbox:
        return [json.loads(row.payload) for row in outbox.peek(500)]


def qr_png(text):
    qrcode = pytest.importorskip('qrcode')
    out = io.BytesIO()
    qrcode.make(text.encode('utf-8')).save(out)
    return out.getvalue()


def test_qr_scan_becomes_an_event_with_the_parsed_list(gate_box):
    image = qr_png('车辆识别代号:LFWADRJF011002346;排放阶段:国六;车辆型号:CA4250P66K24T1E6')
    aip(gate_box, plate=VI_TRUCK, plateid=90)
    reply = gate_box.handle_qr(image, 'E-IN')
    assert reply.status == 200 and reply.body['plate'] == VI_TRUCK
    parsed = reply.body['codes'][0]['parsed']
    assert parsed['emission_stage'] == '6' and parsed['model'] == 'CA4250P66K24T1E6'
    event = [e for e in queued(gate_box) if e['type'] == 'qr'][0]
    assert event['plate'] == VI_TRUCK and event['pictures']['list']
    assert event['extra']['codes'][0]['encoding'] == 'utf-8'
    assert gate_box.handle_qr(image, 'E-IN').body['repeat'] is True
    reply = gate_box.handle_qr(b'not an image', 'E-IN')
    assert reply.status == 400 and reply.body['error'] == 'qr.bad_image'
    reply = gate_box.handle_qr(image, None)
    assert reply.status == 400      # two lanes: which one?


def test_status_and_page_show_everything_but_tokens(gate_box):
    aip(gate_box, plate=LISTED, plateid=95)
    gate_box.handle_alarminfoplate(b'garbage', 'E-IN')
    status = gate_box.status()
    text = json.dumps(status, ensure_ascii=False)
    assert 'tok-e-in' not in text and 'op-pass' not in text
    lane = status['lanes'][0]
    assert lane['camera']['state'] == 'online' and lane['last_read']['reason'] == 'blacklisted'
    assert status['outbox']['pending'] == 1 and status['quarantine']['count'] == 1
    assert status['cache']['version'] == 3 and status['cache']['vehicles'] == 3
    page = status_page.render(status)
    assert '环保门禁网关状态' in page and 'Gate box status' in page
    assert 'E-IN' in page and '人工抬杆' in page and 'tok-e-in' not in page
    drivers = gate_box.drivers()
    assert {d.get_status()['status'] for d in drivers.values()} <= {
        'connected', 'connecting', 'disconnected', 'error'}
    assert 'env_gate_hw.camera.E-IN' in drivers


def test_every_text_of_the_page_and_replies_has_its_chinese(gate_box):
    """The box's Chinese comes from addons/env_gate_hw/i18n/zh_CN.po: render every part
    of the page (and the controller's own replies) and ask the catalogue for each text."""
    from gatebox import i18n
    aip(gate_box, plate=VI_TRUCK, plateid=96)
    aip(gate_box, plate=LISTED, plateid=97)
    status = gate_box.status()
    lane = status['lanes'][0]
    lane['camera']['stream'] = {'status': 'connecting'}
    lane['last_read'] = dict(lane['last_read'], plate=None, repeat=True, action='hold')
    lane['barrier'] = dict(lane['barrier'], pending=True, held_open=True)
    lane['scale'] = {'status': 'connected', 'port': '/dev/ttyS0', 'last_reading': '20.00',
                     'last_stable': '20.00'}
    status['outbox']['dead_events'] = [{'event_id': 'e1', 'lane': 'E-IN', 'reason': 'x'}]
    i18n.missing.clear()
    page = status_page.render(status)
    for text in ('the gate box is not running', 'internal error in the gate box'):
        i18n.zh(text)
    assert i18n.missing == set()
    assert '待开闸 lift pending' in page and '(未识别 unreadable)' in page
    assert '保持开启 held open' in page
    assert '发件箱 / Outbox' in page and '车道 / Lanes' in page
    i18n.zh('a text nobody translated')
    assert i18n.missing == {'a text nobody translated'}


def test_the_box_reads_po_files_as_gettext_does():
    from babel.messages.pofile import read_po
    from gatebox import i18n
    ledger_po = os.path.join(os.path.dirname(i18n.PO_PATH), '..', '..', 'env_gate_ledger',
                             'i18n', 'zh_CN.po')
    for path in (i18n.PO_PATH, ledger_po):      # the ledger's has multi-line entries
        with open(path, 'rb') as handle:
            expected = {m.id: m.string for m in read_po(handle) if m.id}
        assert i18n.read_po(path) == expected


def test_outbox_failure_is_never_acknowledged(gate_box):
    gate_box.outbox.close()
    reply, _ = aip(gate_box, plate=VI_TRUCK, plateid=99)
    assert reply.status == 503
    assert reply.body['Response_AlarmInfoPlate']['info'] == 'no'
    assert 'content' not in reply.body['Response_AlarmInfoPlate']   # the camera resends


def test_quarantine_prunes_the_oldest(tmp_path):
    store = Quarantine(str(tmp_path / 'q'), max_files=3)
    for number in range(5):
        store.keep('hikvision', b'body %d' % number, 'payload.bad_xml', 'bad', '坏')
    kept = store.recent(10)
    assert store.count() == 3 and len(kept) == 3
    assert len(os.listdir(str(tmp_path / 'q'))) == 6
    bodies = set()
    for info in kept:
        with open(os.path.join(str(tmp_path / 'q'), info['file']), 'rb') as handle:
            bodies.add(handle.read())
    assert bodies == {b'body 2', b'body 3', b'body 4'}
    assert Quarantine(str(tmp_path / 'q')).count() == 3


def test_event_reason_texts_fit_the_contract():
    from gatebox import decision
    for code in decision.REASON_CODES:
        for action in decision.ACTIONS:
            result = decision.Decision(action, code, 'x', 'in', (), '', '', '', {})
            text = GateBox.event_reason(result)
            assert text is None if code == 'ok' else (text.startswith(code) and len(text) <= 200)
    assert box_module.GateBox.event_decision(
        decision.Decision(decision.HOLD, 'unregistered', 'x', 'in', (), '', '', '', {})) == 'refuse'


def test_dahua_client_reads_the_stream_and_reconnects(tmp_path):
    sim = cameras_sim.DahuaSnapServer().start()
    port = sim._httpd.server_address[1]
    gate_box = make_box(tmp_path, **{'N-IN': {
        'token': 't', 'direction': 'in', 'camera': 'dahua', 'camera_url': sim.url,
        'camera_id': 'dahua-n-in'}})
    lane = gate_box.lanes['N-IN']
    from gatebox.dahua import DahuaClient
    lane.dahua = DahuaClient('N-IN', sim.url, lambda read: gate_box._dahua_read(lane, read),
                             heartbeat=0.2, device_id='dahua-n-in', backoff=(0.1,))
    lane.dahua.start()
    try:
        assert wait_until(lambda: sim.subscribers() == 1)
        sim.push_event(plate=VI_TRUCK, rec_no=1, event_id=1001)
        assert wait_until(lambda: len(queued(gate_box)) == 1)
        [event] = queued(gate_box)
        assert event['plate'] == VI_TRUCK and event['decision'] == 'pass'
        assert event['pictures']['front'] and event['direction'] == 'in'
        assert wait_until(lambda: lane.counts['heartbeats'] >= 1)
        sim.stop()                                  # the camera reboots
        assert wait_until(lambda: lane.dahua.status()['status'] == 'disconnected')
        sim = cameras_sim.DahuaSnapServer(port=port).start()
        assert wait_until(lambda: sim.subscribers() == 1)
        sim.push_event(plate=IV_TRUCK, rec_no=2, event_id=1002)
        assert wait_until(lambda: len(queued(gate_box)) == 2)
        assert queued(gate_box)[1]['decision'] == 'refuse'
        assert lane.dahua.status()['reconnects'] >= 1
    finally:
        gate_box.stop(timeout=2)
        sim.stop()


def test_dedup_memory_stays_bounded_and_forgets_old_reads(gate_box):
    lane = gate_box.lanes['E-IN']
    clock = [1000.0]
    gate_box.clock = lambda: clock[0]
    for number in range(box_module._RECENT_IDS + 50):
        aip(gate_box, plate='琼A%05d' % number, plateid=1000 + number, image=b'')
    assert len(lane.recent) == box_module._RECENT_IDS
    clock[0] += 11                                  # beyond the 10 s window
    aip(gate_box, plate='琼A%05d' % 60, plateid=9000, image=b'')
    assert len(lane.recent) == 1
    assert lane.counts['repeats'] == 0


def test_alarminfoplate_keepalive_marks_the_camera_and_delivers_a_pending_lift(gate_box):
    body = json.dumps({'heartbeat': {'serialno': 'cam-e-in', 'countid': 7}}).encode()
    reply = gate_box.handle_alarminfoplate(body)
    assert reply.status == 200
    assert reply.body['Response_AlarmInfoPlate']['info'] == 'no'
    assert gate_box.lanes['E-IN'].counts['heartbeats'] == 1 and queued(gate_box) == []
    gate_box.manual_lift('E-IN', 'truck waiting, papers checked', 'guard')
    reply = gate_box.handle_alarminfoplate(body)
    assert reply.body['Response_AlarmInfoPlate']['info'] == 'ok'


def test_event_times_are_whole_seconds_and_the_camera_time_is_kept(gate_box):
    import datetime
    when = datetime.datetime(2026, 11, 28, 0, 15, 30, 654321, tzinfo=datetime.timezone.utc)
    aip(gate_box, plate=VI_TRUCK, plateid=300, when=when)
    gate_box.manual_lift('E-IN', 'checked', 'guard')
    read, lift = queued(gate_box)
    assert read['time'] == '2026-11-28T00:15:30+00:00'
    assert read['extra']['camera']['PlateResult']['timeStamp']['Timeval']['usec'] == 654321
    assert lift['time'].endswith('+00:00') and '.' not in lift['time']
