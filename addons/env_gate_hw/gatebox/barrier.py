"""Barrier drivers: how the box opens a lane's barrier, and what it knows of its state.

* `CameraBarrier` ('camera'): an AlarmInfoPlate camera pulses its relay when the box
  answers a push with info "ok", so an automatic pass needs nothing here but a record.
  A manual lift cannot reach such a camera by itself: it is held as *pending* for
  `lift_window` seconds and the lane's next push is answered "ok" (the camera re-reads
  the waiting vehicle, or the guard triggers it); the status says so.
* `HttpRelayBarrier` ('http_relay'): a network relay board; GET or POST to a URL.
* `SerialBarrier` ('serial'): writes the configured command bytes to a serial port
  (pyserial, so a pseudo-terminal or socket:// URL works for tests).
* `ModbusBarrier` ('modbus_tcp'): a network relay board's coils over Modbus-TCP (framing
  in modbus.py): open (a pulse), close, keep open, status; it reconnects by itself.
* `NoBarrier` ('none'): the guard opens by hand; a lift is only recorded.

The network and serial drivers follow the hw_proxy pattern: a daemon thread, a lock, a
status dict (`connecting` / `connected` / `disconnected` / `error` + messages) and a
queue of commands (`open`; the Modbus driver also `close`, `keep_open`, status reads).
The caller only queues: the camera's reply never waits for a barrier. A failed command
is retried until it *expires* (`expire` seconds after it was asked for): a barrier must
not open long after the vehicle has gone.
Standard library plus `requests` (HTTP relay) and `pyserial` (serial).
"""
import collections
import logging
import queue
import socket
import threading
import time

from . import modbus

_logger = logging.getLogger(__name__)

_Command = collections.namedtuple('_Command', 'reason user asked deadline action')


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
        return self._put('open', reason, user)

    def _put(self, action, reason, user):
        now = self._clock()
        self._queue.put(_Command(reason, user, now, now + self.config.expire, action))
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
            try:
                command = self._queue.get(timeout=self._idle_wait())
            except queue.Empty:
                self._idle()
                continue
            if command is None:
                continue
            while not self._stop.is_set():
                try:
                    self._send(command)
                except Exception as exc:    # any driver failure: record, retry, expire
                    self._failed(exc, command.action)
                    if self._clock() + self.retry_delay > command.deadline:
                        with self._lock:
                            self._status['dropped'] += 1
                        _logger.error('lane %s: barrier %s: %s failed (%s), command '
                                      'expired', self.lane, self.kind, command.action,
                                      _short(exc))
                        break
                    self._stop.wait(self.retry_delay)
                    continue
                self._succeeded(command)
                self._set(status='connected', messages=[])
                break

    def _failed(self, exc, action):
        with self._lock:
            self._status['failures'] += 1
            self._status.update(status=self._failure_status(exc), last_error=_short(exc),
                                last_error_at=self._clock(),
                                messages=['last %s failed: %s' % (action, _short(exc))])

    def _failure_status(self, exc):
        return 'error'

    def _succeeded(self, command):
        self._opened(command.reason)

    def _idle_wait(self):
        """Seconds the thread may wait for a command before `_idle` (None: forever)."""
        return None

    def _idle(self):
        return None

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


class ModbusBarrier(_QueuedBarrier):
    """A network relay board over Modbus-TCP whose coils drive the barrier controller.

    `open` pulses the open coil (`config.coil`): on, `config.pulse` seconds, off (pulse 0:
    the board's own jog mode releases it). `keep_open` turns it on and leaves it on; an
    `open` meanwhile writes nothing (its off-write would end the hold).
    `close` turns it off, then pulses the close coil when there is one (`close_coil`).
    `read_status` reads the coils; so does the thread every `config.poll` seconds without
    a command, which also notices a board that went away.

    Two kinds of failure, as pywebdriver separates them: a lost connection (refused,
    reset, closed by the board, or no answer within `config.timeout`: a dead link and a
    hung board look alike) drops the socket, and the next attempt connects again
    (status 'disconnected'); a Modbus exception or a bad frame is reported (status
    'error') and the connection kept. Either way the command is retried until it
    expires. A coil a pulse left on (its off-write failed) is written off before
    anything else, and retried while idle: a pulse must not become a barrier held open.
    """
    kind = 'modbus_tcp'

    def __init__(self, lane, config, clock=None):
        super(ModbusBarrier, self).__init__(lane, config, clock)
        self._sock = None
        self._session = modbus.ClientSession(config.unit)
        self._owed_off = set()      # coils to write off (a pulse's off-write failed)
        self._pulsed = None         # the command whose pulse is on: a retry only ends it
        self._pulsing = False
        self._held = False          # the open coil is on outside a pulse (keep open)
        self._next_poll = 0.0
        self._set(endpoint='%s:%s unit %s' % (config.host, config.tcp_port, config.unit),
                  relay=None, close_relay=None, held_open=False, closes=0, connects=0)

    def keep_open(self, reason, user=None):
        """Queue: open coil on, left on until `close`; returns {'state': 'queued'}."""
        return self._put('keep_open', reason, user)

    def close(self, reason, user=None):
        """Queue: open coil off (ends a keep-open), close coil pulsed if configured."""
        return self._put('close', reason, user)

    def read_status(self):
        """Queue a read of the coils (the status dict shows the answer)."""
        return self._put('status', 'status read', None)

    # -- the thread's side -------------------------------------------------------------

    def _send(self, command):
        cfg = self.config
        if command.action == 'keep_open':
            self._owed_off.discard(cfg.coil)
        self._settle()
        if self._pulsed is command:     # a retry after the pulse's off-write failed
            return
        if command.action == 'open' and self._held:
            self._opened(command.reason)    # held open: a pulse would end the hold
        elif command.action == 'open':
            self._pulse(cfg.coil, command)
        elif command.action == 'keep_open':
            self._write(cfg.coil, True)
        elif command.action == 'close':
            self._write(cfg.coil, False)
            if cfg.close_coil is not None:
                self._pulse(cfg.close_coil, command)
        else:
            self._read_coils()

    def _succeeded(self, command):
        self._pulsed = None
        if command.action == 'keep_open':
            self._opened(command.reason)
        elif command.action == 'close':
            with self._lock:
                self._status['closes'] += 1

    def _pulse(self, coil, command):
        pulse = self.config.pulse
        if pulse > 0:
            self._owed_off.add(coil)    # from here the coil may be on, whatever the answer
        self._pulsing = pulse > 0
        try:
            self._write(coil, True)
            self._pulsed = command
            if command.action == 'open':
                self._opened(command.reason)    # it lifts, even if the off-write fails
            if pulse > 0:
                time.sleep(pulse)
        finally:
            self._pulsing = False
        if pulse > 0:
            self._write(coil, False)

    def _settle(self):
        for coil in sorted(self._owed_off):
            self._write(coil, False)

    def _write(self, coil, on):
        self._transact(modbus.write_single_coil(coil, on))
        if not on:
            self._owed_off.discard(coil)
        self._relay(coil, on)

    def _read_coils(self):
        cfg = self.config
        self._relay(cfg.coil, self._transact(modbus.read_coils(cfg.coil, 1))[0])
        if cfg.close_coil is not None:
            self._relay(cfg.close_coil, self._transact(modbus.read_coils(cfg.close_coil, 1))[0])

    def _relay(self, coil, on):
        state = 'on' if on else 'off'
        if coil == self.config.coil:
            self._held = bool(on) and not self._pulsing
            self._set(relay=state, held_open=self._held)
        else:
            self._set(close_relay=state)

    def _transact(self, pdu):
        """The answer to `pdu`; OSError means the connection is gone (and was dropped)."""
        sock = self._connect()
        data = self._session.request(pdu)
        deadline = time.monotonic() + self.config.timeout
        try:
            sock.sendall(data)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise socket.timeout('no answer within %ss' % self.config.timeout)
                sock.settimeout(remaining)
                chunk = sock.recv(1024)
                if not chunk:
                    raise ConnectionError('the relay board closed the connection')
                answer = self._session.feed(chunk)
                if answer is not None:
                    break
        except OSError:
            self._disconnect()
            raise
        self._next_poll = time.monotonic() + self.config.poll
        return answer

    def _connect(self):
        if self._sock is None:
            sock = socket.create_connection((self.config.host, self.config.tcp_port),
                                            timeout=self.config.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._session.reset()
            self._sock = sock
            with self._lock:
                self._status['connects'] += 1
        return self._sock

    def _disconnect(self):
        sock, self._sock = self._sock, None
        self._session.reset()
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _failure_status(self, exc):
        return 'disconnected' if isinstance(exc, OSError) else 'error'

    def _probe(self):
        try:
            self._read_coils()
            self._set(status='connected', messages=[])
        except (OSError, modbus.ModbusError) as exc:
            self._set(status=self._failure_status(exc), last_error=_short(exc),
                      last_error_at=self._clock(),
                      messages=['relay board %s:%s: %s' % (self.config.host,
                                                           self.config.tcp_port, _short(exc))])
            self._next_poll = time.monotonic() + self.config.poll

    def _idle_wait(self):
        if self._owed_off:
            return self.retry_delay
        if self.config.poll > 0:
            return max(0.0, self._next_poll - time.monotonic())
        return None

    def _idle(self):
        action = 'release' if self._owed_off else 'status'
        try:
            if self._owed_off:
                self._settle()
            else:
                self._read_coils()
        except Exception as exc:    # any failure: record it, the thread goes on
            self._failed(exc, action)
            self._next_poll = time.monotonic() + self.config.poll
            return
        self._set(status='connected', messages=[])

    def _close(self):
        if self._owed_off and (self._thread is None or not self._thread.is_alive()):
            try:
                self._settle()
            except (OSError, modbus.ModbusError) as exc:
                _logger.error('lane %s: coils %s may still be on: %s', self.lane,
                              sorted(self._owed_off), _short(exc))
        self._disconnect()


def make(lane, config, lift_window=30.0):
    """The driver for a lane's BarrierConfig (config.BarrierConfig)."""
    driver = config.driver if config is not None else 'none'
    if driver == 'camera':
        return CameraBarrier(lane, config, lift_window=lift_window)
    if driver == 'http_relay':
        return HttpRelayBarrier(lane, config)
    if driver == 'serial':
        return SerialBarrier(lane, config)
    if driver == 'modbus_tcp':
        return ModbusBarrier(lane, config)
    return NoBarrier(lane, config)


def _short(exc, limit=200):
    text = '%s: %s' % (type(exc).__name__, exc)
    return text if len(text) <= limit else text[:limit] + '...'
