"""The gate box's durable outbox: events wait here, in order, until the ERP confirms them.

The box answers a camera (and opens the barrier) before the ERP has seen the read, so the
read must not depend on the network: `Outbox.put` writes it to a SQLite file and returns
only once the commit is on disk. The forwarder (forwarder.py) then reads the oldest batch
with `peek`, and after the ERP's answer calls `ack` (accepted or duplicate: delete),
`defer` (not delivered: try again later) or `quarantine` (the ERP refused the event for
good: move it to the `dead` table with the ERP's reason, where it is reported and never
retried by itself).

Durability. One SQLite file per box in WAL mode with `synchronous=FULL`: every commit
fsyncs the write-ahead log, so a row put() returned for survives the process being
killed (SIGKILL) and the power going off, and the file stays consistent. The journal mode
is persistent in the file; `synchronous` is per connection and set on each open.

Order. Rows carry an AUTOINCREMENT sequence (never reused, even after the newest rows are
deleted) and `peek` returns them oldest first. A lane whose oldest row is deferred is held
back from that row on, so a lane's events always reach the ERP in the order they were put;
other lanes go on meanwhile.

Idempotency. `event_id` is unique: a camera's resend or an offline replay of the same read
puts nothing (put() returns False). An id already in `dead` is refused the same way.

Thread-safe: one connection guarded by a lock (SQLite serialises writers anyway).
Standard library only.
"""
import collections
import json
import os
import sqlite3
import threading
import time

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_LIMIT = 500     # hj1321.events.MAX_EVENTS: the ERP takes at most 500 per request

OutboxRow = collections.namedtuple('OutboxRow', (
    'seq event_id lane payload bytes created attempts last_error next_attempt'))
OutboxRow.__doc__ = """One pending event.

seq: position in the outbox (AUTOINCREMENT, never reused). payload: the event as JSON
text, exactly as put. bytes: its size in UTF-8. created and next_attempt: epoch seconds
(next_attempt 0 = due now). attempts: failed deliveries so far; last_error: why the last
one failed, or None."""

DeadRow = collections.namedtuple('DeadRow', (
    'seq event_id lane payload bytes created attempts reason code dead_at'))
DeadRow.__doc__ = """One quarantined event: refused by the ERP for good (code and reason as
the ERP gave them), kept until a person has looked at it."""

_SCHEMA = (
    # payload is the last column: SQLite then reads seq/bytes/next_attempt of a row
    # without loading a large payload's overflow pages.
    """CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        lane TEXT NOT NULL,
        created REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_attempt REAL NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL,
        payload TEXT NOT NULL)""",
    'CREATE INDEX IF NOT EXISTS outbox_next_attempt ON outbox (next_attempt)',
    """CREATE TABLE IF NOT EXISTS dead (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        lane TEXT NOT NULL,
        created REAL NOT NULL,
        attempts INTEGER NOT NULL,
        reason TEXT NOT NULL,
        code TEXT,
        dead_at REAL NOT NULL,
        bytes INTEGER NOT NULL,
        payload TEXT NOT NULL)""",
)
_ROW = 'seq, event_id, lane, payload, bytes, created, attempts, last_error, next_attempt'
_DEAD = 'seq, event_id, lane, payload, bytes, created, attempts, reason, code, dead_at'


def _encode(event):
    """(event_id, lane, JSON text) of an event dict; ValueError when it cannot be queued."""
    if not isinstance(event, dict):
        raise ValueError('an event must be a dict, got %s' % type(event).__name__)
    event_id, lane = event.get('event_id'), event.get('lane')
    if not isinstance(event_id, str) or not event_id:
        raise ValueError('an event needs a non-empty string event_id')
    if not isinstance(lane, str) or not lane:
        raise ValueError('event %s needs a non-empty string lane' % event_id)
    # The text is kept as given: judging the content is the ERP's job (one place for the
    # rules), and what it refuses ends in `dead`, reported, rather than lost here.
    # Compact separators: pictures make the rows large enough without padding.
    return event_id, lane, json.dumps(event, ensure_ascii=False, separators=(',', ':'))


class Outbox(object):
    """A durable FIFO of events on their way to the ERP, in one SQLite file.

    `path` is created when missing (its directory must exist). `timeout` is how long a
    write waits for another connection's lock (another process reading the same file).
    """

    def __init__(self, path, timeout=30.0):
        self.path = path
        self._lock = threading.Lock()
        existed = os.path.exists(path)
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            mode = conn.execute('PRAGMA journal_mode=WAL').fetchone()[0]
            if mode.lower() != 'wal':
                raise sqlite3.OperationalError('%s: cannot use WAL mode (got %s)' % (path, mode))
            conn.execute('PRAGMA synchronous=FULL')
            conn.execute('BEGIN IMMEDIATE')
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute('COMMIT')
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        if not existed:
            # A new file's directory entry must reach the disk too, or a power cut right
            # after the first put() could lose the whole file.
            fsync_dir(os.path.dirname(os.path.abspath(path)))

    # -- life cycle ---------------------------------------------------------------------

    def close(self):
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _write(self, func, *args):
        """Run func(conn, *args) in one immediate transaction; durable when it returns."""
        with self._lock:
            conn = self._conn
            if conn is None:
                raise sqlite3.ProgrammingError('the outbox %s is closed' % self.path)
            conn.execute('BEGIN IMMEDIATE')
            try:
                result = func(conn, *args)
            except BaseException:
                conn.execute('ROLLBACK')
                raise
            conn.execute('COMMIT')
            return result

    def _read(self, sql, params=()):
        with self._lock:
            if self._conn is None:
                raise sqlite3.ProgrammingError('the outbox %s is closed' % self.path)
            return self._conn.execute(sql, params).fetchall()

    # -- writing ------------------------------------------------------------------------

    def put(self, event):
        """Queue one event (a dict with at least event_id and lane, JSON-serialisable).

        Returns True once the row is committed and on disk, False when an event with this
        event_id is already queued or quarantined (nothing is written). Raises ValueError
        (no event_id or lane) or TypeError (not JSON-serialisable) before writing anything.
        """
        return self.put_many([event])[0]

    def put_many(self, events):
        """Queue several events in one transaction (one fsync); a list of put() results."""
        rows = [_encode(event) for event in events]
        return self._write(_insert, rows, time.time())

    def ack(self, event_ids):
        """Delete confirmed events (accepted or duplicate at the ERP); returns how many."""
        event_ids = list(event_ids)
        return self._write(lambda conn: sum(
            conn.execute('DELETE FROM outbox WHERE event_id = ?', (event_id,)).rowcount
            for event_id in event_ids))

    def defer(self, event_ids, error, next_time):
        """Record a failed delivery: attempts + 1, last_error, next try at epoch next_time.

        The lane of a deferred row is held back from that row on until next_time (see
        peek). Returns how many rows were updated.
        """
        event_ids = list(event_ids)
        return self._write(lambda conn: sum(conn.execute(
            'UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt = ? '
            'WHERE event_id = ?', (error, next_time, event_id)).rowcount
            for event_id in event_ids))

    def release(self, lanes=None):
        """Make deferred rows (of `lanes`, or all) due now; attempts and errors are kept.

        For a restart, a lane token just corrected, or the wall clock set back (next
        attempt times would otherwise lie far in the future). Returns how many rows.
        """
        def _release(conn):
            if lanes is None:
                return conn.execute('UPDATE outbox SET next_attempt = 0 '
                                    'WHERE next_attempt > 0').rowcount
            return sum(conn.execute('UPDATE outbox SET next_attempt = 0 '
                                    'WHERE next_attempt > 0 AND lane = ?', (lane,)).rowcount
                       for lane in lanes)
        return self._write(_release)

    def quarantine(self, event_id, reason, code=None):
        """Move an event the ERP refused for good to the `dead` table with its reason.

        It is not retried, and stays listed by dead() and counted by stats() until a
        person deals with it (requeue() sends it again). Returns False when the event is
        not in the outbox.
        """
        def _move(conn):
            moved = conn.execute(
                'INSERT OR IGNORE INTO dead (seq, event_id, lane, created, attempts, reason, '
                'code, dead_at, bytes, payload) '
                'SELECT seq, event_id, lane, created, attempts, ?, ?, ?, bytes, payload '
                'FROM outbox WHERE event_id = ?',
                (reason or 'rejected', code, time.time(), event_id)).rowcount
            conn.execute('DELETE FROM outbox WHERE event_id = ?', (event_id,))
            return bool(moved)
        return self._write(_move)

    def requeue(self, event_id):
        """Put a quarantined event back at the end of the outbox (after a fix at the ERP).

        Returns False when no such dead event exists.
        """
        def _requeue(conn):
            row = conn.execute('SELECT event_id, lane, payload, bytes FROM dead '
                               'WHERE event_id = ?', (event_id,)).fetchone()
            if row is None:
                return False
            conn.execute('DELETE FROM dead WHERE event_id = ?', (event_id,))
            conn.execute('INSERT INTO outbox (event_id, lane, created, bytes, payload) '
                         'VALUES (?, ?, ?, ?, ?)', (row[0], row[1], time.time(), row[3], row[2]))
            return True
        return self._write(_requeue)

    # -- reading ------------------------------------------------------------------------

    def peek(self, limit=DEFAULT_LIMIT, max_bytes=DEFAULT_MAX_BYTES, now=None):
        """The oldest due events, oldest first, as OutboxRow; nothing is removed.

        At most `limit` rows whose payloads add up to at most `max_bytes` (but always the
        first due row, however large, so one big event cannot block the outbox). A row is
        due when its next_attempt <= now (epoch seconds, default the current time); a
        lane whose earliest deferred row is not due yet is left out from that row on, so
        no lane's event overtakes an earlier one of the same lane.
        """
        now = time.time() if now is None else now
        with self._lock:
            if self._conn is None:
                raise sqlite3.ProgrammingError('the outbox %s is closed' % self.path)
            conn = self._conn
            held = conn.execute('SELECT lane, MIN(seq) FROM outbox WHERE next_attempt > ? '
                                'GROUP BY lane', (now,)).fetchall()
            # one clause per held lane (a box has a handful of lanes); values are bound
            sql = 'SELECT %s FROM outbox WHERE next_attempt <= ?%s ORDER BY seq LIMIT ?' % (
                _ROW, ' AND NOT (lane = ? AND seq >= ?)' * len(held))
            params = [now]
            for lane, seq in held:
                params.extend((lane, seq))
            params.append(max(1, int(limit)))
            rows, total = [], 0
            # the cursor steps lazily: rows past the byte budget are never loaded
            for row in conn.execute(sql, params):
                if rows and total + row[4] > max_bytes:
                    break
                rows.append(OutboxRow(*row))
                total += row[4]
            return rows

    def next_due(self, now=None):
        """Epoch time of the earliest retry still ahead of `now` (default the current
        time), or None when no row waits for one."""
        now = time.time() if now is None else now
        return self._read('SELECT MIN(next_attempt) FROM outbox WHERE next_attempt > ?',
                          (now,))[0][0]

    def dead(self, limit=100):
        """The quarantined events, oldest first, as DeadRow."""
        return [DeadRow(*row) for row in self._read(
            'SELECT %s FROM dead ORDER BY seq LIMIT ?' % _DEAD, (int(limit),))]

    def stats(self, now=None):
        """Counts for a status page.

        {'pending': rows waiting, 'bytes': their payload size, 'oldest_age': seconds since
        the oldest pending row was put (None when empty), 'deferred': rows waiting for a
        retry, 'max_attempts': most failed deliveries of one pending row, 'dead':
        quarantined rows}.
        """
        now = time.time() if now is None else now
        with self._lock:
            if self._conn is None:
                raise sqlite3.ProgrammingError('the outbox %s is closed' % self.path)
            conn = self._conn
            pending, oldest, size, deferred, attempts = conn.execute(
                'SELECT COUNT(*), MIN(created), COALESCE(SUM(bytes), 0), '
                'COALESCE(SUM(next_attempt > 0), 0), COALESCE(MAX(attempts), 0) '
                'FROM outbox').fetchone()
            dead = conn.execute('SELECT COUNT(*) FROM dead').fetchone()[0]
        return {'pending': pending, 'bytes': size,
                'oldest_age': None if oldest is None else max(0.0, now - oldest),
                'deferred': deferred, 'max_attempts': attempts, 'dead': dead}

    def integrity_check(self):
        """SQLite's PRAGMA integrity_check: ['ok'] for a sound file."""
        return [row[0] for row in self._read('PRAGMA integrity_check')]


def _insert(conn, rows, now):
    results = []
    for event_id, lane, text in rows:
        if conn.execute('SELECT 1 FROM dead WHERE event_id = ?', (event_id,)).fetchone():
            results.append(False)
            continue
        results.append(conn.execute(
            'INSERT OR IGNORE INTO outbox (event_id, lane, created, bytes, payload) '
            'VALUES (?, ?, ?, ?, ?)',
            (event_id, lane, now, len(text.encode('utf-8')), text)).rowcount == 1)
    return results


def fsync_dir(path):
    """Make a file created or renamed in directory `path` durable (its entry, not only
    its bytes). The cache's atomic writes use it too."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:     # not possible on every platform (Windows): nothing more to do
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
