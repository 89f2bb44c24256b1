#!/usr/bin/env python3
"""Weighbridge indicator simulator: the byte streams real indicators put on the wire.

`IndicatorSimulator` is a thread that plays one indicator on a serial line: the master
side of a pseudo-terminal (an int file descriptor, made non-blocking so a reader that
went away never blocks it) or any object with pyserial's write/read/in_waiting.

* 'xk3190' (XK3190-A9/D9 tF=0), 'yaohua-eq' (the "=" stream, format 1 when
  reversed_digits, else 2) and 'toledo' (Mettler-Toledo standard continuous) send one
  frame of the current weight every `interval` seconds, as the indicator does.
* 'xk3190-command' (tF=1) sends nothing by itself: it reads the host's command frames
  and answers those for its `address` ('A' handshake, 'B' gross, 'C' tare, 'D' net =
  gross - tare); frames for other addresses are ignored, as on an RS-485 bus.

`set_weight` changes what the display shows (with Toledo's motion and out-of-range
flags); `inject` writes raw bytes (line noise); `corrupt_next` sends the next frames with
a wrong checksum (or, for the "=" stream that has none, a broken digit). Frames come from
the gatebox.weighbridge builders, which the unit tests check byte for byte against the
vendors' documented examples.

As a script (a lab bench, or the gate box's own tests):
  weighbridge_sim.py xk3190 --pty --profile 0:3,30.00:10,0:5     # prints the pty path
  weighbridge_sim.py toledo --port /dev/ttyUSB1 --weight 42.50 --unit t
  weighbridge_sim.py yaohua-eq --format 1 --pty --weight 3.000
  weighbridge_sim.py xk3190-command --pty --weight 45.20 --tare 15.20
"""
import argparse
import decimal
import errno
import fcntl
import os
import select
import sys
import threading
import time
import tty

_ADDONS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                        'addons', 'env_gate_hw'))
if _ADDONS not in sys.path:
    sys.path.insert(0, _ADDONS)

from gatebox import weighbridge as wb  # noqa: E402

PROTOCOLS = (wb.XK3190, wb.XK3190_COMMAND, wb.YAOHUA_EQ, wb.TOLEDO)


def _number(value):
    return value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))


def _places(value):
    exponent = value.as_tuple().exponent
    return -exponent if exponent < 0 else 0


class IndicatorSimulator(threading.Thread):
    """One indicator writing (or answering with) real frames; start(), stop().

    port: pty master fd (int) or a pyserial-like object. weight, tare: Decimal, str or
    int; decimals: shown decimals (default: as `weight` is written). unit: Toledo's unit
    ('kg' or 't'); reversed_digits: "=" stream format 1 (True) or 2 (False); checksum:
    Toledo CHK sent or not; address: XK3190 command-mode address.
    """

    def __init__(self, port, protocol, weight=0, tare=0, decimals=None, interval=0.05,
                 unit='kg', reversed_digits=True, checksum=True, address='A'):
        super(IndicatorSimulator, self).__init__(name='indicator %s' % protocol)
        if protocol not in PROTOCOLS:
            raise ValueError('unknown protocol %r (known: %s)' % (protocol, ', '.join(PROTOCOLS)))
        self.daemon = True
        self.port = port
        self.protocol = protocol
        self.interval = interval
        self.unit = unit
        self.reversed_digits = reversed_digits
        self.checksum = checksum
        self.address = address
        self.decimals = decimals
        self.weight = _number(weight)
        self.tare = _number(tare)
        self.motion = False
        self.out_of_range = False
        self.frames_sent = 0
        self.dropped_bytes = 0
        self.commands = []
        self._corrupt = 0
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._host = wb.XK3190HostParser()
        if isinstance(port, int):
            flags = fcntl.fcntl(port, fcntl.F_GETFL)
            fcntl.fcntl(port, fcntl.F_SETFL, flags | os.O_NONBLOCK)

    # -- what the display shows -----------------------------------------------------------
    def set_weight(self, weight, motion=False, out_of_range=False, tare=None):
        """Show `weight` from now on (motion and out_of_range: Toledo status bits)."""
        with self._lock:
            self.weight = _number(weight)
            self.motion = motion
            self.out_of_range = out_of_range
            if tare is not None:
                self.tare = _number(tare)

    def corrupt_next(self, count=1):
        """Send the next `count` frames damaged (wrong checksum, or a bad digit)."""
        with self._lock:
            self._corrupt += count

    def frame(self):
        """The continuous frame of the current weight (not for command mode)."""
        with self._lock:
            weight, decimals = self.weight, self.decimals
            motion, out_of_range, tare = self.motion, self.out_of_range, self.tare
        if self.protocol == wb.XK3190:
            return wb.xk3190_frame(weight, decimals)
        if self.protocol == wb.YAOHUA_EQ:
            return wb.yaohua_eq_frame(weight, self.reversed_digits, decimals)
        if self.protocol == wb.TOLEDO:
            return wb.toledo_frame(weight, tare=tare, decimals=decimals, unit=self.unit,
                                   motion=motion, out_of_range=out_of_range,
                                   checksum=self.checksum)
        raise ValueError('a command-mode indicator only answers commands')

    def reply(self, command):
        """The reply to one host Command, or None when it is not for this address."""
        if command.address != self.address:
            return None
        with self._lock:
            weight, tare, decimals = self.weight, self.tare, self.decimals
        if decimals is None:
            decimals = max(_places(weight), _places(tare))
        value = {'A': None, 'B': weight, 'C': tare, 'D': weight - tare}[command.command]
        return wb.xk3190_reply(self.address, command.command, value, decimals)

    def _damage(self, frame):
        """The frame with its checksum (or, for the "=" stream, a digit) made wrong."""
        data = bytearray(frame)
        if self.protocol == wb.TOLEDO and self.checksum:
            data[-1] = (data[-1] + 1) & 0x7F
        elif self.protocol in (wb.XK3190, wb.XK3190_COMMAND):
            data[-2] = ord('0') if data[-2] != ord('0') else ord('1')
        else:
            data[-3] = ord('X')        # Toledo without CHK, "=" stream: not a digit
        return bytes(data)

    # -- wire -----------------------------------------------------------------------------
    def inject(self, data):
        """Write raw bytes now (noise, a half frame...)."""
        self._write(data)

    def _send(self, frame):
        with self._lock:
            damage = self._corrupt > 0
            self._corrupt -= damage
        self._write(self._damage(frame) if damage else frame)
        self.frames_sent += 1

    def _write(self, data):
        try:
            if isinstance(self.port, int):
                written = os.write(self.port, data)
            else:
                written = self.port.write(data) or len(data)
        except OSError as exc:      # buffer full (nobody reading) or the line hung up
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EIO):
                raise
            written = 0
        self.dropped_bytes += len(data) - written
        return written

    def _read(self, timeout):
        if isinstance(self.port, int):
            ready, _w, _x = select.select([self.port], [], [], timeout)
            if not ready:
                return b''
            try:
                return os.read(self.port, 1024)
            except OSError as exc:      # EIO: no process has the line open right now
                if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EIO):
                    raise
                time.sleep(timeout)
                return b''
        return self.port.read(getattr(self.port, 'in_waiting', 0) or 1)

    def run(self):
        while not self._stop_event.is_set():
            if self.protocol == wb.XK3190_COMMAND:
                for command in self._host.feed(self._read(0.02)):
                    self.commands.append(command)
                    answer = self.reply(command)
                    if answer is not None:
                        self._send(answer)
            else:
                self._send(self.frame())
                self._stop_event.wait(self.interval)

    def stop(self, timeout=2.0):
        """End the thread (the port stays open: it belongs to the caller)."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)


def parse_profile(text):
    """'0:3,30.00:10' -> [('0', 3.0), ('30.00', 10.0)]: weight shown for seconds."""
    steps = []
    for part in text.split(','):
        weight, _sep, seconds = part.strip().partition(':')
        steps.append((weight, float(seconds or 1)))
    return steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('protocol', choices=PROTOCOLS)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument('--pty', action='store_true', help='create a pseudo-terminal and '
                       'print the path a reader should open')
    where.add_argument('--port', help='a serial device or pyserial URL to write to')
    parser.add_argument('--baudrate', type=int, default=9600)
    parser.add_argument('--weight', default='0')
    parser.add_argument('--tare', default='0')
    parser.add_argument('--profile', help='weight:seconds,... repeated (e.g. 0:3,30.00:10)')
    parser.add_argument('--interval', type=float, default=0.1)
    parser.add_argument('--unit', default='kg', choices=('kg', 't'))
    parser.add_argument('--format', type=int, default=1, choices=(1, 2),
                        help='"=" stream: 1 reversed digits, 2 in order')
    parser.add_argument('--no-checksum', action='store_true', help='Toledo without CHK')
    parser.add_argument('--address', default='A')
    args = parser.parse_args(argv)

    keep = None
    if args.pty:
        port, keep = os.openpty()
        tty.setraw(keep)
        print(os.ttyname(keep), flush=True)
    else:
        import serial
        port = serial.serial_for_url(args.port, baudrate=args.baudrate, timeout=0.05)
    simulator = IndicatorSimulator(
        port, args.protocol, weight=args.weight, tare=args.tare, interval=args.interval,
        unit=args.unit, reversed_digits=args.format == 1, checksum=not args.no_checksum,
        address=args.address)
    simulator.start()
    try:
        steps = parse_profile(args.profile) if args.profile else None
        while True:
            if not steps:
                time.sleep(1)
                continue
            for weight, seconds in steps:
                simulator.set_weight(weight)
                time.sleep(seconds)
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
        if keep is not None:
            os.close(keep)
    return 0


if __name__ == '__main__':
    sys.exit(main())
