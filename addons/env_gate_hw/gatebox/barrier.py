"""Barrier drivers: how the box opens a lane's barrier, and what it knows of its state.

* `CameraBarrier` ('camera'): an AlarmInfoPlate camera pulses its relay when the box
  answers a push with info "ok", so an automatic pass needs nothing here but a record.
  A manual lift cannot reach such a camera by itself: it is held as *pending* for
  `lift_window` seconds and the lane's next push is answered "ok" (the camera re-reads
  the waiting vehicle, or the guard triggers it); the status says so.
* `HttpRelayBarrier` ('http_relay'): a network relay board; GET or POST to a URL.
* `SerialBarrier` ('serial'): writes the configured command bytes to a serial port
  (pyserial, so a pseudo-terminal or socket:// URL works for tests).
* `NoBarrier` ('none'): the guard opens by hand; a lift is only recorded.

The network and serial drivers follow the hw_proxy pattern: a daemon thread, a lock, a
status dict (`connecting` / `connected` / `disconnected` / `error` + messages) and a
queue of commands. A failed command is retried until it *expires* (`expire` seconds
after it was asked for): a barrier must not open long after the vehicle has gone.
Standard library plus `requests` (HTTP relay) and `pyserial` (serial).
"""
import collections
import logging
import queue
import threading
import time

_logger = logging.getLogger(__name__)

_Command = collections.namedtuple('_Command', 'reason user asked deadline')


def _now():
    return time.time()


class _Base(object):
    kind = 'none'

    def __init__(self, lane, config=None, clock=None):
        self.lane = lane
        self.config = config
        self._clock = clock or _now
        self._lock = threading.Lock()
        self._status = {'driver': self.kind, 'status': 'connected', 'messages': [],
                        'opens': 0, 'failures': 0, 'dropped': 0, 'last_open': None,
                        'last_reason': None, 'last_error': None, 'last_error_at': None,
                        'pending': False}

    def _set(self, **values):
        with self._lock:
            self._status.update(values)

    def status(self):
        with self._lock:
            return dict(self._status, messages=list(self._status['messages']))

    def start(self):
        return None

    def stop(self, timeout=None):
        return None

    def _opened(self, reason):
        with self._lock:
            self._status['opens'] += 1
            self._status.update(last_open=self._clock(), last_reason=reason, pending=False)


class NoBarrier(_Base):
    """No driver: the guard opens the barrier by hand."""
    kind = 'none'

    def __init__(self, lane, config=None, clock=None):
        super(NoBarrier, self).__init__(lane, config, clock)
        self._set(messages=['no barrier driver: the guard opens by hand / 无道闸驱动：人工开闸'])

    def open(self, reason, user=None):
        """Nothing can be driven: returns {'state': 'unavailable'}."""
        return {'state': 'unavailable', 'driver': self.kind}


class CameraBarrier(_Base):
    """Opened by the AlarmInfoPlate reply (see the module docstring)."""
    kind = 'camera'

    def __init__(self, lane, config=None, clock=None, lift_window=30.0):
        super(CameraBarrier, self).__init__(lane, config, clock)
        self.lift_window = lift_window
        self._pending_until = None
        self._pending_reason = None
        self._set(messages=['opens through the camera reply / 由相机应答开闸'])

    def open(self, reason, user=None):
        """Hold a manual lift for the lane's next camera push (see module docstring)."""
        with self._lock:
            self._pending_until = self._clock() + self.lift_window
            self._pending_reason = reason
            self._status['pending'] = True
        return {'state': 'pending', 'driver': self.kind, 'window': self.lift_window}

    def take_pending(self):
        """True (once) when a manual lift waits for this push's reply."""
        with self._lock:
            until, self._pending_until = self._pending_until, None
            self._status['pending'] = False
        return until is not None and self._clock() <= until

    def replied(self, opened, reason):
        """The camera was answered; `opened` when the answer opens the barrier."""
        if opened:
            self._opened(reason)

    def status(self):
        status = super(CameraBarrier, self).status()
        with self._lock:
            if self._pending_until is not None and self._clock() > self._pending_until:
                self._pending_until = None
                self._status['pending'] = False
                status['pending'] = False
        return status


class _QueuedBarrier(_Base):
    """A driver thread working through open commands, retrying until they expire."""

    retry_delay = 0.2

    def __init__(self, lane, config, clock=None):
        super(_QueuedBarrier, self).__init__(lane, config, clock)
        self._queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = None
        self._set(status='connecting', messages=[])

    def open(self, reason, user=None):
        """Queue an open command; returns {'state': 'queued'} at once."""
        now = self._clock()
        self._queue.put(_Command(reason, user, now, now + self.config.expire))
        return {'state': 'queued', 'driver': self.kind}

    def start(self):
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name='gatebox barrier %s' % self.lane)
            self._thread.start()
        return self._thread

    def stop(self, timeout=None):
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
        self._close()

    def _run(self):
        self._probe()
        while not self._stop.is_set():
            command = self._queue.get()
            if command is None:
                continue
            while not self._stop.is_set():
                try:
                    self._send(command)
                except Exception as exc:    # any driver failure: record, retry, expire
                    with self._lock:
                        self._status['failures'] += 1
                        self._status.update(status='error', last_error=_short(exc),
                                            last_error_at=self._clock(),
                                            messages=['last open failed: %s' % _short(exc)])
                    if self._clock() + self.retry_delay > command.deadline:
                        with self._lock:
                            self._status['dropped'] += 1
                        _logger.error('lane %s: barrier %s did not open (%s), command '
                                      'expired', self.lane, self.kind, _short(exc))
                        break
                    self._stop.wait(self.retry_delay)
                    continue
                self._opened(command.reason)
                self._set(status='connected', messages=[])
                break

    def _probe(self):
        self._set(status='connected')

    def _close(self):
        return None


class HttpRelayBarrier(_QueuedBarrier):
    """A network relay board: `config.method` (GET/POST) `config.url`."""
    kind = 'http_relay'

    def __init__(self, lane, config, clock=None, session=None):
        super(HttpRelayBarrier, self).__init__(lane, config, clock)
        import requests
        self._session = session or requests.Session()

    def _send(self, command):
        reply = self._session.request(self.config.method, self.config.url,
                                      data=(self.config.body or None)
                                      if self.config.method == 'POST' else None,
                                      timeout=self.config.timeout)
        if not 200 <= reply.status_code < 300:
            raise IOError('relay board answered HTTP %s' % reply.status_code)


class SerialBarrier(_QueuedBarrier):
    """A serial barrier controller: writes `config.open_command` to `config.port`."""
    kind = 'serial'

    def __init__(self, lane, config, clock=None):
        super(SerialBarrier, self).__init__(lane, config, clock)
        import serial   # pyserial: only this driver needs it
        self._serial = serial
        self._port = None

    def _connect(self):
        if self._port is None:
            self._port = self._serial.serial_for_url(
                self.config.port, baudrate=self.config.baudrate, timeout=self.config.timeout,
                write_timeout=self.config.timeout)
        return self._port

    def _probe(self):
        try:
            self._connect()
            self._set(status='connected', messages=[])
        except (OSError, ValueError) as exc:
            self._set(status='disconnected', last_error=_short(exc),
                      messages=['port %s: %s' % (self.config.port, _short(exc))])

    def _send(self, command):
        try:
            port = self._connect()
            port.write(self.config.open_command)
            port.flush()
        except (OSError, ValueError):
            self._close()
            raise

    def _close(self):
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (OSError, ValueError):
                pass


def make(lane, config, lift_window=30.0):
    """The driver for a lane's BarrierConfig (config.BarrierConfig)."""
    driver = config.driver if config is not None else 'none'
    if driver == 'camera':
        return CameraBarrier(lane, config, lift_window=lift_window)
    if driver == 'http_relay':
        return HttpRelayBarrier(lane, config)
    if driver == 'serial':
        return SerialBarrier(lane, config)
    return NoBarrier(lane, config)


def _short(exc, limit=200):
    text = '%s: %s' % (type(exc).__name__, exc)
    return text if len(text) <= limit else text[:limit] + '...'
