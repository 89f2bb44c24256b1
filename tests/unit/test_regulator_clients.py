"""The platform clients against the simulators: shapes, faults, tokens, pairing, secrets,
and a 30-minute outage that ends with every record delivered exactly once."""
import base64
import collections
import concurrent.futures
import contextlib
import datetime
import importlib.util
import json
import logging
import os
import subprocess
import sys
import time
import types

import jsonschema
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'simulators'))

import regulator_clients as rc  # noqa: E402
import regulator_sim as sims  # noqa: E402
from hj1321 import canonical, regulators as wire  # noqa: E402

ADDON = os.path.dirname(os.path.abspath(rc.__file__))
ADAPTERS = list(wire.ADAPTERS)
D = sims.DEMO
TIMEOUT = (0.5, 0.25)           # the simulators sleep 0.5 s for a timeout
JPEG = b'\xff\xd8\xff\xe0\x00\x10JFIF' + bytes(range(256)) * 8 + b'\xff\xd9'
ENTERPRISE = {'code': D['enterprise_code'], 'name': '河北冀东钢铁有限公司'}
RECORD_OP = {wire.CANONICAL_JSON: 'passage', wire.HENAN: 'shareDrivingRecord',
             wire.HEBEI: 'upload', wire.SOAP: '01W01'}
CREDENTIALS = {
    wire.CANONICAL_JSON: {'username': D['username'], 'password': D['password']},
    wire.HENAN: {'username': D['username'], 'password': D['password']},
    wire.HEBEI: {'username': D['username'], 'password': D['password'],
                 'client_id': D['client_id'], 'client_secret': D['client_secret'],
                 'picture_url': 'https://plant.example/p/{sha256}.jpg'},
    wire.SOAP: {'salt': D['salt']},
}
SCHEMAS = {kind: jsonschema.Draft7Validator(canonical.load_schema(kind)) for kind in canonical.KINDS}


def schema_check(kind, record):
    errors = list(SCHEMAS[kind].iter_errors(record))
    return '; '.join(e.message for e in errors[:3]) or None


@contextlib.contextmanager
def platform(adapter, clock=time.time, client_options=None, **sim_options):
    sim_options.setdefault('fault_sleep', 0.5)
    sim_options.setdefault('slow_sleep', 0.1)
    if adapter == wire.CANONICAL_JSON:
        sim_options.setdefault('validator', schema_check)
    sim = sims.make_sim(adapter, clock=clock, **sim_options).start()
    options = dict(CREDENTIALS[adapter], base_url=sim.base_url,
                   enterprise_code=D['enterprise_code'], enterprise_name=ENTERPRISE['name'],
                   timeout=TIMEOUT)
    options.update(client_options or {})
    client = rc.make_client(adapter, **options)
    try:
        yield sim, client
    finally:
        client.close()
        sim.stop()


def passage(n=0, direction='1', pictures=True, entry_of=None, **changes):
    base = datetime.datetime(2026, 11, 28, 0, 0, 0) + datetime.timedelta(minutes=7 * n)
    barrier = '0101' if direction == '1' else '0102'
    when = base if direction == '1' else base + datetime.timedelta(hours=2)
    values = {
        'name': '%s%s%s' % (barrier, 'A' if direction == '1' else 'B',
                            (when + datetime.timedelta(hours=8)).strftime('%y%m%d%H%M%S')),
        'direction': direction, 'pass_time': when, 'decision': '1', 'lift_mode': '2',
        'barrier_no': barrier, 'gate_code': '01', 'lane_code': 'E-IN' if direction == '1' else 'E-OUT',
        'plate_key': '冀B%05d' % (10000 + n), 'plate_raw': '冀B%05d' % (10000 + n),
        'plate_color': '1', 'emission_stage': '6', 'fuel_type': 'B', 'vin': 'LFWSRXSJ0K1A12345',
        'vehicle_type': 'Q11', 'use_nature': 'F', 'networked': '1', 'fleet_name': '唐山冀东物流',
        'vehicle': {'registration_date': '2021-03-04', 'brand_model': '解放J6P'}, 'vehicle_id': 1,
        'cargo_name': '铁矿石', 'quantity': 30 + n / 10.0, 'uom': 't',
        'pictures': {'front': JPEG, 'body': JPEG} if pictures else None,
        'entry_name': entry_of['serial'] if entry_of else False,
    }
    values.update(changes)
    return canonical.canonical_passage(values, ENTERPRISE, embed_pictures=True)


def stored_passages(sim, adapter):
    """Keys the platform stored passages under, with how many times each was stored."""
    skip = ('photo:', 'dc:', 'online:', 'veh:')
    return {k: v for k, v in sim.stored.items() if not str(k).startswith(skip)}


# ---- delivery and shapes -------------------------------------------------------------------

@pytest.mark.parametrize('adapter', ADAPTERS)
def test_delivers_and_a_resend_is_a_duplicate(adapter):
    record = passage()
    with platform(adapter) as (sim, client):
        first = client.send('passage', record)
        again = client.send('passage', record)
        assert (first.outcome, again.outcome) == ('ok', 'duplicate'), (first, again)
        assert first.delivered and again.delivered and not sim.errors
        assert list(stored_passages(sim, adapter).values()) == [1]
        assert first.kind == 'passage' and first.record_id == record['record_id']
        assert first.adapter == adapter and first.duration > 0 and first.calls >= 1
        assert isinstance(first.started_at, datetime.datetime)
        expected_id = {wire.CANONICAL_JSON: 'CJ00000001', wire.HENAN: record['platform_serial'],
                       wire.SOAP: record['platform_serial']}.get(adapter)
        if adapter == wire.HEBEI:
            expected_id = next(iter(sim.passes))
            assert again.platform_id == expected_id            # the platform tells it again
        assert first.platform_id == expected_id
        assert first.message_zh and first.message_en and first.request and first.response


@pytest.mark.parametrize('adapter', ADAPTERS)
def test_what_the_platform_receives_is_the_adapter_shape(adapter):
    record = passage(3)
    exit_ = passage(3, direction='2', entry_of=record)
    with platform(adapter) as (sim, client):
        entry_attempt = client.send('passage', record)
        assert client.send('passage', exit_).outcome == 'ok'
        if adapter == wire.CANONICAL_JSON:
            assert sim.ops('passage') == [record, exit_]    # validated by the published schema
        elif adapter == wire.HENAN:
            assert sim.ops('getAccessToken') == [{'username': D['username'], 'password': '***'}]
            assert sim.ops('shareDrivingRecord') == [wire.henan_driving_record(record),
                                                     wire.henan_driving_record(exit_)]
            photos = sim.ops('sharePhotoInfo')
            assert photos == wire.henan_photos(record) + wire.henan_photos(exit_)
            assert base64.b64decode(photos[0]['base64Image'].split(',', 1)[1]) == JPEG
        elif adapter == wire.HEBEI:
            url = CREDENTIALS[adapter]['picture_url']
            assert sim.ops('token')[0]['content_type'] == 'application/x-www-form-urlencoded'
            assert sim.ops('upload') == [
                wire.hebei_upload(record, picture_url=url),
                wire.hebei_upload(exit_, through_id=entry_attempt.platform_id, picture_url=url)]
        else:
            # every value went through URL-encoded XML inside SOAP and came back unchanged
            assert sim.ops('01W01') == [{k: str(v) for k, v in wire.soap_passage(r)[1]}
                                        for r in (record, exit_)]


def test_every_canonical_kind_is_accepted_by_the_canonical_platform():
    records = [
        ('vehicle', canonical.canonical_vehicle({'plate': '冀B12345D', 'plate_color': '6',
                                                 'fuel_type': 'C', 'emission_stage': 'D',
                                                 'picture_license': JPEG}, ENTERPRISE,
                                                embed_pictures=True)),
        ('in_plant_vehicle', canonical.canonical_in_plant_vehicle(
            {'internal_code': 'CN-01', 'fuel_type': 'B', 'emission_stage': '4'}, ENTERPRISE)),
        ('machinery', canonical.canonical_machinery(
            {'registration_code': 'M-1', 'kind': '2', 'emission_stage': '3'}, ENTERPRISE)),
        ('gate', canonical.canonical_gate({'code': '01', 'name': '东门', 'lanes': [
            {'code': 'E-IN', 'barrier_no': '0101', 'direction': '1'}]}, ENTERPRISE)),
        ('gate_status', canonical.canonical_gate_status(
            {'barrier_no': '0101', 'time': '2026-11-28 00:00:00', 'online': True}, ENTERPRISE)),
    ]
    with platform(wire.CANONICAL_JSON) as (sim, client):
        for kind, record in records:
            attempt = client.send(kind, record)
            assert attempt.outcome == 'ok', attempt
            assert sim.ops(kind) == [record]
        assert not sim.errors


def test_soap_vehicles_gate_status_and_henan_gate_status():
    vehicle = canonical.canonical_vehicle({'plate': '冀B12345', 'plate_color': '1',
                                           'vin': 'LFWSRXSJ0K1A12345',
                                           'registration_date': '2021-03-04',
                                           'picture_license': JPEG}, ENTERPRISE,
                                          embed_pictures=True)
    status = canonical.canonical_gate_status({'barrier_no': '0101', 'time': '2026-11-28 00:00:00',
                                              'online': False}, ENTERPRISE)
    with platform(wire.SOAP) as (sim, client):
        assert [client.send('vehicle', vehicle).outcome for _i in range(2)] == ['ok', 'duplicate']
        assert sim.ops('01W02')[0]['clsbdh'] == 'LFWSRXSJ0K1A12345'
        assert base64.b64decode(sim.ops('01W02')[0]['xszazp']) == JPEG
        assert client.send('gate_status', status).outcome == 'ok'
        assert sim.gate_status['0101']['isonline'] == '0'
    with platform(wire.HENAN) as (sim, client):
        assert client.send('gate_status', status).outcome == 'ok'
        assert sim.gate_status['0101'] == {'dzbh': '0101', 'bgzt': '1', 'vlpzt': '1'}


def test_unmappable_records_are_rejected_locally_and_unsupported_kinds_raise():
    unread = passage(plate_key=False, plate_raw=False)
    with platform(wire.HENAN) as (sim, client):
        attempt = client.send('passage', unread)
        assert (attempt.outcome, attempt.code, attempt.calls) == ('rejected', 'build.plate_missing', 0)
        assert attempt.request == '' and not sim.received
        with pytest.raises(wire.UnsupportedKind):
            client.send('machinery', canonical.canonical_machinery(
                {'registration_code': 'M', 'kind': '1', 'emission_stage': 'X'}, ENTERPRISE))
        with pytest.raises(ValueError):
            client.send('gate_status', unread)


# ---- faults ---------------------------------------------------------------------------------

FAULTS = [
    # fault, outcome, code, unreachable
    ('timeout', 'retry', 'transport.read_timeout', False),
    ('drop', 'retry', 'transport.connection', True),
    ('http500', 'retry', 'http.500', False),
    ('http503', 'retry', 'http.503', True),
    ('rate_limit', 'retry', 'http.429', False),
    ('garbage', 'retry', 'answer.garbage', False),
    ('slow', 'ok', None, False),
]


@pytest.mark.parametrize('adapter', ADAPTERS)
@pytest.mark.parametrize('fault,outcome,code,unreachable', FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_is_classified(adapter, fault, outcome, code, unreachable):
    record = passage(pictures=False)
    with platform(adapter) as (sim, client):
        sim.faults.push(fault, op=RECORD_OP[adapter])
        attempt = client.send('passage', record)
        assert (attempt.outcome, attempt.code, attempt.unreachable) == (outcome, code, unreachable), \
            attempt
        assert attempt.message_zh and attempt.message_en and attempt.response
        if fault == 'rate_limit' and adapter != wire.SOAP:
            assert attempt.retry_after == 2
        if outcome == 'retry':
            assert not stored_passages(sim, adapter)
            assert client.send('passage', record).outcome == 'ok'    # then it goes through
        assert list(stored_passages(sim, adapter).values()) == [1]


@pytest.mark.parametrize('adapter', ADAPTERS)
def test_a_lost_answer_is_retried_and_found_duplicate(adapter):
    record = passage(pictures=False)
    with platform(adapter) as (sim, client):
        sim.faults.push('lost', op=RECORD_OP[adapter])
        lost = client.send('passage', record)
        assert (lost.outcome, lost.code) == ('retry', 'transport.read_timeout')
        assert list(stored_passages(sim, adapter).values()) == [1]       # it did arrive
        again = client.send('passage', record)
        assert again.outcome == 'duplicate' and again.delivered
        assert list(stored_passages(sim, adapter).values()) == [1]


@pytest.mark.parametrize('adapter', ADAPTERS)
def test_a_permanent_rejection_keeps_the_platform_message(adapter):
    record = passage(pictures=False)
    with platform(adapter) as (sim, client):
        sim.reject_if = lambda op, payload: '该车辆未在平台备案，拒收' if op == RECORD_OP[adapter] else None
        attempt = client.send('passage', record)
        assert attempt.outcome == 'rejected' and not attempt.delivered
        assert '该车辆未在平台备案' in attempt.message_zh and '该车辆未在平台备案' in attempt.message_en
        assert not stored_passages(sim, adapter)


@pytest.mark.parametrize('adapter', ADAPTERS)
def test_probe(adapter):
    clock = sims.Clock()
    with platform(adapter, clock=clock) as (sim, client):
        assert client.probe().outcome == 'ok'
        sim.set_downtime(clock() - 1, clock() + 60, mode='refuse')
        down = client.probe()
        assert (down.outcome, down.unreachable) == ('retry', True)
        sim.set_downtime(clock() - 1, clock() + 60, mode='503')
        maintenance = client.probe()
        assert (maintenance.outcome, maintenance.unreachable, maintenance.http_status) == (
            'retry', True, 503)
        clock.advance(61)
        assert client.probe().outcome == 'ok'


# ---- tokens --------------------------------------------------------------------------------

@pytest.mark.parametrize('adapter', [wire.HENAN, wire.HEBEI])
def test_tokens_are_renewed_when_the_platform_refuses_them(adapter):
    with platform(adapter) as (sim, client):
        sim.token_uses = 2
        attempts = [client.send('passage', passage(n, pictures=False)) for n in range(5)]
        assert [a.outcome for a in attempts] == ['ok'] * 5
        assert len(sim.tokens_issued) == 3 and sim.answers['auth'] == 2
        assert [a.calls for a in attempts] == [2, 1, 3, 1, 3]     # token + call; refused, token, call
        sim.token_uses = None
        sim.expire_tokens()                                       # on demand
        assert client.send('passage', passage(9, pictures=False)).outcome == 'ok'
        assert len(sim.tokens_issued) == 4


@pytest.mark.parametrize('adapter', [wire.HENAN, wire.HEBEI])
def test_tokens_are_renewed_before_they_expire(adapter):
    clock = sims.Clock()
    with platform(adapter, clock=clock, client_options={'clock': clock, 'token_ttl': 100},
                  ) as (sim, client):
        sim.token_seconds = 100         # Hebei also says so (expires_in), Henan does not
        assert client.send('passage', passage(1, pictures=False)).outcome == 'ok'
        clock.advance(95)           # the client renews ahead of the platform's expiry
        assert client.send('passage', passage(2, pictures=False)).outcome == 'ok'
        assert len(sim.tokens_issued) == 2 and sim.answers['auth'] == 0


@pytest.mark.parametrize('adapter', [wire.HENAN, wire.HEBEI])
def test_a_token_can_be_shared_between_clients(adapter):
    clock = sims.Clock()
    with platform(adapter, clock=clock, client_options={'clock': clock}) as (sim, client):
        assert client.token_state() is None
        assert client.send('passage', passage(1, pictures=False)).outcome == 'ok'
        state = client.token_state()
        assert state['access_token'] == sim.tokens_issued[0] and state['valid_for'] > 3000
        other = rc.make_client(adapter, base_url=sim.base_url, timeout=TIMEOUT, clock=clock,
                               enterprise_code=D['enterprise_code'], **CREDENTIALS[adapter])
        other.set_token(state['access_token'], state['valid_for'])
        assert other.send('passage', passage(2, pictures=False)).outcome == 'ok'
        other.close()
        assert len(sim.tokens_issued) == 1
        clock.advance(state['valid_for'])
        assert client.token_state() is None


@pytest.mark.parametrize('adapter', [wire.HENAN, wire.HEBEI, wire.CANONICAL_JSON, wire.SOAP])
def test_wrong_credentials_are_auth_without_a_loop(adapter):
    wrong = {'password': 'wrong-password'} if adapter != wire.SOAP else {'salt': 'wrong-salt'}
    with platform(adapter, client_options=wrong) as (sim, client):
        attempt = client.send('passage', passage(pictures=False))
        assert attempt.outcome == 'auth' and not attempt.delivered
        assert attempt.calls <= 2 and not stored_passages(sim, adapter)
        assert client.probe().outcome == 'auth'


# ---- Hebei: entry and exit paired by throughId -------------------------------------------------

def test_hebei_exit_carries_the_entry_through_id():
    entry = passage(1)
    exit_ = passage(1, direction='2', entry_of=entry)
    with platform(wire.HEBEI) as (sim, client):
        entered = client.send('passage', entry)
        left = client.send('passage', exit_)              # the client remembers the entry
        assert left.outcome == 'ok' and left.platform_id == entered.platform_id
        assert sim.passes[entered.platform_id]['exit']['carOutTime'] == exit_['pass_time']
        assert client.through_id(entry['record_id']) == entered.platform_id


def test_hebei_through_id_passed_in_by_the_caller_and_a_lost_entry_answer():
    entry = passage(2)
    exit_ = passage(2, direction='2', entry_of=entry)
    with platform(wire.HEBEI) as (sim, client):
        sim.faults.push('lost', op='upload')
        assert client.send('passage', entry).outcome == 'retry'
        recovered = client.send('passage', entry)     # duplicate, with the platform's throughId
        assert recovered.outcome == 'duplicate' and recovered.platform_id in sim.passes
        fresh = rc.make_client(wire.HEBEI, base_url=sim.base_url, timeout=TIMEOUT,
                               enterprise_code=D['enterprise_code'], **CREDENTIALS[wire.HEBEI])
        try:
            left = fresh.send('passage', exit_, through_id=recovered.platform_id)
        finally:
            fresh.close()
        assert left.outcome == 'ok' and sim.passes[recovered.platform_id]['exit'] is not None


def test_hebei_exit_waits_for_its_entry_unless_unpaired():
    entry = passage(3)
    exit_ = passage(3, direction='2', entry_of=entry)
    with platform(wire.HEBEI) as (sim, client):
        waiting = client.send('passage', exit_)
        assert (waiting.outcome, waiting.code, waiting.calls) == ('retry', 'entry.pending', 0)
        assert not sim.ops('upload')
        unpaired = client.send('passage', exit_, unpaired=True)
        assert unpaired.outcome == 'ok' and sim.ops('upload')[0]['throughId'] == ''
        no_entry = passage(4, direction='2')              # flagged exit without entry
        assert client.send('passage', no_entry).outcome == 'ok'
        wrong = client.send('passage', passage(5, direction='2', entry_of=entry),
                            through_id='not-a-through-id')
        assert wrong.outcome == 'rejected' and '通行记录不存在' in wrong.message_zh


# ---- pulls and checks -------------------------------------------------------------------------

def test_pulls_and_checks():
    with platform(wire.CANONICAL_JSON) as (sim, client):
        sim.blacklist = [{'id': 1, 'plate': '冀B54321', 'plate_color': '1', 'source': '唐山市生态环境局',
                          'reason': '超标排放', 'valid_from': '2026-11-01 08:00:00', 'valid_to': None}]
        sim.strategies = [{'id': 'S1', 'name': '橙色预警', 'level': 'orange',
                           'date_start': '2026-11-28 00:00:00', 'date_end': '2026-11-30 00:00:00',
                           'rules': None, 'exempt_flags': None, 'exempt_plates': []}]
        blacklist = client.pull_blacklist()
        assert blacklist.outcome == 'ok' and blacklist.data[0]['plate'] == '冀B54321'
        assert blacklist.data[0]['valid_from'] == '2026-11-01 00:00:00'
        strategies = client.pull_strategies()
        assert strategies.data[0]['level'] == 'orange' and strategies.data[0]['rules'] is None
        sim.faults.push('garbage', op='blacklist')
        assert client.pull_blacklist().outcome == 'retry'
    with platform(wire.HENAN) as (sim, client):
        sim.controls['冀B44444'] = ('1', '国四柴油车橙色预警期间禁止进厂')
        refused = client.check_vehicle('冀B44444', '1', '0101')
        assert refused.outcome == 'ok' and refused.data['allowed'] is False
        assert refused.data['reason'].startswith('国四')
        assert client.check_vehicle('冀B12345', '1').data['allowed'] is True
        assert sim.ops('getCheckVehicle')[0] == {'license': '冀B44444', 'licenseColor': '1',
                                                 'enterpriseID': D['enterprise_code'],
                                                 'gateCodeB': '0101'}
    with platform(wire.SOAP) as (sim, client):
        sim.whitelist = [{'cphm': '冀B11111', 'cpys': '1', 'yxqs': '2026-01-01',
                          'yxqz': '2026-12-31', 'bz': '应急保障'}]
        whitelist = client.pull_whitelist()
        assert whitelist.outcome == 'ok' and whitelist.data[0]['plate'] == '冀B11111'


def test_soap_calls_the_configured_address_not_the_one_the_wsdl_publishes():
    with platform(wire.SOAP, wsdl_address='http://127.0.0.1:9/internal/WriteService') as (sim, client):
        assert client.send('passage', passage()).outcome == 'ok'


def test_one_client_serves_several_threads():
    records = [passage(n, pictures=False) for n in range(40)]
    with platform(wire.HENAN) as (sim, client):
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            outcomes = list(pool.map(lambda r: client.send('passage', r).outcome, records))
        assert outcomes == ['ok'] * 40 and len(stored_passages(sim, wire.HENAN)) == 40
        assert len(sim.tokens_issued) == 1                   # one token, shared


# ---- secrets never leak ---------------------------------------------------------------------------

def test_credentials_never_appear_in_attempts_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    attempts, secrets, sims_used = [], {'wrong-password-9', 'wrong-salt-9'}, []
    for adapter in ADAPTERS:
        with platform(adapter) as (sim, client):
            sims_used.append(sim)
            sim.token_uses = 1                                  # every call renews the token
            attempts.append(client.send('passage', passage(1)))
            attempts.append(client.send('passage', passage(1)))
            for fault in ('timeout', 'garbage', 'http500'):
                sim.faults.push(fault, op=RECORD_OP[adapter])
                attempts.append(client.send('passage', passage(2, pictures=False)))
            sim.reject_if = lambda op, payload: 'refused'
            attempts.append(client.send('passage', passage(3, pictures=False)))
            attempts.append(client.probe())
            wrong = dict(CREDENTIALS[adapter], base_url=sim.base_url, timeout=TIMEOUT,
                         enterprise_code=D['enterprise_code'])
            wrong.update({'password': 'wrong-password-9', 'salt': 'wrong-salt-9'}
                         if adapter == wire.SOAP else {'password': 'wrong-password-9'})
            bad = rc.make_client(adapter, **wrong)
            attempts.append(bad.send('passage', passage(4, pictures=False)))
            bad.close()
            secrets.update(sim.tokens_issued)
    secrets.update([D['password'], D['client_secret'], D['salt'],
                    wire.soap_key(D['enterprise_code'], D['salt']),
                    wire.soap_key(D['enterprise_code'], 'wrong-salt-9')])
    assert len(secrets) >= 15 and len(attempts) == 32
    texts = [repr(a) for a in attempts] + [json.dumps(a.as_dict(), default=str, ensure_ascii=False)
                                           for a in attempts]
    texts += [record.getMessage() for record in caplog.records] + [caplog.text]
    leaks = [(secret, text[:200]) for secret in secrets for text in texts if secret in text]
    assert not leaks
    # the check means something: tokens and keys were sent, logged (masked) and dumped
    assert any(r.name == 'zeep.transports' for r in caplog.records)
    assert any(r.name == 'regulator_clients' for r in caplog.records)
    assert sum('***' in a.request for a in attempts) >= 12
    assert {a.outcome for a in attempts} == {'ok', 'duplicate', 'retry', 'rejected', 'auth'}


# ---- a 30-minute outage -----------------------------------------------------------------------------

def deliver(client, adapter, records, clock, probe_every=60, spacing=20):
    """A minimal delivery queue: send in order; a transient failure keeps the record first in
    line; an unreachable platform pauses everything and is probed until it answers."""
    pending = collections.deque(records)
    delivered, rejected, tries = {}, {}, collections.Counter()
    probes = outage_failures = 0
    paused = False
    while pending:
        if paused:
            probes += 1
            if client.probe().outcome == 'ok':
                paused = False
            else:
                clock.advance(probe_every)
            continue
        record = pending.popleft()
        entry = wire.dependency(adapter, 'passage', record)
        attempt = client.send('passage', record, through_id=delivered.get(entry))
        tries[record['record_id']] += 1
        clock.advance(spacing)
        if attempt.delivered:
            delivered[record['record_id']] = attempt.platform_id
        elif attempt.outcome == 'rejected':
            rejected[record['record_id']] = attempt
        elif attempt.unreachable or attempt.outcome == 'auth':
            outage_failures += 1
            paused = True
            pending.appendleft(record)
        else:
            pending.appendleft(record)
            clock.advance(attempt.retry_after or 30)
        assert sum(tries.values()) < 500, 'the queue does not converge'
    return delivered, rejected, tries, probes, outage_failures


@pytest.mark.parametrize('adapter,mode', [(wire.CANONICAL_JSON, 'refuse'), (wire.HENAN, '503'),
                                          (wire.HEBEI, 'refuse'), (wire.SOAP, 'refuse'),
                                          (wire.SOAP, '503')])
def test_a_30_minute_outage_ends_with_every_record_delivered_exactly_once(adapter, mode):
    clock = sims.Clock()
    records = []
    for n in range(12):                     # entries and their exits, interleaved
        entry = passage(n, pictures=False)
        records.append(entry)
        records.append(passage(n, direction='2', pictures=False, entry_of=entry))
    start = clock()
    with platform(adapter, clock=clock, client_options={'clock': clock}) as (sim, client):
        sim.faults.push('lost', op=RECORD_OP[adapter])     # an answer lost before it
        sim.set_downtime(start + 200, start + 200 + 1800, mode=mode)
        delivered, rejected, tries, probes, outage_failures = deliver(
            client, adapter, records, clock)
        stored = stored_passages(sim, adapter)
        assert not rejected and not sim.errors
        assert set(delivered) == {r['record_id'] for r in records}
        assert len(stored) == len(records) and set(stored.values()) == {1}   # exactly once
        assert clock() - start > 1800 and probes >= 29          # it did wait the outage out
        assert outage_failures == 1             # one record found the outage, the rest waited
        assert sum(tries.values()) == len(records) + 1 + 1      # + the lost answer, + the outage
        assert sim.answers['duplicate'] == 1
        if adapter == wire.HEBEI:
            assert all(p['exit'] is not None for p in sim.passes.values())
            assert len(sim.passes) == 12


# ---- importable without Odoo, both ways ---------------------------------------------------------------

def test_imports_without_odoo_as_a_top_level_module():
    code = ('import sys; sys.path.insert(0, %r); import regulator_clients as m; '
            'assert m.wire.__name__ == "hj1321.regulators"; '
            'assert not [k for k in sys.modules if k == "odoo" or k.startswith("odoo.")]; '
            'print("ok")' % ADDON)
    result = subprocess.run([sys.executable, '-c', code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=60)
    assert result.stdout.strip() == b'ok', result.stderr


def test_imports_as_a_module_of_the_addon_package():
    parent = 'fake_env_gate_ledger_%d' % os.getpid()
    package = types.ModuleType(parent)
    package.__path__ = [ADDON]          # the add-on's __init__ (Odoo models) is not run
    sys.modules[parent] = package
    try:
        spec = importlib.util.spec_from_file_location(parent + '.regulator_clients',
                                                      os.path.join(ADDON, 'regulator_clients.py'))
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        assert module.wire.__name__ == parent + '.hj1321.regulators'
        assert module.make_client('canonical_json', base_url='http://x',
                                  enterprise_code='1').adapter == 'canonical_json'
    finally:
        for key in [k for k in sys.modules if k == parent or k.startswith(parent + '.')]:
            del sys.modules[key]


def test_answers_in_gbk_without_a_charset_are_read():
    class Answer(object):
        def __init__(self, content, content_type):
            self.content, self.headers = content, {'Content-Type': content_type}
            self.encoding = 'ISO-8859-1' if content_type.startswith('text/') else None
    text = '{"code": "400", "status": "车牌颜色代码错误"}'
    read = rc.RegulatorClient._text
    assert read(Answer(text.encode('gbk'), 'text/plain')) == text
    assert read(Answer(text.encode('utf-8'), 'text/plain')) == text
    assert read(Answer(text.encode('gbk'), 'application/json; charset=GBK')) == text
    assert read(Answer(b'', 'text/plain')) == ''


def test_a_redirect_is_not_followed_and_names_the_status(monkeypatch):
    original = sims.CanonicalSim.handle

    def moved_permanently(self, request, op):
        if request['path'].startswith('/moved'):
            return sims.Reply(301, b'', {'Location': 'https://platform.example/'})
        return original(self, request, op)
    monkeypatch.setattr(sims.CanonicalSim, 'handle', moved_permanently)
    with platform(wire.CANONICAL_JSON, client_options={}) as (sim, _client):
        moved = rc.make_client(wire.CANONICAL_JSON, base_url=sim.base_url + '/moved',
                               enterprise_code=D['enterprise_code'], timeout=TIMEOUT,
                               **CREDENTIALS[wire.CANONICAL_JSON])
        attempt = moved.send('passage', passage())
        moved.close()
        assert (attempt.outcome, attempt.code, attempt.calls) == ('rejected', 'http.301', 1)
        assert not sim.received
