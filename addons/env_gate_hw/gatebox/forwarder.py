"""The forwarder: sends the outbox to the ERP in order, until the ERP has confirmed each event.

`Forwarder.run_once` takes the oldest due batch from the outbox (outbox.py), splits it by
lane (each lane has its own token; the order within a lane is kept) and POSTs each part to
the ERP's ingestion endpoint (`POST /env_gate/api/v1/events`, hj1321/events.py):

* 200 with one result per event sent, same ids in the same order: 'accepted' and
  'duplicate' (the ERP had it already: an earlier answer was lost) are deleted from the
  outbox; 'rejected' is moved to the outbox's `dead` table with the ERP's code and reason.
* 400 (the ERP's JSON error: the request as a whole is refused, e.g. an event holding NaN
  makes the body invalid JSON) or 413: the part is split in halves, each sent on its own,
  recursively, left half first; a single event still refused is quarantined with the
  ERP's error. Halving finds one bad event among 500 in about 18 requests instead of 500
  one-by-one, and sending left before right keeps the lane's order.
* 401: the lane's token is refused; its events stay, the lane backs off, state
  'unauthorized' until a token works (set_tokens() retries at once).
* Anything else is a delivery failure and deletes nothing: connection refused, timeout,
  5xx, another 4xx (404: no database), a body that is not JSON, JSON without `results`, or
  results that do not match the ids sent. The events are deferred with exponential back-off
  and jitter (per lane; `backoff_base` doubling up to `backoff_cap`). When the ERP cannot
  be reached at all, the rest of the batch is deferred with it without trying.

Retrying is safe because the ERP is idempotent on event id: an event it stored whose
answer was lost comes back as 'duplicate' and is then deleted.

`run()` loops over run_once in a thread (`start()` / `stop()`; `wake()` after a put skips
the poll wait) and `status()` gives a dict for the status page. Tokens never reach a log.
Standard library plus `requests`.
"""
import collections
import json
import logging
import random
import re
import threading
import time

import requests

from . import outbox as outbox_module

_logger = logging.getLogger(__name__)

ENDPOINT = '/env_gate/api/v1/events'
MAX_BATCH = 500         # hj1321.events.MAX_EVENTS: the ERP refuses more in one request
RESULT_STATUSES = ('accepted', 'duplicate', 'rejected')

OK = 'ok'
IDLE = 'idle'
BACKING_OFF = 'backing_off'
UNAUTHORIZED = 'unauthorized'

# How one request ended (internal): delivered (results applied), split (400/413),
# unauthorized (401), failed (retry later), unreachable (no connection: stop the batch).
_DELIVERED, _SPLIT, _UNAUTHORIZED, _FAILED, _UNREACHABLE = range(5)

_Reply = collections.namedtuple('_Reply', 'outcome results error')
_TOKEN = re.compile(r'[!-~]+\Z')     # printable ASCII, no spaces: fits a header as is


class Forwarder(object):
    """Forwards `outbox` (an outbox.Outbox) to the ERP at `url`.

    url: the ERP's base URL (http://host:8069) or the full endpoint URL.
    tokens: {lane code: lane token}; a lane without a token waits as 'unauthorized'.
    batch_size / max_bytes: the most events and payload bytes taken from the outbox at a
        time (the ERP takes at most 500 events per request).
    timeout: requests' (connect, read) timeout in seconds.
    backoff_base / backoff_cap: first retry delay and its ceiling, in seconds; each
        consecutive failure of a lane doubles the delay, and a random factor in [0.5, 1]
        (jitter) keeps several boxes from hammering a restarted ERP at the same moment.
    poll_interval: how often run() looks for new or newly due events when idle.
    """

    def __init__(self, outbox, url, tokens, batch_size=MAX_BATCH,
                 max_bytes=outbox_module.DEFAULT_MAX_BYTES, timeout=(3.0, 30.0),
                 backoff_base=1.0, backoff_cap=60.0, poll_interval=1.0, session=None,
                 random_func=random.random):
        self.outbox = outbox
        self.url = url.rstrip('/') if url.rstrip('/').endswith(ENDPOINT) \
            else url.rstrip('/') + ENDPOINT
        self.batch_size = max(1, min(int(batch_size), MAX_BATCH))
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.poll_interval = poll_interval
        self.session = session or requests.Session()
        self._random = random_func
        self._tokens = dict(tokens or {})
        self._lock = threading.Lock()       # guards the status fields below
        self._run_lock = threading.Lock()   # one run_once at a time
        self._lanes = {}        # lane -> {'state', 'failures', 'last_error', 'next_attempt'}
        self._last_success = None
        self._last_error = None
        self._last_now = None
        self._totals = dict.fromkeys(
            ('requests', 'sent', 'accepted', 'duplicate', 'rejected', 'failures'), 0)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None

    # -- configuration ------------------------------------------------------------------

    def set_tokens(self, tokens):
        """Replace the lane -> token mapping; lanes whose token changed are retried now."""
        tokens = dict(tokens or {})
        with self._lock:
            changed = [lane for lane in set(tokens) | set(self._tokens)
                       if tokens.get(lane) != self._tokens.get(lane)]
            self._tokens = tokens
            for lane in changed:
                self._lanes.pop(lane, None)
        if changed:
            self.outbox.release(changed)
            self.wake()

    def backoff(self, failures):
        """Seconds to wait after `failures` consecutive failures (>= 1), jitter included."""
        delay = min(self.backoff_cap, self.backoff_base * (2 ** min(failures - 1, 30)))
        return delay * (0.5 + 0.5 * self._random())

    # -- one round ----------------------------------------------------------------------

    def run_once(self):
        """Send the oldest due batch; returns what happened.

        {'events': rows taken from the outbox, 'requests': HTTP requests made,
        'accepted', 'duplicate', 'rejected' (quarantined), 'deferred' (to retry later):
        event counts, 'state': the overall state afterwards (see status())}.
        """
        with self._run_lock:
            now = time.time()
            if self._last_now is not None and now < self._last_now - 5:
                # The wall clock went back (NTP at boot on a box without a clock battery):
                # next attempt times were set on the old clock and could lie hours ahead.
                _logger.warning('system clock went back by %.0f s: retrying deferred events '
                                'now', self._last_now - now)
                self.outbox.release()
            self._last_now = now
            summary = dict.fromkeys(('events', 'requests', 'accepted', 'duplicate',
                                     'rejected', 'deferred'), 0)
            rows = self.outbox.peek(self.batch_size, self.max_bytes, now=now)
            summary['events'] = len(rows)
            by_lane = collections.OrderedDict()
            for row in rows:
                by_lane.setdefault(row.lane, []).append(row)
            unreachable = None
            for lane, lane_rows in by_lane.items():
                if unreachable is not None:
                    self._fail(lane, lane_rows, unreachable, summary, count=False)
                    continue
                token = self._tokens.get(lane)
                if not token:
                    self._unauthorized(lane, lane_rows, 'no token configured for lane %s '
                                       '(set the lane token on the gate box)' % lane, summary)
                    continue
                if not isinstance(token, str) or not _TOKEN.match(token):
                    # requests would refuse the header with the token in its message
                    self._unauthorized(lane, lane_rows, 'the token configured for lane %s '
                                       'has spaces or characters outside printable ASCII'
                                       % lane, summary)
                    continue
                if self._send(lane, token, lane_rows, summary) == _UNREACHABLE:
                    unreachable = self._lanes[lane]['last_error']
            summary['state'] = self._state()
            return summary

    def _send(self, lane, token, rows, summary):
        """Deliver `rows` of one lane, halving on 400/413.

        Returns _DELIVERED when every row was settled (acked or quarantined), else the
        failure that left rows deferred: a caller must then not send later rows of the lane.
        """
        reply = self._post(token, rows)
        summary['requests'] += 1
        if reply.outcome == _DELIVERED:
            self._apply(lane, rows, reply.results, summary)
            return _DELIVERED
        if reply.outcome == _SPLIT:
            if len(rows) == 1:
                code, reason = reply.error
                _logger.error('lane %s: event %s quarantined, the ERP refused it: %s',
                              lane, rows[0].event_id, reason)
                self.outbox.quarantine(rows[0].event_id, reason, code=code)
                summary['rejected'] += 1
                self._count(rejected=1, sent=1)
                self._succeeded(lane)
                return _DELIVERED
            half = len(rows) // 2
            first = self._send(lane, token, rows[:half], summary)
            if first != _DELIVERED:
                # the left half is deferred: the right half must not overtake it
                self._fail(lane, rows[half:], self._lanes[lane]['last_error'], summary,
                           count=False)
                return first
            return self._send(lane, token, rows[half:], summary)
        if reply.outcome == _UNAUTHORIZED:
            self._unauthorized(lane, rows, reply.error, summary)
        else:
            self._fail(lane, rows, reply.error, summary)
        return reply.outcome

    def _post(self, token, rows):
        """POST rows as one request and classify the answer (a _Reply)."""
        body = ('{"events":[%s]}' % ','.join(row.payload for row in rows)).encode('utf-8')
        headers = {'Authorization': 'Bearer ' + token,
                   'Content-Type': 'application/json; charset=utf-8'}
        self._count(requests=1)
        try:
            response = self.session.post(self.url, data=body, headers=headers,
                                         timeout=self.timeout)
        except requests.exceptions.ConnectTimeout as exc:
            return _Reply(_UNREACHABLE, None, 'ERP unreachable (connect timeout): %s'
                          % _short(exc))
        except requests.exceptions.Timeout as exc:
            return _Reply(_FAILED, None, 'no answer from the ERP within %s s: %s'
                          % (_read_timeout(self.timeout), _short(exc)))
        except requests.exceptions.ConnectionError as exc:
            return _Reply(_UNREACHABLE, None, 'ERP unreachable: %s' % _short(exc))
        except requests.exceptions.RequestException as exc:
            return _Reply(_FAILED, None, 'request failed: %s' % _short(exc))
        status = response.status_code
        data, problem = _json_body(response)
        if status == 200:
            if problem:
                return _Reply(_FAILED, None, 'HTTP 200 but %s' % problem)
            results, problem = _check_results(data, rows)
            if problem:
                return _Reply(_FAILED, None, 'HTTP 200 but %s' % problem)
            return _Reply(_DELIVERED, results, None)
        if status == 401:
            return _Reply(_UNAUTHORIZED, None, 'the ERP refused the lane token (HTTP 401)')
        if status == 413 or (status == 400 and isinstance(data, dict) and data.get('error')):
            # Only the ERP's own JSON error is a verdict on the content; a 400 from
            # something else on the way (a proxy) is retried like any other failure.
            if status == 413:
                return _Reply(_SPLIT, None, ('http.too_large', 'request too large (HTTP 413)'))
            reason = ' / '.join(str(data[key]) for key in ('message', 'message_zh')
                                if data.get(key)) or str(data['error'])
            return _Reply(_SPLIT, None, (str(data['error']), reason))
        detail = ''
        if isinstance(data, dict) and (data.get('error') or data.get('message')):
            detail = ': %s' % ' - '.join(str(data[k]) for k in ('error', 'message') if data.get(k))
        return _Reply(_FAILED, None, 'HTTP %s from the ERP%s' % (status, detail))

    def _apply(self, lane, rows, results, summary):
        acked, counts = [], dict.fromkeys(RESULT_STATUSES, 0)
        for row, result in zip(rows, results):
            status = result['status']
            counts[status] += 1
            if status == 'rejected':
                code = result.get('code')
                reason = ' / '.join(str(result[key]) for key in ('reason', 'reason_zh')
                                    if result.get(key)) or 'rejected'
                _logger.error('lane %s: event %s rejected by the ERP and quarantined: %s %s',
                              lane, row.event_id, code or '', reason)
                self.outbox.quarantine(row.event_id, reason, code=code)
            else:
                acked.append(row.event_id)
        if acked:
            self.outbox.ack(acked)
        for status, count in counts.items():
            summary[status] += count
        self._count(sent=len(rows), **counts)
        self._succeeded(lane)

    # -- state --------------------------------------------------------------------------

    def _lane(self, lane):
        return self._lanes.setdefault(lane, {'state': OK, 'failures': 0, 'last_error': None,
                                             'next_attempt': None})

    def _succeeded(self, lane):
        with self._lock:
            info = self._lane(lane)
            if info['state'] != OK:
                _logger.info('lane %s: the ERP confirms events again', lane)
            info.update(state=OK, failures=0, next_attempt=None)
            self._last_success = time.time()

    def _fail(self, lane, rows, error, summary, count=True, state=BACKING_OFF):
        """Defer rows of `lane` with back-off. count=False: rows not tried themselves
        (held behind a failure) get the same delay without a new failure being counted."""
        with self._lock:
            info = self._lane(lane)
            if not count and info['state'] != OK:
                state = info['state']   # held rows share the failure that holds them
            if count or not info['failures']:
                info['failures'] += 1
            delay = self.backoff(info['failures'])
            next_time = time.time() + delay
            info.update(state=state, last_error=error, next_attempt=next_time)
            self._last_error = {'time': time.time(), 'lane': lane, 'message': error}
            if count:
                self._totals['failures'] += 1
            failures = info['failures']
        self.outbox.defer([row.event_id for row in rows], error, next_time)
        summary['deferred'] += len(rows)
        if count:
            log = _logger.error if state == UNAUTHORIZED else _logger.warning
            log('lane %s: %d event(s) not delivered (failure %d in a row), retry in %.1f s: %s',
                lane, len(rows), failures, delay, error)

    def _unauthorized(self, lane, rows, error, summary):
        self._fail(lane, rows, '%s; check the token of lane %s on the gate box against the '
                   'lane in the ERP' % (error, lane), summary, state=UNAUTHORIZED)

    def _count(self, **counts):
        with self._lock:
            for key, value in counts.items():
                self._totals[key] += value

    def _state(self, pending=None):
        with self._lock:
            states = {info['state'] for info in self._lanes.values()}
        if UNAUTHORIZED in states:
            return UNAUTHORIZED
        if BACKING_OFF in states:
            return BACKING_OFF
        if pending is None:
            pending = self.outbox.stats()['pending']
        return OK if pending else IDLE

    def status(self):
        """A dict for the status page.

        state: 'unauthorized' (a lane's token is refused or missing: needs a person),
        'backing_off' (deliveries fail, retrying), 'ok' (delivering) or 'idle' (nothing
        pending); last_success / last_error ({'time', 'lane', 'message'}); pending,
        deferred, dead, bytes, oldest_age (from the outbox); totals (requests, sent,
        accepted, duplicate, rejected, failures since start); lanes: each lane's state,
        consecutive failures, last error and next attempt. Tokens are never included.
        """
        stats = self.outbox.stats()
        with self._lock:
            lanes = {lane: dict(info) for lane, info in self._lanes.items()}
            result = {'last_success': self._last_success,
                      'last_error': dict(self._last_error) if self._last_error else None,
                      'totals': dict(self._totals), 'lanes': lanes,
                      'url': self.url, 'running': bool(self._thread and self._thread.is_alive())}
        result.update(stats)
        result['state'] = self._state(stats['pending'])
        return result

    # -- thread -------------------------------------------------------------------------

    def run(self):
        """Forward until stop(): back to back while there is progress, else poll.

        The back-off itself is in the outbox (deferred rows are not due), so a failing
        lane waits while the other lanes go on.
        """
        _logger.info('forwarding the outbox to %s', self.url)
        self.outbox.release()   # a restart retries at once, whatever was deferred before
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()      # before the round: a wake() during it is not lost
            try:
                summary = self.run_once()
                failures = 0
            except Exception:   # a disk or programming error must not end forwarding
                failures += 1
                _logger.exception('forwarder round failed')
                self._stop.wait(self.backoff(failures))
                continue
            progress = summary['accepted'] + summary['duplicate'] + summary['rejected']
            if progress and not summary['deferred']:
                continue        # a backlog, or more came in meanwhile: the next peek says
            wait, now = self.poll_interval, time.time()
            due = self.outbox.next_due(now)
            if due is not None:
                wait = max(0.0, min(wait, due - now))
            self._wake.wait(wait)
        _logger.info('forwarder stopped')

    def start(self):
        """Start run() in a daemon thread; returns the thread."""
        if self._thread and self._thread.is_alive():
            return self._thread
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name='gatebox-forwarder')
        self._thread.daemon = True
        self._thread.start()
        return self._thread

    def stop(self, timeout=None):
        """Ask run() to end and wait for it (a request in flight ends by its timeout)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def quiet(self, timeout):
        """Wait up to `timeout` seconds until no round is running and keep rounds from
        starting: a context manager yielding True, or False when a round did not end in
        time (then nothing is held).

        For the box's other requests to the ERP (status reports): they write the lane rows
        an event batch updates too, and two transactions of one box on the same row make
        the ERP fail one of them (serialization failure).
        """
        return _Quiet(self._run_lock, timeout)

    def wake(self, lane=None):
        """Look at the outbox now instead of at the next poll (call after a put).

        With the `lane` of the event just put: nothing happens while that lane waits
        for a retry. Its new event could not be sent before the deferred ones anyway,
        and a round costs a scan of the deferred rows under the outbox lock, which the
        next camera read would wait for: during an ERP outage every read would pay for
        the whole backlog.
        """
        if lane is not None:
            with self._lock:
                info = self._lanes.get(lane)
                waiting = info is not None and info['state'] != OK and \
                    (info['next_attempt'] or 0) > time.time()
            if waiting:
                return
        self._wake.set()


class _Quiet(object):
    def __init__(self, lock, timeout):
        self._lock, self._timeout, self._held = lock, timeout, False

    def __enter__(self):
        self._held = self._lock.acquire(timeout=self._timeout)
        return self._held

    def __exit__(self, *exc_info):
        if self._held:
            self._lock.release()
            self._held = False


def _short(exc, limit=300):
    """An exception as one short line (requests' messages can nest several reprs)."""
    text = '%s: %s' % (type(exc).__name__, exc)
    return text if len(text) <= limit else text[:limit] + '...'


def _read_timeout(timeout):
    return timeout[1] if isinstance(timeout, (tuple, list)) else timeout


def _json_body(response):
    """(decoded JSON, None) or (None, what is wrong with the body)."""
    try:
        return json.loads(response.content.decode('utf-8')), None
    except (ValueError, UnicodeDecodeError):
        kind = response.headers.get('Content-Type', 'no content type')
        return None, 'the body is not JSON (%s, %d bytes)' % (kind, len(response.content))


def _check_results(data, rows):
    """(results, None) when `data` answers exactly `rows`, else (None, what is wrong)."""
    results = data.get('results') if isinstance(data, dict) else None
    if not isinstance(results, list):
        return None, 'the answer has no results list'
    if len(results) != len(rows):
        return None, '%d results for %d events sent' % (len(results), len(rows))
    for index, (row, result) in enumerate(zip(rows, results)):
        if not isinstance(result, dict) or result.get('event_id') != row.event_id:
            return None, 'result %d is not for event %s' % (index, row.event_id)
        if result.get('status') not in RESULT_STATUSES:
            return None, 'result %d has an unknown status %r' % (index, result.get('status'))
    return results, None
