"""The Dahua client: subscribes to a camera's snapManager event stream and keeps it up.

`DahuaClient` is a daemon thread per Dahua camera. It GETs
`<camera_url>/cgi-bin/snapManager.cgi?action=attachFileProc&...&heartbeat=N`
(cameras.dahua_subscribe_path; HTTP digest credentials when configured), feeds whatever
bytes arrive to a cameras.DahuaStreamParser and hands each PlateRead (heartbeats
included) to `on_read(read)`. The camera sends a Heartbeat part every N seconds, so a
link that says nothing for `3 N` seconds is dead: the socket read times out and the
client reconnects, as it does when the camera closes the stream or cannot be reached,
after 1, 2, 5, 10, 30 s (the last repeats; back to the start once a part arrives).

Bytes are taken as they come (`read1`), never waiting for a full buffer, so a read
reaches the box as soon as its picture has. Standard library plus `requests`.
"""
import logging
import threading
import time

from . import cameras

_logger = logging.getLogger(__name__)

BACKOFF = (1, 2, 5, 10, 30)


class DahuaClient(object):
    """One camera's event stream (start(), stop(), status())."""

    def __init__(self, lane, url, on_read, user=None, password=None, heartbeat=5,
                 device_id=None, backoff=BACKOFF, session=None):
        import requests
        self._requests = requests
        self.lane = lane
        self.base_url = url.rstrip('/')
        self.on_read = on_read
        self.auth = requests.auth.HTTPDigestAuth(user, password or '') if user else None
        self.heartbeat = heartbeat
        self.device_id = device_id or lane
        self.backoff = tuple(backoff) or (1,)
        self.session = session or requests.Session()
        self._stop = threading.Event()
        self._thread = None
        self._response = None
        self._lock = threading.Lock()
        self._failures = 0
        self._status = {'status': 'connecting', 'messages': [], 'url': self.base_url,
                        'reconnects': 0, 'reads': 0, 'heartbeats': 0, 'last_part': None,
                        'last_error': None, 'connected_since': None}

    @property
    def url(self):
        return self.base_url + cameras.dahua_subscribe_path(self.heartbeat)

    def status(self):
        with self._lock:
            return dict(self._status, messages=list(self._status['messages']))

    def _set(self, **values):
        with self._lock:
            self._status.update(values)

    def start(self):
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name='gatebox dahua %s' % self.lane)
            self._thread.start()
        return self._thread

    def stop(self, timeout=None):
        self._stop.set()
        response = self._response
        if response is not None:
            try:
                response.close()
            except Exception:   # closing from another thread may race the reader
                pass
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self):
        while not self._stop.is_set():
            try:
                self._session_once()
                error = 'the camera closed the stream'
            except Exception as exc:    # network, HTTP, parser: reconnect in every case
                error = '%s: %s' % (type(exc).__name__, exc)
            if self._stop.is_set():
                break
            delay = self.backoff[min(self._failures, len(self.backoff) - 1)]
            self._failures += 1
            with self._lock:
                self._status['reconnects'] += 1
                self._status.update(status='disconnected', last_error=error[:300],
                                    connected_since=None,
                                    messages=['%s; reconnecting in %s s' % (error[:200], delay)])
            _logger.warning('lane %s: Dahua stream %s: %s; reconnecting in %s s', self.lane,
                            self.base_url, error[:200], delay)
            self._stop.wait(delay)
        self._set(status='stopped')

    def _session_once(self):
        self._set(status='connecting')
        response = self.session.get(self.url, auth=self.auth, stream=True,
                                    timeout=(5, max(3.0, 3 * self.heartbeat)))
        self._response = response
        try:
            if response.status_code != 200:
                raise IOError('HTTP %s from the camera' % response.status_code)
            ctype = response.headers.get('Content-Type', '')
            boundary = cameras._header_params(ctype)[1].get('boundary') or 'myboundary'
            parser = cameras.DahuaStreamParser(boundary=boundary, device_id=self.device_id)
            self._set(status='connected', connected_since=time.time(), messages=[],
                      last_error=None)
            _logger.info('lane %s: subscribed to the Dahua stream at %s', self.lane,
                         self.base_url)
            raw = response.raw._fp      # http.client response: read1 returns what arrived
            while not self._stop.is_set():
                data = raw.read1(65536)
                if not data:
                    for read in parser.flush():
                        self._deliver(read)
                    return
                for read in parser.feed(data):
                    self._deliver(read)
        finally:
            self._response = None
            response.close()

    def _deliver(self, read):
        self._failures = 0
        with self._lock:
            self._status['last_part'] = time.time()
            self._status['heartbeats' if read.is_heartbeat else 'reads'] += 1
        try:
            self.on_read(read)
        except Exception:       # the box's bug must not end the subscription
            _logger.exception('lane %s: handling a Dahua read failed', self.lane)
