"""The register cache: sync replies (full, incremental, deletes), disk, fallback, Syncer."""
import datetime
import json
import os
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gatebox import cache as cache_mod
from gatebox import decision
from gatebox.cache import Cache, SyncError, Syncer

NOW = datetime.datetime(2026, 11, 28, 1, 0, 0)
PLATE = '冀B12345'


class Read(object):
    def __init__(self, plate_key, direction='in', confidence=96.0):
        self.plate_key = plate_key
        self.plate_raw = plate_key
        self.direction = direction
        self.confidence = confidence


def vehicle(vid, plate, stage='4', fuel='B', vehicle_type='Q11', **extra):
    row = {'id': vid, 'plate_key': plate, 'plate_color': '1', 'stage': stage, 'fuel': fuel,
           'category': 'transport', 'vehicle_type': vehicle_type, 'owner': '某某物流',
           'flags': []}
    row.update(extra)
    return row


def snapshot(version=10, **lists):
    payload = {'version': version, 'full': True,
               'vehicles': [vehicle(1, '冀B·12345'), vehicle(2, '冀B22222', stage='6'),
                            vehicle(3, '冀B33333', flags=['hazardous'])],
               'blacklist': [{'id': 1, 'plate_key': '冀B44444', 'source': '市生态环境局',
                              'reason': '超标排放', 'valid_from': '2026-11-01 00:00:00',
                              'valid_to': None}],
               'strategies': [{'id': 7, 'name': '橙色预警', 'level': 'orange',
                               'date_start': '2026-11-28 00:00:00',
                               'date_end': '2026-11-28T16:00:00+08:00', 'rules': None,
                               'exempt_flags': None, 'exempt_plates': ['冀B55555']}],
               'lanes': [{'code': 'E-IN', 'direction': 'in', 'unregistered': 'refuse',
                          'min_confidence': 85}]}
    payload.update(lists)
    return payload


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / 'box' / 'cache.json')


@pytest.fixture
def box(path):
    cache = Cache(path, clock=lambda: NOW)
    cache.apply(snapshot())
    return cache


# ---------------------------------------------------------------------------------------
# apply: full, incremental, deletes
# ---------------------------------------------------------------------------------------

def test_full_snapshot_fills_every_lookup(box):
    assert box.version == 10
    assert box.vehicle(PLATE).stage == '4'             # key normalised: '冀B·12345'
    assert box.vehicle(PLATE).id == 1
    assert box.vehicle('冀B33333').flags == ('hazardous',)
    assert box.blacklisted('冀B44444', NOW).source == '市生态环境局'
    assert box.blacklisted('冀B44444', datetime.datetime(2026, 10, 31)) is None
    [strategy] = box.active_strategies(NOW)
    assert (strategy.level, strategy.date_end) == ('orange', datetime.datetime(2026, 11, 28, 8))
    assert strategy.exempt_flags == decision.DEFAULT_EXEMPT_FLAGS
    assert box.active_strategies(datetime.datetime(2026, 11, 28, 8)) == ()
    lane = box.lane('E-IN')
    assert (lane.direction, lane.unregistered, lane.min_confidence) == ('in', 'refuse', 85.0)
    assert lane.low_confidence == decision.DEFAULT_LANE.low_confidence


def test_incremental_upserts_and_deletes_and_keeps_the_rest(box):
    result = box.apply({'version': 11, 'since': 10, 'vehicles': [
        vehicle(2, '冀B22222', stage='3'), {'id': 3, 'deleted': True},
        vehicle(4, '冀B66666')], 'blacklist': [{'id': 1, 'active': False}]})
    assert (result.version, result.previous_version, result.written) == (11, 10, True)
    assert result.changes['vehicles'] == (2, 1)
    assert result.changes['blacklist'] == (0, 1)
    assert box.vehicle('冀B22222').stage == '3'
    assert box.vehicle('冀B33333') is None
    assert box.vehicle('冀B66666') is not None
    assert box.vehicle(PLATE).stage == '4'
    assert box.blacklisted('冀B44444', NOW) is None
    assert len(box.strategies()) == 1 and box.lane('E-IN').unregistered == 'refuse'


def test_plate_change_drops_the_old_key(box):
    box.apply({'version': 11, 'vehicles': [vehicle(1, '冀B77777')]})
    assert box.vehicle(PLATE) is None
    assert box.vehicle('冀B77777').id == 1
    box.apply({'version': 12, 'vehicles': [{'id': 1, 'deleted': True}]})
    assert box.vehicle('冀B77777') is None


def test_vehicle_without_plate_is_not_kept(box):
    box.apply({'version': 11, 'vehicles': [vehicle(1, None)]})
    assert box.vehicle(PLATE) is None
    assert box.stats()['vehicles'] == 2


def test_full_snapshot_replaces_everything(box):
    box.apply({'version': 12, 'full': True, 'vehicles': [vehicle(9, '冀B99999')]})
    assert box.vehicle(PLATE) is None and box.vehicle('冀B99999') is not None
    assert box.strategies() == () and box.lanes() == {}
    assert box.blacklist_entries('冀B44444') == ()
    assert box.lane('E-IN') == decision.DEFAULT_LANE._replace(code='E-IN')


def test_lane_delete_falls_back_to_the_default_policy(box):
    box.apply({'version': 11, 'lanes': [{'code': 'E-IN', 'deleted': True}]})
    assert box.lane('E-IN').unregistered == decision.DEFAULT_LANE.unregistered


# -- versions ------------------------------------------------------------------------------

def test_incremental_from_another_version_is_a_gap_and_changes_nothing(box):
    with pytest.raises(SyncError) as info:
        box.apply({'version': 12, 'since': 11, 'vehicles': [vehicle(5, '冀B88888')]})
    assert info.value.code == 'sync.gap'
    assert box.version == 10 and box.vehicle('冀B88888') is None


def test_incremental_with_a_lower_version_is_stale(box):
    with pytest.raises(SyncError) as info:
        box.apply({'version': 9, 'vehicles': [vehicle(5, '冀B88888')]})
    assert info.value.code == 'sync.stale'
    assert box.version == 10 and box.vehicle('冀B88888') is None


def test_reply_without_changes_writes_nothing(box, path):
    before = os.stat(path).st_mtime_ns, open(path, 'rb').read()
    result = box.apply({'version': 10, 'since': 10, 'vehicles': []})
    assert result.written is False and result.changes['vehicles'] == (0, 0)
    assert (os.stat(path).st_mtime_ns, open(path, 'rb').read()) == before


def test_full_snapshot_may_take_the_version_back_after_an_erp_restore(box):
    result = box.apply(snapshot(version=4))
    assert result.went_back is True and box.version == 4


def test_version_does_not_advance_when_the_write_fails(box, path, monkeypatch):
    def failing_fsync(fd):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(cache_mod.os, 'fsync', failing_fsync)
    with pytest.raises(SyncError) as info:
        box.apply({'version': 11, 'vehicles': [vehicle(5, '冀B88888')]})
    assert info.value.code == 'sync.write_failed'
    assert box.version == 10 and box.vehicle('冀B88888') is None
    monkeypatch.undo()
    assert Cache(path).version == 10


@pytest.mark.parametrize('payload,field', [
    ({'version': 'x'}, 'version'),
    ({'version': 11, 'vehicles': [{'plate_key': PLATE}]}, 'id'),
    ({'version': 11, 'vehicles': [vehicle(5, '冀B88888', stage=5)]}, 'stage'),
    ({'version': 11, 'strategies': [{'id': 1, 'level': 'purple'}]}, 'level'),
    ({'version': 11, 'strategies': [{'id': 1, 'level': 'red',
                                     'date_start': '2026-11-28'}]}, 'date_start'),
    ({'version': 11, 'strategies': [{'id': 1, 'level': 'red',
                                     'rules': [{'max_stage': '7'}]}]}, 'max_stage'),
    ({'version': 11, 'blacklist': [{'id': 1, 'plate_key': ''}]}, 'plate_key'),
    ({'version': 11, 'lanes': [{'code': 'E-IN', 'unregistered': 'open'}]}, 'unregistered'),
    ({'version': 11, 'lanes': [{'code': 'E-IN', 'min_confidence': 101}]}, 'min_confidence'),
])
def test_malformed_reply_is_refused_whole_naming_the_field(box, payload, field):
    payload.setdefault('vehicles', []).append(vehicle(5, '冀B88888'))
    with pytest.raises(SyncError) as info:
        box.apply(payload)
    assert info.value.code == 'sync.bad_payload'
    assert info.value.params['field'] == field
    assert box.version == 10 and box.vehicle('冀B88888') is None


def test_wire_times_utc_and_with_offset():
    assert cache_mod.parse_time('2026-11-28 08:00:00') == datetime.datetime(2026, 11, 28, 8)
    assert cache_mod.parse_time('2026-11-28T08:00:00+08:00') == datetime.datetime(2026, 11, 28)
    assert cache_mod.parse_time('2026-11-28T08:00:00Z') == datetime.datetime(2026, 11, 28, 8)
    assert cache_mod.parse_time('2026-11-27T20:00:00-04:00') == datetime.datetime(2026, 11, 28)
    assert cache_mod.parse_time(None) is None


# ---------------------------------------------------------------------------------------
# Disk: persistence, corruption, fallback
# ---------------------------------------------------------------------------------------

def test_everything_survives_a_reload(box, path):
    box.apply({'version': 11, 'strategies': [{'id': 8, 'level': 'red', 'date_start': None,
                                              'date_end': None, 'rules': [
                                                  {'max_stage': '5', 'fuels': ['B'],
                                                   'vehicle_classes': ['H1'],
                                                   'action': 'hold'}],
                                              'exempt_flags': []}]})
    again = Cache(path)
    assert (again.loaded_from, again.load_error, again.version) == ('main', None, 11)
    assert again.vehicle(PLATE) == box.vehicle(PLATE)
    assert again.vehicle('冀B33333').flags == ('hazardous',)
    assert again.blacklist_entries('冀B44444') == box.blacklist_entries('冀B44444')
    assert again.strategies() == box.strategies()
    assert again.lanes() == box.lanes()
    for plate in (PLATE, '冀B22222', '冀B33333', '冀B44444', '冀B55555', '冀B00000'):
        assert again.decide(Read(plate), 'E-IN', NOW) == box.decide(Read(plate), 'E-IN', NOW)


def test_missing_file_starts_empty_without_error(path):
    empty = Cache(path)
    assert (empty.version, empty.loaded_from, empty.load_error) == (0, None, None)
    assert empty.decide(Read(PLATE), 'E-IN', NOW).reason == 'unregistered'


def _corrupt_flip(path):
    data = bytearray(open(path, 'rb').read())
    data[-20] ^= 0x01
    open(path, 'wb').write(bytes(data))


def _corrupt_truncate(path):
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 2])


def _corrupt_garbage(path):
    open(path, 'wb').write(b'\x00\x00\x00 not a cache')


@pytest.mark.parametrize('damage', [_corrupt_flip, _corrupt_truncate, _corrupt_garbage])
def test_corrupted_file_falls_back_to_the_previous_good_one(box, path, damage):
    box.apply({'version': 11, 'vehicles': [vehicle(5, '冀B88888')]})     # prev = version 10
    damage(path)
    again = Cache(path)
    assert again.loaded_from == 'previous'
    assert again.load_error.code == 'cache.corrupt'
    assert again.version == 10 and again.vehicle(PLATE) is not None
    assert os.path.exists(path + '.corrupt')           # kept for inspection


def test_next_write_after_a_fallback_keeps_the_good_previous_file(box, path):
    box.apply({'version': 11, 'vehicles': [vehicle(5, '冀B88888')]})
    _corrupt_truncate(path)
    again = Cache(path)
    again.apply({'version': 12, 'since': 10, 'vehicles': [vehicle(6, '冀B99999')]})
    assert Cache(path).version == 12
    assert cache_mod.read_file(path + '.prev').version == 10


def test_both_files_corrupted_starts_empty_and_does_not_raise(box, path):
    box.apply({'version': 11})
    _corrupt_truncate(path)
    _corrupt_garbage(path + '.prev')
    again = Cache(path)
    assert (again.version, again.loaded_from) == (0, None)
    assert again.load_error.code == 'cache.corrupt'
    assert again.stats()['load_error'].startswith('cache file')


def test_crash_between_the_two_renames_loads_the_previous_file(box, path):
    box.apply({'version': 11})
    os.replace(path, path + '.prev')                   # what a crash there leaves behind
    again = Cache(path)
    assert (again.loaded_from, again.version, again.load_error) == ('previous', 11, None)


def test_well_formed_file_with_broken_rows_is_corrupt_not_a_crash(box, path):
    box.apply({'version': 11})
    header, body = open(path, 'rb').read().split(b'\n', 1)
    content = json.loads(body.decode('utf-8'))
    content['vehicles'][0] = content['vehicles'][0][:3]           # too few columns
    content['strategies'][0]['level'] = 'purple'
    body = json.dumps(content).encode('utf-8')
    header = json.loads(header.decode())
    header.update(length=len(body), crc32=zlib.crc32(body))       # checksums agree
    open(path, 'wb').write(json.dumps(header).encode() + b'\n' + body)
    again = Cache(path)
    assert (again.loaded_from, again.version) == ('previous', 10)
    assert again.load_error.code == 'cache.corrupt'


def test_file_of_another_format_version_is_refused(box, path):
    data = open(path, 'rb').read()
    header, body = data.split(b'\n', 1)
    header = json.loads(header.decode())
    header['format_version'] = 99
    open(path, 'wb').write(json.dumps(header).encode() + b'\n' + body)
    with pytest.raises(cache_mod.CacheFileError) as info:
        cache_mod.read_file(path)
    assert info.value.code == 'cache.format'


# ---------------------------------------------------------------------------------------
# Cache.decide
# ---------------------------------------------------------------------------------------

def test_decide_uses_the_cached_register_strategy_blacklist_and_lane(box):
    assert box.decide(Read(PLATE), 'E-IN', NOW).reason == 'emergency_orange'
    assert box.decide(Read('冀B22222'), 'E-IN', NOW).reason == 'ok'
    assert box.decide(Read('冀B33333'), 'E-IN', NOW).reason == 'exempt'
    assert box.decide(Read('冀B44444'), 'E-IN', NOW).reason == 'blacklisted'
    unregistered = box.decide(Read('冀B00000'), 'E-IN', NOW)
    assert (unregistered.action, unregistered.detail['lane']) == ('refuse', 'E-IN')
    assert box.decide(Read('冀B00000'), 'OTHER', NOW).action == 'hold'    # default lane
    low = box.decide(Read(PLATE, confidence=84.0), 'E-IN', NOW)
    assert low.reason == 'low_confidence'
    later = datetime.datetime(2026, 11, 28, 8)       # the strategy's end, exclusive
    assert box.decide(Read(PLATE), 'E-IN', later).reason == 'ok'


# ---------------------------------------------------------------------------------------
# Syncer
# ---------------------------------------------------------------------------------------

class Clock(object):
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


def test_syncer_applies_replies_and_asks_from_the_held_version(path):
    asked = []
    replies = [snapshot(version=10, server_time='2026-11-28 00:59:58'),
               {'version': 11, 'since': 10, 'vehicles': [vehicle(5, '冀B88888')]}]

    def fetch(since):
        asked.append(since)
        return replies.pop(0)
    clock = Clock()
    syncer = Syncer(Cache(path, clock=clock), fetch, clock=clock)
    assert syncer.sync_once().version == 10
    assert syncer.sync_once().changes['vehicles'] == (1, 0)
    assert asked == [0, 10]
    status = syncer.status()
    assert (status['state'], status['version'], status['last_success']) == ('ok', 11, NOW)
    assert status['clock_skew_seconds'] == 2.0


def test_syncer_keeps_the_cache_and_records_fetch_errors(box):
    clock = Clock()

    def unreachable(since):
        raise ConnectionError('connection refused')
    syncer = Syncer(box, unreachable, clock=clock, interval=30, max_interval=600)
    assert syncer.sync_once() is None
    clock.now = NOW + datetime.timedelta(minutes=1)
    assert syncer.sync_once() is None
    status = syncer.status()
    assert status['state'] == 'error' and status['consecutive_failures'] == 2
    assert status['last_error_code'] == 'sync.fetch_failed'
    assert 'connection refused' in status['last_error']
    assert status['last_error_at'] == NOW + datetime.timedelta(minutes=1)
    assert status['last_success'] is None
    assert box.version == 10 and box.decide(Read(PLATE), 'E-IN', NOW).reason \
        == 'emergency_orange'
    assert syncer.next_delay() == 120


def test_syncer_backoff_is_capped():
    syncer = Syncer(None, None, interval=30, max_interval=600)
    syncer.failures = 10
    assert syncer.next_delay() == 600
    syncer.failures = 0
    assert syncer.next_delay() == 30


def test_syncer_asks_for_a_full_snapshot_after_a_gap(box):
    asked = []
    replies = [{'version': 15, 'since': 12, 'vehicles': []}, snapshot(version=15)]

    def fetch(since):
        asked.append(since)
        return replies.pop(0)
    syncer = Syncer(box, fetch)
    assert syncer.sync_once() is None and syncer.last_error.code == 'sync.gap'
    assert syncer.sync_once().full is True
    assert asked == [10, 0] and box.version == 15
    assert syncer.status()['last_error_code'] == 'sync.gap'    # kept for the status page
    assert syncer.failures == 0


def test_syncer_records_a_malformed_reply(box):
    syncer = Syncer(box, lambda since: ['not', 'an', 'object'])
    assert syncer.sync_once() is None
    assert syncer.last_error.code == 'sync.bad_payload' and box.version == 10


def test_http_fetcher_sends_since_and_the_lane_token():
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen['path'] = self.path
            seen['auth'] = self.headers.get('Authorization')
            body = json.dumps({'version': 3, 'full': True}).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass
    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        fetch = cache_mod.http_fetcher('http://127.0.0.1:%d/' % server.server_port, 'tok-1')
        assert fetch(42) == {'version': 3, 'full': True}
    finally:
        server.shutdown()
        server.server_close()
    assert seen == {'path': '/env_gate/api/v1/sync?since=42', 'auth': 'Bearer tok-1'}
