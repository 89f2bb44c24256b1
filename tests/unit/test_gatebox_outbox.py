"""gatebox.outbox: the durable FIFO the gate box forwards from; real SQLite files in tmp_path."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from gatebox import outbox as outbox_module
from gatebox.outbox import Outbox

ADDON = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                      'addons', 'env_gate_hw'))


def _event(n, lane='E-IN', **extra):
    event = {'event_id': 'ev-%05d' % n, 'type': 'plate', 'lane': lane,
             'time': '2026-11-28T08:15:%02d+08:00' % (n % 60), 'plate': '沪A%05d' % n}
    event.update(extra)
    return event


@pytest.fixture
def box(tmp_path):
    with Outbox(str(tmp_path / 'outbox.sqlite')) as opened:
        yield opened


def _ids(rows):
    return [row.event_id for row in rows]


def test_file_is_wal_with_full_sync(tmp_path):
    path = str(tmp_path / 'outbox.sqlite')
    with Outbox(path) as box:
        assert box._conn.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'
        assert box._conn.execute('PRAGMA synchronous').fetchone()[0] == 2     # FULL
        assert box.put(_event(1))
    assert os.path.exists(path)


def test_peek_returns_oldest_first_across_lanes(box):
    lanes = ['E-IN', 'E-OUT', 'W-IN']
    for n in range(30):
        assert box.put(_event(n, lane=lanes[n % 3])) is True
    rows = box.peek(limit=100)
    assert _ids(rows) == ['ev-%05d' % n for n in range(30)]
    assert [row.seq for row in rows] == sorted(row.seq for row in rows)
    assert _ids(box.peek(limit=5)) == ['ev-%05d' % n for n in range(5)]
    # peek removes nothing
    assert box.stats()['pending'] == 30
    # the payload is the event as put
    assert json.loads(rows[7].payload) == _event(7, lane='E-OUT')
    assert rows[7].lane == 'E-OUT' and rows[7].attempts == 0 and rows[7].last_error is None


def test_duplicate_put_keeps_the_first_row(box):
    assert box.put(_event(1)) is True
    assert box.put(dict(_event(1), plate='沪B99999')) is False
    assert box.put_many([_event(2), _event(1), _event(2), _event(3)]) == [True, False, False,
                                                                          True]
    rows = box.peek()
    assert _ids(rows) == ['ev-00001', 'ev-00002', 'ev-00003']
    assert json.loads(rows[0].payload)['plate'] == '沪A00001'


@pytest.mark.parametrize('event', [
    {'lane': 'E-IN'}, {'event_id': '', 'lane': 'E-IN'}, {'event_id': 'x'},
    {'event_id': 7, 'lane': 'E-IN'}, ['not', 'a', 'dict']])
def test_put_refuses_what_cannot_be_forwarded(box, event):
    with pytest.raises(ValueError):
        box.put(event)
    assert box.stats()['pending'] == 0


def test_put_refuses_unserialisable_without_writing(box):
    with pytest.raises(TypeError):
        box.put_many([_event(1), _event(2, pictures={'front': b'\xff\xd8\xff'})])
    assert box.stats()['pending'] == 0


def test_ack_deletes_confirmed_events_only(box):
    box.put_many([_event(n) for n in range(6)])
    assert box.ack(['ev-00000', 'ev-00002', 'no-such-event']) == 2
    assert _ids(box.peek()) == ['ev-00001', 'ev-00003', 'ev-00004', 'ev-00005']
    assert box.ack([]) == 0


def test_defer_holds_the_lane_back_but_not_the_others(box):
    box.put_many([_event(0, 'E-IN'), _event(1, 'E-OUT'), _event(2, 'E-IN'), _event(3, 'E-OUT')])
    now = time.time()
    assert box.defer(['ev-00000'], 'HTTP 503 from the ERP', now + 10) == 1
    # E-IN waits from its deferred row on: ev-00002 must not overtake ev-00000
    assert _ids(box.peek(now=now)) == ['ev-00001', 'ev-00003']
    rows = box.peek(now=now + 11)
    assert _ids(rows) == ['ev-00000', 'ev-00001', 'ev-00002', 'ev-00003']
    assert (rows[0].attempts, rows[0].last_error) == (1, 'HTTP 503 from the ERP')
    assert rows[0].next_attempt == pytest.approx(now + 10)
    assert box.next_due(now) == pytest.approx(now + 10)
    assert box.next_due(now + 11) is None
    box.defer(['ev-00000'], 'timeout', now + 20)
    assert box.peek(now=now + 11)[0].event_id == 'ev-00001'
    assert box.stats(now=now)['deferred'] == 1
    assert box.stats(now=now)['max_attempts'] == 2
    assert box.release(['E-OUT']) == 0
    assert box.release(['E-IN']) == 1
    rows = box.peek(now=now)
    assert _ids(rows)[0] == 'ev-00000' and rows[0].attempts == 2     # history kept


def test_quarantine_moves_to_dead_with_the_reason(box):
    box.put_many([_event(n) for n in range(3)])
    assert box.quarantine('ev-00001', 'field plate_color: not in the table', code='event.bad_color')
    assert box.quarantine('ev-00001', 'again') is False
    assert _ids(box.peek()) == ['ev-00000', 'ev-00002']
    dead = box.dead()
    assert [(d.event_id, d.code, d.reason) for d in dead] == [
        ('ev-00001', 'event.bad_color', 'field plate_color: not in the table')]
    assert json.loads(dead[0].payload) == _event(1)
    assert box.stats()['dead'] == 1 and box.stats()['pending'] == 2
    # a resend of a quarantined read is not queued again
    assert box.put(_event(1)) is False
    # a person can send it again after fixing the ERP: it goes to the end
    assert box.requeue('ev-00001') is True
    assert box.requeue('ev-00001') is False
    assert _ids(box.peek()) == ['ev-00000', 'ev-00002', 'ev-00001']
    assert box.stats()['dead'] == 0


def test_peek_keeps_to_the_byte_budget(box):
    picture = '/9j/' + 'A' * 100000
    box.put_many([_event(n, pictures={'front': picture}) for n in range(5)] + [_event(5)])
    size = box.peek(limit=1)[0].bytes
    assert size > 100000
    assert len(box.peek(max_bytes=2 * size + 10)) == 2
    assert len(box.peek(max_bytes=size - 1)) == 1           # always at least one event
    assert len(box.peek(limit=3, max_bytes=10 ** 9)) == 3
    assert len(box.peek()) == 6                              # 5 MB default holds them all
    assert box.stats()['bytes'] == 5 * size + box.peek()[5].bytes


def test_stats(box):
    assert box.stats() == {'pending': 0, 'bytes': 0, 'oldest_age': None, 'deferred': 0,
                           'max_attempts': 0, 'dead': 0}
    box.put(_event(1))
    stats = box.stats(now=time.time() + 30)
    assert stats['pending'] == 1 and stats['bytes'] == box.peek()[0].bytes
    assert 29 < stats['oldest_age'] < 31


def test_durable_after_close_and_reopen(tmp_path):
    path = str(tmp_path / 'outbox.sqlite')
    with Outbox(path) as box:
        box.put_many([_event(n) for n in range(10)])
        box.ack(['ev-00008', 'ev-00009'])
        box.defer(['ev-00000'], 'timeout', 1.0)
        box.quarantine('ev-00005', 'rejected')
        last_seq = 10
    with Outbox(path) as box:
        rows = box.peek(now=2.0)
        assert _ids(rows) == ['ev-0000%d' % n for n in (0, 1, 2, 3, 4, 6, 7)]
        assert rows[0].attempts == 1 and rows[0].last_error == 'timeout'
        assert box.stats()['dead'] == 1
        # sequence numbers are never reused, even those of deleted newest rows
        box.put(_event(99))
        assert box.peek(now=2.0)[-1].seq == last_seq + 1
        assert box.integrity_check() == ['ok']


def test_closed_outbox_says_so(tmp_path):
    box = Outbox(str(tmp_path / 'outbox.sqlite'))
    box.close()
    box.close()
    with pytest.raises(sqlite3.ProgrammingError):
        box.put(_event(1))
    with pytest.raises(sqlite3.ProgrammingError):
        box.peek()


def test_threads_put_concurrently_in_order(box):
    def writer(lane):
        for n in range(60):
            assert box.put(_event(n, lane=lane, event_id='%s-%03d' % (lane, n)))

    threads = [threading.Thread(target=writer, args=('L%d' % i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = box.peek(limit=500)
    assert len(rows) == 240
    for i in range(4):
        lane = 'L%d' % i
        assert [r.event_id for r in rows if r.lane == lane] == ['%s-%03d' % (lane, n)
                                                               for n in range(60)]


_WRITER = r'''
import sys
sys.path.insert(0, sys.argv[1])
from gatebox.outbox import Outbox
box = Outbox(sys.argv[2])
picture = '/9j/' + 'Q' * 3000
n = 0
while True:
    event_id = 'kill-%06d' % n
    box.put({'event_id': event_id, 'type': 'plate', 'lane': 'E-IN' if n % 2 else 'E-OUT',
             'time': '2026-11-28T08:15:30+08:00', 'plate': '沪A12345',
             'pictures': {'front': picture}})
    sys.stdout.write(event_id + '\n')
    sys.stdout.flush()
    n += 1
'''


def test_every_acknowledged_put_survives_sigkill(tmp_path):
    path = str(tmp_path / 'outbox.sqlite')
    with Outbox(path) as box:       # some history the killed writer appends to
        box.put(_event(1))
    writer = subprocess.Popen([sys.executable, '-c', _WRITER, ADDON, path],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    printed = []
    try:
        deadline = time.time() + 10
        while len(printed) < 150 and time.time() < deadline:
            line = writer.stdout.readline()
            if not line:
                break
            printed.append(line.decode().strip())
        # killed in the middle of a burst: put() calls are in flight
        os.kill(writer.pid, signal.SIGKILL)
        rest, errors = writer.communicate(timeout=10)
    finally:
        if writer.poll() is None:
            os.kill(writer.pid, signal.SIGKILL)
            writer.wait()
    assert writer.returncode == -signal.SIGKILL
    assert len(printed) >= 150, errors.decode()
    printed += [line for line in rest.decode().splitlines() if line.strip()]
    with Outbox(path) as box:
        assert box.integrity_check() == ['ok']
        kept = _ids(box.peek(limit=100000, max_bytes=10 ** 9))
        assert kept[0] == 'ev-00001'
        missing = set(printed) - set(kept)
        assert not missing
        # in put order, and nothing but whole events: at most the one in flight is extra
        assert kept[1:len(printed) + 1] == printed
        assert len(kept) - 1 - len(printed) in (0, 1)
        for row in box.peek(limit=100000, max_bytes=10 ** 9):
            json.loads(row.payload)


def test_default_limit_is_the_erp_batch_limit():
    hj_events = pytest.importorskip('hj1321.events')
    assert outbox_module.DEFAULT_LIMIT == hj_events.MAX_EVENTS
