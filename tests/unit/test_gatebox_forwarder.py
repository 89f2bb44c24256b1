"""gatebox.forwarder against a fake ERP: real HTTP on loopback, real SQLite outboxes.

The fake ERP answers like POST /env_gate/api/v1/events (controllers/main.py): lane tokens,
the envelope and each event checked by the real contract code (hj1321.events), results in
order, idempotent on event id ('duplicate' the second time). It can be told to fail the
next requests in the ways a real network and server do.
"""
import collections
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gatebox import forwarder as forwarder_module
from gatebox.forwarder import Forwarder
from gatebox.outbox import Outbox
from hj1321 import events as event_rules
from hj1321.errors import Hj1321Error

TOKENS = {'tok-e-in': 'E-IN', 'tok-e-out': 'E-OUT'}
LANE_TOKENS = {lane: token for token, lane in TOKENS.items()}


class _Server(ThreadingHTTPServer):
    daemon_threads = True           # a handler sleeping for the timeout test ends with us
    allow_reuse_address = True


class FakeErp(object):
    """The ERP's ingestion endpoint on 127.0.0.1.

    accepted: Counter of event ids stored (each must end at 1); stored: (lane, event id)
    in the order stored; requests: (lane or None, [event ids]) per request received.
    faults: what the next requests get instead of a normal answer: '500', 'garbage'
    (an HTML page), 'no_results', 'mismatch' (stored, answered with the results reversed),
    'slow' (stored, answered after `slow_seconds`), '404'.
    """

    def __init__(self, port=0, slow_seconds=1.0):
        self.accepted = collections.Counter()
        self.stored = []
        self.requests = []
        self.faults = []
        self.slow_seconds = slow_seconds
        self.lock = threading.Lock()
        erp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                status, reply, delay = erp.answer(self.path, self.headers.get('Authorization', ''),
                                                  body)
                if delay:
                    time.sleep(delay)
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                try:
                    self.send_response(status)
                    self.send_header('Content-Type', 'text/html' if isinstance(reply, bytes)
                                     else 'application/json; charset=utf-8')
                    self.send_header('Content-Length', str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:     # the client gave up (timeout): nothing to answer
                    pass

        self.server = _Server(('127.0.0.1', port), Handler)
        self.port = self.server.server_address[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path, authorization, body):
        with self.lock:
            fault = self.faults.pop(0) if self.faults else None
            token = authorization[7:].strip() if authorization.lower().startswith('bearer ') \
                else ''
            lane = TOKENS.get(token)
            try:
                ids = [e.get('event_id') for e in json.loads(body.decode())['events']]
            except (ValueError, KeyError, AttributeError):
                ids = None
            self.requests.append((lane, ids))
            if path != '/env_gate/api/v1/events':
                return 404, {'error': 'not_found'}, 0
            if fault == '500':
                return 500, {'error': 'internal', 'message': 'database is restarting'}, 0
            if fault == '404':
                return 404, {'error': 'no_database', 'message': 'no database selected'}, 0
            if fault == 'garbage':
                return 200, b'<html><body>502 Bad Gateway</body></html>', 0
            if fault == 'no_results':
                return 200, {'accepted': 0}, 0
            if lane is None:
                return 401, {'error': 'unauthorized',
                             'message': 'missing or unknown lane token'}, 0
            try:
                raw_events = event_rules.parse_request(body)
            except Hj1321Error as exc:
                return 400, {'error': exc.code, 'message': exc.message_en,
                             'message_zh': exc.message_zh}, 0
            results = [self._ingest(lane, raw) for raw in raw_events]
            counts = {s: sum(1 for r in results if r['status'] == s)
                      for s in ('accepted', 'duplicate', 'rejected')}
            if fault == 'mismatch':
                results.reverse()
            return 200, dict(counts, results=results), self.slow_seconds if fault == 'slow' else 0

    def _ingest(self, lane, raw):
        try:
            event = event_rules.parse_event(raw)
            if event.lane != lane:
                raise Hj1321Error('event.wrong_lane', '车道不符', 'the token belongs to lane %s'
                                  % lane)
        except Hj1321Error as exc:
            return {'event_id': raw.get('event_id') if isinstance(raw, dict) else None,
                    'status': 'rejected', 'code': exc.code, 'reason': exc.message_en,
                    'reason_zh': exc.message_zh}
        if self.accepted[event.event_id]:
            return {'event_id': event.event_id, 'status': 'duplicate'}
        self.accepted[event.event_id] += 1
        self.stored.append((lane, event.event_id))
        return {'event_id': event.event_id, 'status': 'accepted'}


def _free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _event(n, lane='E-IN', **extra):
    event = {'event_id': 'ev-%05d' % n, 'type': 'plate', 'lane': lane,
             'time': '2026-11-28T08:%02d:%02d+08:00' % (n // 60 % 60, n % 60),
             'plate': '沪A%05d' % n, 'plate_color': '1', 'confidence': 96.5}
    event.update(extra)
    return event


@pytest.fixture
def erp():
    server = FakeErp()
    yield server
    server.close()


@pytest.fixture
def box(tmp_path):
    with Outbox(str(tmp_path / 'outbox.sqlite')) as opened:
        yield opened


def _forwarder(box, url, tokens=None, **options):
    options.setdefault('timeout', (0.5, 0.5))
    options.setdefault('backoff_base', 0.02)
    options.setdefault('backoff_cap', 0.1)
    options.setdefault('poll_interval', 0.02)
    return Forwarder(box, url, LANE_TOKENS if tokens is None else tokens, **options)


def _drain(forwarder, deadline=2.5):
    """run_once until the outbox is empty (deferred rows are retried once due)."""
    end = time.time() + deadline
    rounds = []
    while forwarder.outbox.stats()['pending']:
        assert time.time() < end, 'outbox not drained: %s' % forwarder.status()
        summary = forwarder.run_once()
        rounds.append(summary)
        if not summary['events'] or summary['deferred']:
            time.sleep(0.02)
    return rounds


def _put(box, events):
    assert all(box.put_many(events))
    return [(e['lane'], e['event_id']) for e in events]


def _per_lane(pairs):
    lanes = collections.defaultdict(list)
    for lane, event_id in pairs:
        lanes[lane].append(event_id)
    return dict(lanes)


def test_delivers_a_batch_in_order_per_lane_and_acks(box, erp):
    sent = _put(box, [_event(n, 'E-IN' if n % 3 else 'E-OUT') for n in range(40)])
    forwarder = _forwarder(box, erp.url)
    summary = forwarder.run_once()
    assert summary == {'events': 40, 'requests': 2, 'accepted': 40, 'duplicate': 0,
                       'rejected': 0, 'deferred': 0, 'state': 'idle'}
    assert _per_lane(erp.stored) == _per_lane(sent)
    assert [lane for lane, _ids in erp.requests] == ['E-OUT', 'E-IN']   # oldest lane first
    assert box.stats()['pending'] == 0
    status = forwarder.status()
    assert status['state'] == 'idle' and status['last_error'] is None
    assert status['last_success'] is not None
    assert status['totals'] == {'requests': 2, 'sent': 40, 'accepted': 40, 'duplicate': 0,
                                'rejected': 0, 'failures': 0}
    assert forwarder.run_once()['events'] == 0


def test_batch_size_and_byte_budget_split_the_backlog_in_order(box, erp):
    picture = '/9j/' + 'A' * 20000          # base64 of a JPEG header and zeros
    sent = _put(box, [_event(n, pictures={'front': picture}) for n in range(23)])
    size = box.peek(limit=1)[0].bytes
    forwarder = _forwarder(box, erp.url, batch_size=10, max_bytes=5 * size + 10)
    rounds = _drain(forwarder)
    assert [r['events'] for r in rounds] == [5, 5, 5, 5, 3]
    assert erp.stored == sent
    assert set(erp.accepted.values()) == {1}


def test_erp_down_then_up_delivers_everything_once_in_order(tmp_path):
    port = _free_port()
    with Outbox(str(tmp_path / 'outbox.sqlite')) as box:
        sent = _put(box, [_event(n, 'E-IN' if n % 2 else 'E-OUT') for n in range(30)])
        forwarder = _forwarder(box, 'http://127.0.0.1:%d/' % port, batch_size=8)
        summary = forwarder.run_once()
        # connection refused: one request, the whole batch deferred, nothing deleted
        assert summary['requests'] == 1 and summary['deferred'] == 8
        status = forwarder.status()
        assert status['state'] == 'backing_off' and status['pending'] == 30
        assert 'unreachable' in status['last_error']['message']
        assert box.peek(limit=1, now=time.time() + 60)[0].attempts == 1
        forwarder.start()
        time.sleep(0.2)                     # a few more refused rounds, backing off
        erp = FakeErp(port=port)
        try:
            deadline = time.time() + 2.5
            while box.stats()['pending'] and time.time() < deadline:
                time.sleep(0.02)
            forwarder.stop(timeout=2)
            assert not forwarder.status()['running']
            assert box.stats()['pending'] == 0
            assert _per_lane(erp.stored) == _per_lane(sent)
            assert set(erp.accepted.values()) == {1}
            assert forwarder.status()['state'] == 'idle'
            assert forwarder.status()['totals']['failures'] >= 2
        finally:
            erp.close()


@pytest.mark.parametrize('fault, error', [
    ('500', 'HTTP 500 from the ERP: internal - database is restarting'),
    ('404', 'HTTP 404 from the ERP: no_database'),
    ('garbage', 'HTTP 200 but the body is not JSON'),
    ('no_results', 'HTTP 200 but the answer has no results list'),
    ('mismatch', 'HTTP 200 but result 0 is not for event ev-00000'),
    ('slow', 'no answer from the ERP within 0.3 s'),
])
def test_failed_delivery_keeps_everything_and_retries(box, erp, fault, error):
    sent = _put(box, [_event(n) for n in range(12)])
    erp.faults = [fault, fault]
    erp.slow_seconds = 0.6
    forwarder = _forwarder(box, erp.url, timeout=(0.5, 0.3), backoff_base=0.2,
                           backoff_cap=0.2)
    summary = forwarder.run_once()
    assert (summary['events'], summary['deferred'], summary['accepted']) == (12, 12, 0)
    status = forwarder.status()
    assert status['state'] == 'backing_off' and status['pending'] == 12
    assert status['last_error']['message'].startswith(error)
    assert status['lanes']['E-IN']['failures'] == 1
    # not due before the back-off: the next round sends nothing
    assert forwarder.run_once()['requests'] == 0
    _drain(forwarder)
    assert erp.stored == sent
    assert set(erp.accepted.values()) == {1}
    assert forwarder.status()['state'] == 'idle'
    if fault in ('mismatch', 'slow'):
        # the ERP had stored them; the retries came back as duplicates and were acked
        assert forwarder.status()['totals']['duplicate'] == 12
    else:
        assert forwarder.status()['totals']['duplicate'] == 0


def test_unauthorized_lane_waits_and_others_go_on(box, erp, caplog):
    caplog.set_level(logging.DEBUG)
    sent = _put(box, [_event(n, 'E-IN' if n % 2 else 'E-OUT') for n in range(10)])
    forwarder = _forwarder(box, erp.url, tokens={'E-IN': 'wrong-secret-e-in',
                                                 'E-OUT': 'tok-e-out'})
    summary = forwarder.run_once()
    assert (summary['accepted'], summary['deferred']) == (5, 5)
    status = forwarder.status()
    assert status['state'] == 'unauthorized'
    assert status['lanes']['E-IN']['state'] == 'unauthorized'
    assert status['lanes']['E-OUT']['state'] == 'ok'
    assert 'HTTP 401' in status['last_error']['message']
    assert 'lane E-IN' in status['last_error']['message']
    assert status['pending'] == 5
    assert any('401' in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    time.sleep(0.15)
    forwarder.run_once()                                    # still refused, still kept
    assert box.stats()['pending'] == 5 and box.stats()['dead'] == 0
    # the token is corrected: the lane is retried at once
    forwarder.set_tokens(LANE_TOKENS)
    forwarder.run_once()
    assert _per_lane(erp.stored) == _per_lane(sent)
    assert forwarder.status()['state'] == 'idle'
    assert 'wrong-secret-e-in' not in caplog.text and 'tok-e-out' not in caplog.text
    assert 'wrong-secret' not in json.dumps(forwarder.status())


def test_lane_without_token_is_not_sent(box, erp):
    _put(box, [_event(1, 'W-IN'), _event(2, 'E-IN')])
    forwarder = _forwarder(box, erp.url)
    summary = forwarder.run_once()
    assert (summary['requests'], summary['accepted'], summary['deferred']) == (1, 1, 1)
    status = forwarder.status()
    assert status['state'] == 'unauthorized'
    assert 'no token configured for lane W-IN' in status['lanes']['W-IN']['last_error']
    assert [ids for _lane, ids in erp.requests] == [['ev-00002']]


def test_unusable_token_is_refused_without_showing_it(box, erp, caplog):
    _put(box, [_event(1)])
    forwarder = _forwarder(box, erp.url, tokens={'E-IN': 'secret\r\nX-Injected: 1'})
    assert forwarder.run_once()['deferred'] == 1
    assert erp.requests == []
    status = forwarder.status()
    assert status['state'] == 'unauthorized'
    assert 'printable ASCII' in status['last_error']['message']
    assert 'secret' not in caplog.text and 'secret' not in json.dumps(status)


def test_rejected_event_is_quarantined_with_the_erps_reason(box, erp):
    sent = _put(box, [_event(0), _event(1, plate_color='9'), _event(2),
                      _event(3, lane='E-OUT')])     # E-OUT event sent with E-OUT's token
    forwarder = _forwarder(box, erp.url)
    summary = forwarder.run_once()
    assert (summary['accepted'], summary['rejected'], summary['deferred']) == (3, 1, 0)
    assert erp.stored == [pair for pair in sent if pair[1] != 'ev-00001']
    dead = box.dead()
    assert [(d.event_id, d.code) for d in dead] == [('ev-00001', 'event.bad_color')]
    assert 'plate_color' in dead[0].reason and '号牌颜色' in dead[0].reason
    assert forwarder.status()['dead'] == 1 and forwarder.status()['pending'] == 0


def test_poisonous_event_is_isolated_and_the_rest_delivered_in_order(box, erp):
    # NaN is not JSON: the ERP refuses the whole request (400 request.bad_json)
    events = [_event(n) for n in range(20)]
    events[13]['confidence'] = float('nan')
    events[4]['extra'] = {'reading': float('inf')}
    sent = _put(box, events)
    forwarder = _forwarder(box, erp.url)
    summary = forwarder.run_once()
    assert (summary['accepted'], summary['rejected'], summary['deferred']) == (18, 2, 0)
    assert summary['requests'] < 20        # halving, not one request per event
    assert erp.stored == [pair for pair in sent if pair[1] not in ('ev-00004', 'ev-00013')]
    assert set(erp.accepted.values()) == {1}
    dead = {d.event_id: d for d in box.dead()}
    assert sorted(dead) == ['ev-00004', 'ev-00013']
    assert dead['ev-00013'].code == 'request.bad_json'
    assert 'not valid UTF-8 JSON' in dead['ev-00013'].reason
    assert box.stats()['pending'] == 0
    assert forwarder.status()['state'] == 'idle'


def test_failure_while_halving_holds_the_rest_of_the_lane(box, erp):
    events = [_event(n) for n in range(8)]
    events[1]['confidence'] = float('nan')
    sent = _put(box, events)
    # whole batch 400, left half [0..3] 400, [0, 1] 400, [0] gets a 500
    erp.faults = [None, None, None, '500']
    forwarder = _forwarder(box, erp.url)
    summary = forwarder.run_once()
    assert (summary['accepted'], summary['deferred']) == (0, 8)
    assert erp.stored == []
    _drain(forwarder)
    assert erp.stored == [pair for pair in sent if pair[1] != 'ev-00001']
    assert [d.event_id for d in box.dead()] == ['ev-00001']


def test_run_loop_forwards_what_is_put_while_running(box, erp):
    forwarder = _forwarder(box, erp.url, poll_interval=5)
    forwarder.start()
    try:
        sent = []
        for n in range(15):
            sent += _put(box, [_event(n)])
            forwarder.wake()
        deadline = time.time() + 2
        while len(erp.stored) < 15 and time.time() < deadline:
            time.sleep(0.01)
    finally:
        forwarder.stop(timeout=2)
    assert erp.stored == sent
    assert not forwarder.status()['running']


def test_backoff_doubles_up_to_the_cap_with_jitter(box):
    low = Forwarder(box, 'http://127.0.0.1:1', {}, backoff_base=1.0, backoff_cap=60.0,
                    random_func=lambda: 0.0)
    high = Forwarder(box, 'http://127.0.0.1:1', {}, backoff_base=1.0, backoff_cap=60.0,
                     random_func=lambda: 1.0)
    assert [high.backoff(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert [low.backoff(n) for n in range(1, 4)] == [0.5, 1, 2]
    assert high.backoff(10 ** 6) == 60


def test_configuration_defaults(box):
    forwarder = Forwarder(box, 'http://127.0.0.1:8069/', {'E-IN': 'x'})
    assert forwarder.url == 'http://127.0.0.1:8069/env_gate/api/v1/events'
    assert forwarder.timeout == (3.0, 30.0)
    assert forwarder.batch_size == 500
    assert Forwarder(box, forwarder.url, {}).url == forwarder.url
    assert Forwarder(box, forwarder.url, {}, batch_size=2000).batch_size == 500
    assert forwarder_module.MAX_BATCH == event_rules.MAX_EVENTS
    assert forwarder.status()['state'] == 'idle'


def test_wake_for_a_lane_waiting_for_its_retry_does_nothing(box):
    # Every camera read wakes the forwarder; during an ERP outage a round is a scan of
    # the deferred rows under the outbox lock that the next read then waits for.
    forwarder = _forwarder(box, 'http://127.0.0.1:%d' % _free_port(), backoff_base=30,
                           backoff_cap=30)
    _put(box, [_event(1, 'E-IN')])
    assert forwarder.run_once()['deferred'] == 1
    forwarder._wake.clear()
    forwarder.wake('E-IN')
    assert not forwarder._wake.is_set()
    forwarder.wake('E-OUT')
    assert forwarder._wake.is_set()
    forwarder._wake.clear()
    forwarder.wake()
    assert forwarder._wake.is_set()


def test_quiet_waits_for_a_round_and_holds_the_next_one(box, erp):
    forwarder = _forwarder(box, erp.url)
    with forwarder.quiet(timeout=1) as quiet:
        assert quiet
        started = threading.Event()
        done = threading.Event()

        def round_():
            started.set()
            forwarder.run_once()
            done.set()
        threading.Thread(target=round_, daemon=True).start()
        assert started.wait(1)
        assert not done.wait(0.2)           # held back while the box talks to the ERP
    assert done.wait(2)
    with forwarder._run_lock:               # a round in progress
        with forwarder.quiet(timeout=0.05) as quiet:
            assert quiet is False
