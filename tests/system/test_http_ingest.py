"""Real HTTP into a real Odoo: events posted as a gate box would, read back over XML-RPC."""
import base64
import datetime
import json
import uuid

import requests

CST = datetime.timezone(datetime.timedelta(hours=8))
TOKEN_IN = 'demo-token-e-in'
TOKEN_OUT = 'demo-token-e-out'
# A real JPEG (1x1), as a camera snapshot would arrive.
JPEG_B64 = ('/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////'
            '////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAA'
            'AAAP/aAAgBAQABPxA=')


def post(server, token, events, raw=None):
    return requests.post(
        server.url + '/env_gate/api/v1/events',
        data=raw if raw is not None else json.dumps({'events': events}).encode(),
        headers={'Authorization': 'Bearer %s' % token, 'Content-Type': 'application/json'},
        timeout=60)


def event(lane, plate, when, **extra):
    data = {'event_id': uuid.uuid4().hex, 'type': 'plate', 'lane': lane, 'time': when.isoformat(),
            'plate': plate, 'plate_color': '1', 'confidence': 96.5}
    data.update(extra)
    return data


def test_web_client_login_page_renders(odoo_server):
    reply = requests.get(odoo_server.url + '/web/login', timeout=30)
    assert reply.status_code == 200
    assert 'name="login"' in reply.text


def test_events_over_http_become_paired_passages(odoo_server):
    rpc = odoo_server.rpc()
    plate = '琼E%05d' % (uuid.uuid4().int % 100000)
    rpc('env.gate.vehicle', 'create', {'plate': plate, 'plate_color': '1', 'emission_stage': '5',
                                       'fuel_type': 'E'})
    t0 = datetime.datetime(2026, 2, 1, 9, 30, tzinfo=CST)
    entry = event('E-IN', plate, t0, pictures={'front': JPEG_B64, 'plate': JPEG_B64})
    reply = post(odoo_server, TOKEN_IN, [entry])
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body['accepted'] == 1 and body['results'][0]['status'] == 'accepted'

    again = post(odoo_server, TOKEN_IN, [entry]).json()
    assert again['duplicate'] == 1 and again['results'][0]['status'] == 'duplicate'

    exit_ = post(odoo_server, TOKEN_OUT, [event('E-OUT', plate, t0 + datetime.timedelta(hours=2))])
    assert exit_.json()['accepted'] == 1

    passages = rpc('env.gate.passage', 'search_read', [('plate_key', '=', plate)],
                   fields=['direction', 'pass_time', 'pair_state', 'emission_stage', 'entry_id',
                           'picture_front', 'lane_id', 'needs_review'], order='pass_time')
    assert [p['direction'] for p in passages] == ['1', '2']
    entry_p, exit_p = passages
    assert entry_p['pass_time'] == '2026-02-01 01:30:00'       # stored in UTC
    assert entry_p['pair_state'] == 'left' and exit_p['pair_state'] == 'paired'
    assert exit_p['entry_id'][0] == entry_p['id']
    assert entry_p['emission_stage'] == '5' and not entry_p['needs_review']
    assert base64.b64decode(entry_p['picture_front']) == base64.b64decode(JPEG_B64)
    events = rpc('env.gate.event', 'search_count', [('plate_key', '=', plate)])
    assert events == 2


def test_bad_token_and_bad_body_are_refused_clearly(odoo_server):
    when = datetime.datetime(2026, 2, 1, 10, 0, tzinfo=CST)
    reply = post(odoo_server, 'not-a-token', [event('E-IN', '琼E00001', when)])
    assert reply.status_code == 401
    assert reply.json()['error'] == 'unauthorized'
    reply = post(odoo_server, TOKEN_IN, None, raw=b'{"events": [')
    assert reply.status_code == 400
    assert reply.json()['message']
    reply = post(odoo_server, TOKEN_IN, None, raw=b'{"events": []}')
    assert reply.status_code == 400
    mixed = post(odoo_server, TOKEN_IN, [{'event_id': 'x', 'type': 'plate', 'lane': 'E-IN',
                                          'time': 'soon', 'plate': '琼E00002'}])
    assert mixed.status_code == 200
    assert mixed.json()['results'][0]['status'] == 'rejected'
    assert 'time' in mixed.json()['results'][0]['reason']


def test_demo_data_is_there_for_a_newcomer(odoo_server):
    rpc = odoo_server.rpc('manager', 'manager')
    assert rpc('env.gate.vehicle', 'search_count', [('category', '=', 'transport')]) >= 60
    assert rpc('env.gate.lane', 'search_count', []) >= 4
    assert rpc('env.gate.passage', 'search_count', []) > 1000
    stages = {g['emission_stage'] for g in rpc('env.gate.passage', 'read_group', [],
                                                 ['emission_stage'], ['emission_stage'])}
    assert {'3', '4', '5', '6', 'D'} <= stages
