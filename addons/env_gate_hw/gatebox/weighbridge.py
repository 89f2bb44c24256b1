"""Weighbridge indicators: serial frames parsed into readings, stable weights, events.

Four indicator protocols (facts in /work/shared/domain/DEVICES.md), one incremental parser
each, all with the same interface `feed(data: bytes) -> [Reading]`:

* `XK3190Parser`: Yaohua XK3190-A9/D9 continuous mode (tF=0), 12 bytes
  `STX sign(+|-) 6 digits decimals(0-4) XOR-hi XOR-lo ETX`; the XOR of the sign, digit
  and decimals bytes is sent as two ASCII hex digits (+20.00 is
  `02 2B 30 30 32 30 30 30 32 31 42 03`).
* `XK3190ReplyParser`: XK3190 command mode (tF=1), the indicator's replies to host
  commands (`xk3190_command(address, cmd)`: 'A' handshake, 'B' gross, 'C' tare, 'D' net):
  `STX address cmd [sign 6 digits decimals] XOR-hi XOR-lo ETX` (6 bytes for a handshake,
  14 with a weight); the XOR covers address, command and data. `XK3190HostParser` reads
  the host's command frames (the indicator side, used by the simulator).
* `YaohuaEqParser`: the Yaohua "=" stream (A12/A23...), 9 bytes `=` + sign ('0' or '-')
  + 7 characters of the displayed value with its decimal point (DEVICES.md says "7
  characters" after '=', but its own examples and the vendor manuals have 8: the sign
  comes on top of the 7). Format 1 sends those 8 characters reversed (3.000 as
  `=000.3000`, -1.00 as `=00.1000-`), format 2 in order (`=0003.000`, `=-0001.00`).
  Both look alike on the wire, so the format is a setting (`reversed_digits`), never
  guessed: a wrong setting shows as weights off by powers of ten, and negative frames
  rejected. The frame carries no checksum.
* `ToledoParser`: Mettler-Toledo standard continuous output, `STX SWA SWB SWC weight(6)
  tare(6) CR [CHK]`: SWA bits 0-2 place the decimal point (0 = XXXX00, 1 = XXXXX0,
  2 = XXXXXX, 3..7 = 1..5 decimals); SWB bit 0 net, 1 negative, 2 out of range,
  3 in motion, 4 kg (else lb); SWC bits 0-2 unit (0 lb/kg as SWB says, 1 g, 2 t);
  CHK = two's complement of the 7-bit sum of every byte before it. Whether CHK is sent
  is a terminal setting: `checksum=True`/`False`, or None to take a byte after CR as
  CHK when it matches and as absent when it is the next STX. Bit 7 of the status bytes
  (the parity bit on 7E1 links read as 8N1) is ignored.

Parsers never raise on line noise. A frame that is cut short, malformed or fails its
checksum is counted (`errors`, `error_counts` by code, `last_error` a `FrameError` with
messages in both languages) and dropped, and the parser looks for the next start byte
from the byte after the bad frame's start (after its end when the frame was whole and
only its checksum was wrong), so a good frame after a bad one is never lost. Bytes
passed over while looking for a start byte (line noise, the rest of a malformed frame)
are counted in `skipped_bytes`; `frames` counts good frames. Bytes may be split
anywhere between feed() calls.

Frame builders (`xk3190_frame`, `xk3190_command`, `xk3190_reply`, `yaohua_eq_frame`,
`toledo_frame`) produce the exact bytes an indicator or a host sends; the simulator and
the tests use them. They raise `WeighbridgeError` for values the frame cannot carry.

A `Reading` has the weight as a `decimal.Decimal` in the indicator's unit; `unit` is
'kg', 't' (also 'lb', 'g' from a Toledo terminal set that way) or None when the protocol
does not say (XK3190 and "=" stream: the indicator's unit is a site setting). `stable`
is the indicator's motion flag (Toledo) or None when the protocol has none.

`StabilityDetector` turns readings into at most one stable weight per vehicle on the
scale: N readings in a row within `tolerance`, above `min_weight`. It is re-armed when the
scale goes back below `min_weight` for N readings (so a second vehicle of the same weight
is reported: an old bug cleared "the same weight" only on an exact reset to zero; one
stray reading near zero is not enough) or when the weight moves beyond `tolerance` and
settles again. A weight present from the very first readings is reported too (another
old bug only read weights that rose from zero).

`to_weight_event` builds the `type: 'weight'` event of the ERP contract
(hj1321/events.py `parse_event`, `parse_weight`: `weight` a JSON number >= 0, `unit` 't'
or 'kg', time with an offset) with a deterministic event_id (`weight_event_id`: the
scheme of cameras.event_id_for, 40 hex digits of a SHA-256, over lane, UTC instant,
weight and unit; cameras.event_id_for itself wants a PlateRead and would pull hj1321
into this standard-library module).

`SerialScale` is the thin I/O part: a daemon thread that opens the port with pyserial
(`serial.serial_for_url`, so tests pass a pseudo-terminal path), feeds the parser and the
detector, polls in command mode, calls back with each stable weight, keeps a status dict,
and reconnects with back-off when the port fails. A bad frame keeps the connection; a lost
port (SerialException, OSError) closes it and reconnects.

Public API:
  Reading(weight, unit, stable, net, overload, raw, protocol, tare, address, command)
  FrameError(code, message_en, message_zh, raw); Command(address, command, raw)
  WeighbridgeError(code, message_zh, message_en, **params)
  XK3190Parser(); XK3190ReplyParser(address=None); XK3190HostParser()
  YaohuaEqParser(reversed_digits); ToledoParser(checksum=None)
      .feed(data) -> list; .reset(); .frames, .errors, .error_counts, .last_error,
      .skipped_bytes
  PROTOCOLS, make_parser(protocol, **options)
  xk3190_frame(weight, decimals=None, sign=None); xk3190_command(address, command)
  xk3190_reply(address, command, weight=None, decimals=None, sign=None)
  yaohua_eq_frame(value, reversed_digits, decimals=None)
  toledo_frame(weight, tare=0, decimals=None, unit='kg', net=False, motion=False,
               out_of_range=False, checksum=True); toledo_checksum(data)
  StabilityDetector(n=5, tolerance=0, min_weight=0).feed(reading) -> Reading | None
  weight_event_id(lane, when, weight, unit, prefix='')
  to_weight_event(lane, weight_reading, when, event_id=None, plate=None, unit=None,
                  extra=None) -> dict
  SerialScale(url, parser, callback=None, detector=None, unit=None, poll=None, ...)
      .start(), .stop(timeout=2.0), .status() -> dict

Typical use on the gate box (XK3190-A9, continuous, tonnes):

    def send(reading, when):
        queue.put(to_weight_event('T-IN', reading, when))
    scale = SerialScale('/dev/ttyUSB0', make_parser(XK3190), callback=send, unit='t',
                        detector=StabilityDetector(n=5, tolerance='0.02', min_weight='0.5'))
    scale.start()

Standard library (and hj1321's error type) only; pyserial 3.5 is imported by `SerialScale` alone.
"""
import collections
import datetime
import decimal
import hashlib
import logging
import threading
import time

from hj1321.errors import BilingualError

_logger = logging.getLogger(__name__)

STX = 0x02
ETX = 0x03
CR = 0x0D

XK3190 = 'xk3190'
XK3190_COMMAND = 'xk3190-command'
YAOHUA_EQ = 'yaohua-eq'
TOLEDO = 'toledo'

# XK3190 command mode (tF=1): host command letters and what the reply carries.
XK3190_COMMANDS = {'A': 'handshake', 'B': 'gross', 'C': 'tare', 'D': 'net'}
# Commands some models add (E truck number, F cargo number): replies of free length that
# are read past, not as weights.
_XK3190_OTHER_COMMANDS = frozenset('EF')
_XK3190_MAX_FRAME = 32

# Toledo SWC bits 0-2; 0 means lb or kg as SWB bit 4 says.
_TOLEDO_UNITS = {1: 'g', 2: 't', 3: 'oz'}
_TOLEDO_UNIT_CODES = {'kg': (0, True), 'lb': (0, False), 'g': (1, True), 't': (2, True)}

EVENT_UNITS = ('t', 'kg')

Reading = collections.namedtuple('Reading', (
    'weight unit stable net overload raw protocol tare address command'))
Reading.__doc__ = """One weight the indicator sent.

weight: decimal.Decimal in the indicator's unit, signed, with the displayed decimals.
unit: 'kg', 't' ('lb', 'g', 'oz' from a Toledo terminal set that way) or None when the
    protocol does not carry it (XK3190, "=" stream).
stable: False when the indicator flags motion, True when it flags none (Toledo), None
    when the protocol has no flag (judge it with StabilityDetector, whose output is
    True).
net: True net, False gross, None unknown. overload: the indicator flags out of range
    (never a weight to use). raw: the frame's bytes. protocol: XK3190, XK3190_COMMAND,
    YAOHUA_EQ or TOLEDO. tare: Decimal tare when the frame carries one (Toledo; an
    XK3190 'C' reply, whose weight is the tare), else None.
address, command: XK3190 command-mode reply only: indicator address 'A'..'Z' and the
    command answered ('B' gross, 'C' tare, 'D' net); None otherwise."""

FrameError = collections.namedtuple('FrameError', 'code message_en message_zh raw')
FrameError.__doc__ = """Why a frame was dropped: a stable `code` ('frame.truncated',
'frame.bad_end', 'frame.bad_field', 'frame.bad_checksum', 'frame.bad_command'), messages
in English and Chinese, and the bytes concerned."""

Command = collections.namedtuple('Command', 'address command raw')
Command.__doc__ = """An XK3190 host command frame: address 'A'..'Z', command letter."""


class WeighbridgeError(BilingualError):
    """A value a frame or an event cannot carry (builders and to_weight_event)."""


def _reading(**fields):
    values = dict(weight=None, unit=None, stable=None, net=None, overload=False, raw=b'',
                  protocol=None, tare=None, address=None, command=None)
    values.update(fields)
    return Reading(**values)


def _decimal(value, what='weight'):
    """Finite Decimal of an int, str or Decimal (floats through their shortest repr)."""
    if isinstance(value, bool):
        value = None
    try:
        number = decimal.Decimal(repr(value) if isinstance(value, float) else value)
    except (TypeError, ValueError, decimal.InvalidOperation):
        number = None
    if number is None or not number.is_finite():
        raise WeighbridgeError('weight.bad_value', '%s 须为数字（收到 %r）' % (what, value),
                               '%s must be a number (got %r)' % (what, value), value=value)
    return number


def _places(value):
    """Number of decimals a Decimal shows (0 for integers)."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _scaled_digits(value, decimals, width, what='weight'):
    """abs(value) * 10**decimals as `width` ASCII digits; refuses values that need rounding
    or do not fit (a frame shows what the display shows, nothing is invented)."""
    scaled = abs(value).scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise WeighbridgeError('weight.bad_value',
                               '%s %s 不能用 %d 位小数表示' % (what, value, decimals),
                               '%s %s cannot be shown with %d decimals' % (what, value, decimals),
                               value=str(value))
    text = '%d' % int(scaled)
    if len(text) > width:
        raise WeighbridgeError('weight.too_large',
                               '%s %s 超出 %d 位数字' % (what, value, width),
                               '%s %s does not fit in %d digits' % (what, value, width),
                               value=str(value))
    return text.zfill(width).encode('ascii')


# ---------------------------------------------------------------------------------------
# XK3190 checksums and builders
# ---------------------------------------------------------------------------------------

def _xor(data):
    result = 0
    for byte in bytearray(data):
        result ^= byte
    return result


def _xor_ascii(value):
    """Two uppercase ASCII hex digits (nibble + 0x30, or + 0x37 above 9)."""
    return ('%02X' % value).encode('ascii')


def _nibble(byte):
    """Value of one XOR character: '0'-'9', 'A'-'F', or ':'-'?' (firmware that adds 0x30
    to every nibble, e.g. the XK3190-A22 command mode); None for anything else."""
    if 0x30 <= byte <= 0x3F:
        return byte - 0x30
    if 0x41 <= byte <= 0x46:
        return byte - 0x37
    return None


def _xor_matches(covered, hi, lo):
    high, low = _nibble(hi), _nibble(lo)
    return high is not None and low is not None and (high << 4 | low) == _xor(covered)


def _xk3190_data(weight, decimals=None, sign=None):
    """sign + 6 digits + decimals, as XK3190 frames carry them."""
    value = _decimal(weight)
    if decimals is None:
        decimals = _places(value)
    if not 0 <= decimals <= 4:
        raise WeighbridgeError('weight.bad_decimals', '小数位数须为 0 到 4（收到 %r）' % decimals,
                               'decimals must be 0 to 4 (got %r)' % decimals, value=decimals)
    if sign is None:
        sign = '-' if value < 0 else '+'
    if sign not in ('+', '-'):
        raise WeighbridgeError('weight.bad_sign', "符号须为 '+' 或 '-'（收到 %r）" % sign,
                               "sign must be '+' or '-' (got %r)" % sign, value=sign)
    return sign.encode('ascii') + _scaled_digits(value, decimals, 6) + b'%d' % decimals


def xk3190_frame(weight, decimals=None, sign=None):
    """The 12-byte continuous frame (tF=0) of `weight` (Decimal, str or int).

    decimals (0..4) defaults to the decimals `weight` shows ('20.00' -> 2); sign ('+' or
    '-') defaults to the sign of `weight` (pass '-' to send -0). Raises WeighbridgeError
    for a weight that needs more than 6 digits or rounding.
    """
    data = _xk3190_data(weight, decimals, sign)
    return b'\x02' + data + _xor_ascii(_xor(data)) + b'\x03'


def _letter(value, allowed, what):
    text = value.decode('ascii', 'replace') if isinstance(value, bytes) else value
    if not isinstance(text, str) or len(text) != 1 or text not in allowed:
        raise WeighbridgeError('command.bad_%s' % what,
                               'XK3190 %s 无效（收到 %r）' % (what, value),
                               'XK3190 %s is not valid (got %r)' % (what, value), value=value)
    return text.encode('ascii')


_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'


def xk3190_command(address, command):
    """The 6-byte host command frame: STX address command XOR-hi XOR-lo ETX.

    address 'A'..'Z' (indicator address 1..26), command 'A' handshake, 'B' gross,
    'C' tare, 'D' net (also 'E', 'F' on models that know them). Address A, gross:
    02 41 42 30 33 03.
    """
    body = _letter(address, _LETTERS, 'address') + _letter(command, 'ABCDEF', 'command')
    return b'\x02' + body + _xor_ascii(_xor(body)) + b'\x03'


def xk3190_reply(address, command, weight=None, decimals=None, sign=None):
    """The indicator's reply to `command`: 6 bytes for 'A' (handshake, no data), 14 with
    the weight for 'B' gross, 'C' tare, 'D' net (weight, decimals, sign as xk3190_frame)."""
    body = _letter(address, _LETTERS, 'address') + _letter(command, 'ABCD', 'command')
    if body[1:] != b'A':
        body += _xk3190_data(0 if weight is None else weight, decimals, sign)
    return b'\x02' + body + _xor_ascii(_xor(body)) + b'\x03'


# ---------------------------------------------------------------------------------------
# Yaohua "=" stream and Toledo builders
# ---------------------------------------------------------------------------------------

def yaohua_eq_frame(value, reversed_digits, decimals=None):
    """The 9-byte "=" frame of `value`: '=' + sign ('0' or '-') + 7 characters of the
    displayed value (its decimal point included, zero-padded), all 8 reversed when
    `reversed_digits` (format 1): 3.000 -> b'=000.3000' (format 1), b'=0003.000' (2)."""
    number = _decimal(value)
    if decimals is None:
        decimals = _places(number)
    if not 0 <= decimals <= 5:
        raise WeighbridgeError('weight.bad_decimals', '小数位数须为 0 到 5（收到 %r）' % decimals,
                               'decimals must be 0 to 5 (got %r)' % decimals, value=decimals)
    digits = _scaled_digits(number, decimals, 7).decode('ascii')
    text = digits if not decimals else '%s.%s' % (digits[:-decimals], digits[-decimals:])
    text = text.lstrip('0').rjust(7, '0')
    if len(text) > 7:
        raise WeighbridgeError('weight.too_large', '重量 %s 超出 7 个字符' % value,
                               'weight %s does not fit in 7 characters' % value,
                               value=str(value))
    forward = ('-' if number < 0 else '0') + text
    return ('=' + (forward[::-1] if reversed_digits else forward)).encode('ascii')


def toledo_checksum(data):
    """CHK of a Toledo frame: two's complement of the 7-bit sum of `data`."""
    return -sum(bytearray(data)) & 0x7F


def toledo_frame(weight, tare=0, decimals=None, unit='kg', net=False, motion=False,
                 out_of_range=False, checksum=True):
    """The Mettler-Toledo standard continuous frame of `weight` (and `tare`).

    decimals -2..5 (-2 and -1 are the dummy zeros XXXX00 and XXXXX0) default to the
    decimals `weight` shows; unit 'kg', 't', 'lb' or 'g'; net, motion, out_of_range set
    SWB bits 0, 3 and 2 (bit 1 is the sign of `weight`); checksum appends CHK.
    """
    value, tare_value = _decimal(weight), _decimal(tare, 'tare')
    if decimals is None:
        decimals = _places(value)
    if not -2 <= decimals <= 5:
        raise WeighbridgeError('weight.bad_decimals', '小数位数须为 -2 到 5（收到 %r）' % decimals,
                               'decimals must be -2 to 5 (got %r)' % decimals, value=decimals)
    if unit not in _TOLEDO_UNIT_CODES:
        raise WeighbridgeError('weight.bad_unit', '单位须为 kg、t、lb 或 g（收到 %r）' % unit,
                               'unit must be kg, t, lb or g (got %r)' % unit, value=unit)
    unit_code, metric = _TOLEDO_UNIT_CODES[unit]
    swa = 0x20 | 0x08 | (decimals + 2)                  # bit 3: increment size x1
    swb = (0x20 | (0x01 if net else 0) | (0x02 if value < 0 else 0)
           | (0x04 if out_of_range else 0) | (0x08 if motion else 0) | (0x10 if metric else 0))
    swc = 0x20 | unit_code
    body = (bytes(bytearray([STX, swa, swb, swc])) + _scaled_digits(value, decimals, 6)
            + _scaled_digits(tare_value, decimals, 6, 'tare') + b'\r')
    if checksum:
        body += bytes(bytearray([toledo_checksum(body)]))
    return body


# ---------------------------------------------------------------------------------------
# Parsers
# ---------------------------------------------------------------------------------------

_NEED_MORE = object()

_ERROR_TEXTS = {
    'frame.truncated': ('帧不完整：在帧结束前出现了下一帧的起始符',
                        'frame cut short: the next start byte came before its end'),
    'frame.bad_end': ('帧结束符或结构错误', 'frame end byte or layout is wrong'),
    'frame.bad_field': ('帧中字段无效', 'a field of the frame is not valid'),
    'frame.bad_checksum': ('帧校验和错误', 'frame checksum does not match'),
    'frame.bad_command': ('未知的 XK3190 命令或地址', 'unknown XK3190 command or address'),
}


class _Reject(object):
    """What a frame check found wrong; `drop` bytes are discarded before rescanning."""
    __slots__ = ('code', 'detail', 'length', 'drop')

    def __init__(self, code, detail, length, drop=1):
        self.code, self.detail, self.length, self.drop = code, detail, length, drop


class _FrameParser(object):
    """Scan for the start byte, cut one frame, check it, repeat (see the module doc).

    Subclasses set START and implement _frame(buf) -> _NEED_MORE, _Reject, or
    (length, item or None).
    """

    START = b'\x02'
    protocol = None

    def __init__(self):
        self._buf = bytearray()
        self.frames = 0
        self.errors = 0
        self.error_counts = collections.Counter()
        self.last_error = None
        self.skipped_bytes = 0

    def feed(self, data):
        """Items completed by `data` (bytes), in stream order; bad frames are counted."""
        buf = self._buf
        buf += data
        out = []
        while buf:
            start = buf.find(self.START)
            if start < 0:
                self.skipped_bytes += len(buf)
                del buf[:]
                break
            if start:
                self.skipped_bytes += start
                del buf[:start]
            result = self._frame(buf)
            if result is _NEED_MORE:
                break
            if isinstance(result, _Reject):
                self._reject(result, bytes(buf[:result.length]))
                del buf[:result.drop]
                continue
            length, item = result
            self.frames += 1
            del buf[:length]
            if item is not None:
                out.append(item)
        return out

    def reset(self):
        """Forget a partial frame (after reconnecting: old bytes belong to no frame)."""
        del self._buf[:]

    def _reject(self, reject, raw):
        zh, en = _ERROR_TEXTS[reject.code]
        self.errors += 1
        self.error_counts[reject.code] += 1
        self.last_error = FrameError(reject.code, '%s: %s: %r' % (en, reject.detail, raw),
                                     '%s：%s：%r' % (zh, reject.detail, raw), raw)

    def _cut_short(self, buf, length):
        """A _Reject when another start byte lies inside buf[1:length] (a frame that lost
        bytes and ran into the next one): drop up to that start byte."""
        inner = buf.find(self.START, 1, length)
        if inner > 0:
            return _Reject('frame.truncated', 'start byte at %d' % inner, inner, drop=inner)
        return None


def _sign(byte):
    return {0x2B: 1, 0x2D: -1}.get(byte)


def _digits_value(digits, decimals):
    """Decimal of ASCII digits with `decimals` decimals; None if not all digits."""
    if not digits.isdigit():
        return None
    return decimal.Decimal(int(digits)).scaleb(-decimals) if decimals else \
        decimal.Decimal(int(digits))


def _signed(sign, value):
    return -value if sign < 0 and value else value


def _xk3190_weight(data):
    """Decimal weight of sign + 6 digits + decimals bytes, or None when malformed."""
    sign = _sign(data[0])
    dec = data[7] - 0x30
    digits = bytes(data[1:7])
    if sign is None or not 0 <= dec <= 4:
        return None
    value = _digits_value(digits, dec)
    return None if value is None else _signed(sign, value)


class XK3190Parser(_FrameParser):
    """XK3190-A9/D9 continuous output (tF=0): feed(bytes) -> [Reading].

    Readings have unit None and stable None (the frame has neither).
    """

    protocol = XK3190
    LENGTH = 12

    def _frame(self, buf):
        short = self._cut_short(buf, min(len(buf), self.LENGTH))
        if short is not None:
            return short
        if len(buf) < self.LENGTH:
            return _NEED_MORE
        if buf[11] != ETX:
            return _Reject('frame.bad_end', 'byte 12 is 0x%02X, not ETX' % buf[11], 12)
        data = bytes(buf[1:9])
        weight = _xk3190_weight(data)
        if weight is None:
            return _Reject('frame.bad_field', 'sign, digits or decimals', 12)
        if not _xor_matches(data, buf[9], buf[10]):
            return _Reject('frame.bad_checksum', 'XOR %02X' % _xor(data), 12, drop=12)
        return 12, _reading(weight=weight, protocol=self.protocol, raw=bytes(buf[:12]))


class _XK3190CommandFrames(_FrameParser):
    """STX address command [data] XOR-hi XOR-lo ETX frames of the command mode."""

    def _command_frame(self, buf, lengths):
        """(length, address, command, data) or a _Reject / _NEED_MORE."""
        if len(buf) < 3:
            short = self._cut_short(buf, len(buf))
            return short if short is not None else _NEED_MORE
        address, command = buf[1], buf[2]
        if not 0x41 <= address <= 0x5A:
            return _Reject('frame.bad_command', 'address 0x%02X' % address, 3)
        letter = chr(command)
        if letter in lengths:
            length = lengths[letter]
        elif letter in _XK3190_OTHER_COMMANDS:          # free length: up to ETX
            end = buf.find(b'\x03', 3, _XK3190_MAX_FRAME)
            if end < 0:
                short = self._cut_short(buf, min(len(buf), _XK3190_MAX_FRAME))
                if short is not None:
                    return short
                if len(buf) >= _XK3190_MAX_FRAME:
                    return _Reject('frame.bad_end', 'no ETX', _XK3190_MAX_FRAME)
                return _NEED_MORE
            length = end + 1
        else:
            return _Reject('frame.bad_command', 'command 0x%02X' % command, 3)
        short = self._cut_short(buf, min(len(buf), length))
        if short is not None:
            return short
        if len(buf) < length:
            return _NEED_MORE
        if buf[length - 1] != ETX:
            return _Reject('frame.bad_end', 'byte %d is 0x%02X, not ETX'
                           % (length, buf[length - 1]), length)
        covered = bytes(buf[1:length - 3])
        if not _xor_matches(covered, buf[length - 3], buf[length - 2]):
            return _Reject('frame.bad_checksum', 'XOR %02X' % _xor(covered), length,
                           drop=length)
        return length, chr(address), letter, bytes(buf[3:length - 3])


class XK3190ReplyParser(_XK3190CommandFrames):
    """XK3190 command mode (tF=1), the indicator's replies: feed(bytes) -> [Reading].

    'B', 'C', 'D' replies become readings (command and address set; net True for 'D',
    False for 'B'; a 'C' reply's weight is the tare and is also in `tare`). Handshake
    replies ('A') are counted in `handshakes`; 'E'/'F' replies and replies from another
    address than `address` (None: any) in `ignored`.
    """

    protocol = XK3190_COMMAND
    LENGTHS = {'A': 6, 'B': 14, 'C': 14, 'D': 14}

    def __init__(self, address=None):
        super(XK3190ReplyParser, self).__init__()
        self.address = address.upper() if address else None
        self.handshakes = 0
        self.ignored = 0

    def _frame(self, buf):
        result = self._command_frame(buf, self.LENGTHS)
        if result is _NEED_MORE or isinstance(result, _Reject):
            return result
        length, address, command, data = result
        if command in _XK3190_OTHER_COMMANDS or (self.address and address != self.address):
            self.ignored += 1
            return length, None
        if command == 'A':
            self.handshakes += 1
            return length, None
        weight = _xk3190_weight(data)
        if weight is None:
            return _Reject('frame.bad_field', 'sign, digits or decimals', length)
        return length, _reading(
            weight=weight, protocol=self.protocol, raw=bytes(buf[:length]),
            net={'B': False, 'D': True}.get(command),
            tare=weight if command == 'C' else None, address=address, command=command)


class XK3190HostParser(_XK3190CommandFrames):
    """The host's XK3190 command frames, read on the indicator side (simulator):
    feed(bytes) -> [Command]."""

    protocol = XK3190_COMMAND
    LENGTHS = {letter: 6 for letter in 'ABCD'}

    def _frame(self, buf):
        result = self._command_frame(buf, self.LENGTHS)
        if result is _NEED_MORE or isinstance(result, _Reject):
            return result
        length, address, command, _data = result
        return length, Command(address, command, bytes(buf[:length]))


class YaohuaEqParser(_FrameParser):
    """Yaohua "=" stream: feed(bytes) -> [Reading]; `reversed_digits` True for format 1
    (`=000.3000` is 3.000), False for format 2 (`=0003.000`). No checksum, no unit, no
    stability flag: a frame is taken when its 8 characters are a sign ('0', '-') and 7
    characters of digits with at most one decimal point."""

    START = b'='
    protocol = YAOHUA_EQ
    LENGTH = 9

    def __init__(self, reversed_digits):
        super(YaohuaEqParser, self).__init__()
        if reversed_digits not in (True, False):
            raise WeighbridgeError('config.bad_format',
                                   '"=" 数据流须设置格式：reversed_digits=True（格式1）或 False（格式2）',
                                   'the "=" stream needs its format: reversed_digits=True '
                                   '(format 1) or False (format 2)')
        self.reversed_digits = reversed_digits

    def _frame(self, buf):
        short = self._cut_short(buf, min(len(buf), self.LENGTH))
        if short is not None:
            return short
        if len(buf) < self.LENGTH:
            return _NEED_MORE
        text = bytes(buf[1:9]).decode('latin-1')
        if self.reversed_digits:
            text = text[::-1]
        sign, body = text[0], text[1:]
        if sign not in '0-' or not _ascii_digits(body.replace('.', '', 1)):
            return _Reject('frame.bad_field', 'not a sign and 7 digits', 9)
        value = decimal.Decimal(body)
        if sign == '-' and value:
            value = -value
        return 9, _reading(weight=value, protocol=self.protocol, raw=bytes(buf[:9]))


def _ascii_digits(text):
    return bool(text) and all('0' <= char <= '9' for char in text)


class ToledoParser(_FrameParser):
    """Mettler-Toledo standard continuous output: feed(bytes) -> [Reading].

    checksum: True (CHK always sent and checked), False (never sent), None (a byte after
    CR that matches is the CHK; the next frame's STX there means none was sent; any other
    byte is a checksum error). Readings carry unit, stable (not in motion), net,
    overload (out of range) and tare.
    """

    protocol = TOLEDO
    LENGTH = 17                 # without CHK

    def __init__(self, checksum=None):
        super(ToledoParser, self).__init__()
        if checksum not in (True, False, None):
            raise WeighbridgeError('config.bad_checksum', 'checksum 须为 True、False 或 None',
                                   'checksum must be True, False or None')
        self.checksum = checksum

    def _frame(self, buf):
        short = self._cut_short(buf, min(len(buf), self.LENGTH))
        if short is not None:
            return short
        if len(buf) < self.LENGTH + (self.checksum is not False):
            return _NEED_MORE
        if buf[16] != CR:
            return _Reject('frame.bad_end', 'byte 17 is 0x%02X, not CR' % buf[16], 17)
        swa, swb, swc = buf[1] & 0x7F, buf[2] & 0x7F, buf[3] & 0x7F
        weight_text, tare_text = bytes(buf[4:10]), bytes(buf[10:16])
        fields = (weight_text.lstrip(b' ') or b'0', tare_text.lstrip(b' ') or b'0')
        if not all(field.isdigit() for field in fields) or swa < 0x20 or swc < 0x20:
            return _Reject('frame.bad_field', 'status bytes or digits', 17)
        length = 17
        if self.checksum is not False:
            expected = toledo_checksum(buf[:17])
            if buf[17] == expected:
                length = 18
            elif self.checksum or buf[17] != STX:
                return _Reject('frame.bad_checksum', 'CHK 0x%02X, expected 0x%02X'
                               % (buf[17], expected), 18, drop=17)
        code = swa & 0x07
        weight, tare = (self._value(field, code) for field in fields)
        unit_code = swc & 0x07
        unit = ('kg' if swb & 0x10 else 'lb') if unit_code == 0 else _TOLEDO_UNITS.get(unit_code)
        return length, _reading(
            weight=-weight if swb & 0x02 and weight else weight, unit=unit,
            stable=not swb & 0x08, net=bool(swb & 0x01), overload=bool(swb & 0x04),
            raw=bytes(buf[:length]), protocol=self.protocol, tare=tare)

    @staticmethod
    def _value(digits, code):
        """SWA code 0 and 1 are dummy zeros (x100, x10), 2..7 are 0..5 decimals."""
        if code < 2:
            return decimal.Decimal(int(digits) * 10 ** (2 - code))
        return _digits_value(digits, code - 2)


PROTOCOLS = collections.OrderedDict([
    (XK3190, XK3190Parser),
    (XK3190_COMMAND, XK3190ReplyParser),
    (YAOHUA_EQ, YaohuaEqParser),
    (TOLEDO, ToledoParser),
])


def make_parser(protocol, **options):
    """A fresh parser for `protocol` (a PROTOCOLS key): YAOHUA_EQ needs
    reversed_digits=True|False, TOLEDO takes checksum, XK3190_COMMAND address."""
    if protocol not in PROTOCOLS:
        raise WeighbridgeError('config.bad_protocol',
                               '未知的地磅仪表协议 %r（可用：%s）' % (protocol, '、'.join(PROTOCOLS)),
                               'unknown weighbridge protocol %r (known: %s)'
                               % (protocol, ', '.join(PROTOCOLS)), value=protocol)
    return PROTOCOLS[protocol](**options)


# ---------------------------------------------------------------------------------------
# Stability
# ---------------------------------------------------------------------------------------

class StabilityDetector(object):
    """At most one stable weight per vehicle on the scale: feed(Reading) -> Reading|None.

    A weight is stable after `n` readings in a row within `tolerance` of the first of
    them (same unit), none flagged in motion by the indicator (such a reading restarts
    the count) or out of range (never reported, and restarts the count). A stable
    weight is reported (as the latest reading with stable=True) when it is at least
    `min_weight` and above zero, unless the weight reported last is within `tolerance`
    of it: a vehicle that stays, rocks (motion) or shows a stray reading is reported
    once, one whose weight changes beyond tolerance (a trailer uncoupled) again once it
    settles. `n` readings in a row below `min_weight` (or at/below zero; flagged in
    motion or not) mean the scale emptied: the next vehicle is reported even with the
    very same weight. One stray reading near zero is not enough, because the "=" stream
    has no checksum and a damaged frame must not make a vehicle count twice. A weight
    already on the scale at start is reported once stable. tolerance and min_weight
    are in the readings' unit (Decimal, int or str).
    """

    def __init__(self, n=5, tolerance=0, min_weight=0):
        if int(n) < 1:
            raise WeighbridgeError('config.bad_n', 'n 须不小于 1', 'n must be at least 1',
                                   value=n)
        self.n = int(n)
        self.tolerance = abs(_decimal(tolerance, 'tolerance'))
        self.min_weight = _decimal(min_weight, 'min_weight')
        self.reset()

    def reset(self):
        """Forget everything, as if the scale had never been read."""
        self._first = None
        self.count = 0
        self.empty_count = 0
        self.last = None
        self.last_reported = None

    @property
    def stable(self):
        """True while the last `n` readings were within tolerance (reported or not)."""
        return self.count >= self.n

    def _empty(self, weight):
        return weight <= 0 or weight < self.min_weight

    def _near(self, reading, other):
        return (other is not None and reading.unit == other.unit
                and abs(reading.weight - other.weight) <= self.tolerance)

    def feed(self, reading):
        """The reading to report (stable=True) when `reading` completes a stable weight
        not yet reported, else None."""
        self.last = reading
        if self._empty(reading.weight) and not reading.overload:
            self.empty_count += 1
            if self.empty_count >= self.n:
                self.last_reported = None
        else:
            self.empty_count = 0
        if reading.overload or reading.stable is False:
            self._first, self.count = None, 0
            return None
        if self._near(reading, self._first):
            self.count += 1
        else:
            self._first, self.count = reading, 1
        if self.count < self.n or self._empty(reading.weight) \
                or self._near(reading, self.last_reported):
            return None
        self.last_reported = reading._replace(stable=True)
        return self.last_reported


# ---------------------------------------------------------------------------------------
# To the ERP contract
# ---------------------------------------------------------------------------------------

def _utc(when):
    if not isinstance(when, datetime.datetime):
        raise WeighbridgeError('event.bad_time', '时间须为 datetime（收到 %r）' % (when,),
                               'time must be a datetime (got %r)' % (when,))
    if when.tzinfo is None or when.utcoffset() is None:     # gate box convention: naive UTC
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when


def weight_event_id(lane, when, weight, unit, prefix=''):
    """A contract event_id (<= 64 characters) from lane, instant and weight: the same
    stable weight sent again (a retry, a replay from the box's queue) is acknowledged by
    the ERP as a duplicate. The instant counts in UTC, whatever offset `when` has."""
    instant = _utc(when).astimezone(datetime.timezone.utc).isoformat()
    key = 'weight|%s|%s|%s|%s' % (lane, instant, format(_decimal(weight).normalize(), 'f'),
                                  unit)
    return (prefix + hashlib.sha256(key.encode('utf-8')).hexdigest()[:40])[-64:]


def _number(value):
    """JSON number of a Decimal: int when it shows no decimals, else float."""
    if _places(value) == 0:
        return int(value)
    return float(value)


def to_weight_event(lane, weight_reading, when, event_id=None, plate=None, unit=None,
                    extra=None):
    """The `type: 'weight'` event (ERP contract, hj1321/events.py) of a stable reading.

    lane: the lane code; when: datetime of the reading (naive means UTC, the gate box
    convention; an aware one keeps its offset in `time`); unit: the indicator's unit for
    protocols that do not send one (the reading's own unit wins); plate: the vehicle the
    box saw on the lane, if known. event_id defaults to weight_event_id(). The exact
    decimal weight, the frame and the indicator's flags go to extra. Raises
    WeighbridgeError for a negative or out-of-range weight or a unit other than t/kg.
    """
    reading = weight_reading
    unit = reading.unit or unit
    if unit not in EVENT_UNITS:
        raise WeighbridgeError('event.bad_unit',
                               '称重单位须为 t 或 kg（收到 %r）：请设置仪表单位' % (unit,),
                               'the weight unit must be t or kg (got %r): set the indicator '
                               'unit' % (unit,), value=unit)
    if reading.overload:
        raise WeighbridgeError('event.overload', '仪表报告超量程，重量不可用',
                               'the indicator reports out of range: no usable weight')
    if reading.weight is None or reading.weight < 0:
        raise WeighbridgeError('event.bad_weight', '重量须不小于 0（收到 %s）' % reading.weight,
                               'the weight must be at least 0 (got %s)' % reading.weight,
                               value=str(reading.weight))
    if not isinstance(lane, str) or not 1 <= len(lane) <= 32:
        raise WeighbridgeError('event.bad_lane', '车道编码须为 1 到 32 个字符',
                               'the lane code must be 1 to 32 characters', value=lane)
    when = _utc(when)
    event = {
        'event_id': event_id or weight_event_id(lane, when, reading.weight, unit),
        'type': 'weight', 'lane': lane, 'time': when.isoformat(),
        'weight': _number(reading.weight), 'unit': unit,
    }
    if plate:
        event['plate'] = plate
    details = {
        'source': 'weighbridge', 'protocol': reading.protocol,
        'weight_text': format(reading.weight, 'f'), 'stable': reading.stable,
        'net': reading.net, 'raw': bytes(reading.raw).hex(),
    }
    if reading.tare is not None:
        details['tare_text'] = format(reading.tare, 'f')
    details.update(extra or {})
    event['extra'] = details
    return event


# ---------------------------------------------------------------------------------------
# The serial reader
# ---------------------------------------------------------------------------------------

def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class SerialScale(threading.Thread):
    """Reads one indicator on a serial port; a daemon thread (start(), stop()).

    url: a device path or pyserial URL (serial.serial_for_url). parser: a fresh parser
    (make_parser). callback(reading, when): called in this thread with each stable
    weight (reading.unit filled from `unit` when the protocol sends none; when: aware
    UTC datetime). poll: command mode only, the command frame sent every poll_interval
    seconds (xk3190_command('A', 'B')); only replies to that command feed the detector.
    on_reading(reading, when): optional, every reading (a live display). unit: the
    indicator's unit ('t' or 'kg') for protocols that do not send it. Serial settings:
    baudrate, bytesize, parity, stopbits (9600 8N1 by default; Toledo terminals are
    often 7E1), read_timeout, write_timeout. stale_after: seconds without a good frame
    after which status()['receiving'] turns False (a silent indicator on an open port).

    The port is read in short timeouts so stop() returns quickly. A bad frame is counted
    by the parser and the connection kept; a failing port (SerialException, OSError) is
    closed and reopened after backoff[0], backoff[1], ... seconds (the last repeats),
    the sequence restarting once a good frame arrives. The detector keeps its state
    across reconnects, so a vehicle still on the scale is not reported twice.
    """

    def __init__(self, url, parser, callback=None, detector=None, unit=None, poll=None,
                 poll_interval=0.25, baudrate=9600, bytesize=8, parity='N', stopbits=1,
                 read_timeout=0.05, write_timeout=1.0, backoff=(0.5, 1, 2, 5, 10),
                 stale_after=3.0, on_reading=None, clock=None, name=None):
        import serial           # pyserial 3.5: only the reader needs it; fail here, not later
        super(SerialScale, self).__init__(name=name or 'weighbridge %s' % url)
        self.daemon = True
        self._serial = serial
        self.url = url
        self.parser = parser
        self.detector = detector if detector is not None else StabilityDetector()
        self.callback = callback
        self.on_reading = on_reading
        self.unit = unit
        self.poll = poll
        self.poll_interval = poll_interval
        self.serial_options = dict(baudrate=baudrate, bytesize=bytesize, parity=parity,
                                   stopbits=stopbits, timeout=read_timeout,
                                   write_timeout=write_timeout)
        self.backoff = tuple(backoff) or (1,)
        self.stale_after = stale_after
        self._clock = clock or _utcnow
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._failures = 0
        self._last_seen = None          # monotonic time of the last good frame
        self._status = {
            'status': 'connecting', 'message': '', 'port': url,
            'protocol': getattr(parser, 'protocol', None), 'reconnects': 0,
            'last_reading': None, 'last_reading_time': None,
            'last_stable': None, 'last_stable_time': None, 'stable_count': 0,
        }

    # -- control ------------------------------------------------------------------------
    def stop(self, timeout=2.0):
        """Ask the thread to end and wait up to `timeout` seconds for it."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)

    def status(self):
        """A copy of the status: status ('connecting', 'connected', 'disconnected',
        'stopped'), message, receiving (a good frame within stale_after seconds), frames,
        errors, error_counts, last_error, reconnects, last reading and stable weight."""
        parser = self.parser
        with self._lock:
            status = dict(self._status)
            seen = self._last_seen
            last_error = parser.last_error
            status.update(frames=parser.frames, errors=parser.errors,
                          error_counts=dict(parser.error_counts),
                          skipped_bytes=parser.skipped_bytes)
        status.update(
            last_error=last_error.code if last_error else None,
            last_error_message=last_error.message_en if last_error else None,
            receiving=bool(seen is not None and time.monotonic() - seen <= self.stale_after
                           and status['status'] == 'connected'))
        return status

    def _set(self, **values):
        with self._lock:
            self._status.update(values)

    # -- loop ---------------------------------------------------------------------------
    def run(self):
        while not self._stop_event.is_set():
            try:
                port = self._serial.serial_for_url(self.url, **self.serial_options)
            except (OSError, ValueError) as exc:          # SerialException is an OSError
                self._lost(exc)
                continue
            with self._lock:
                self.parser.reset()
            self._set(status='connected', message='')
            _logger.info('weighbridge %s: connected', self.url)
            try:
                self._serve(port)
            except OSError as exc:
                self._lost(exc)
            finally:
                port.close()
        self._set(status='stopped')

    def _lost(self, exc):
        delay = self.backoff[min(self._failures, len(self.backoff) - 1)]
        self._failures += 1
        with self._lock:
            self._status.update(status='disconnected', message=str(exc))
            self._status['reconnects'] += 1
        _logger.warning('weighbridge %s: %s; retrying in %ss', self.url, exc, delay)
        self._stop_event.wait(delay)

    def _serve(self, port):
        next_poll = time.monotonic()
        polled = self.poll[2:3].decode('ascii') if self.poll else None
        while not self._stop_event.is_set():
            if self.poll and time.monotonic() >= next_poll:
                port.write(self.poll)
                next_poll = time.monotonic() + self.poll_interval
            data = port.read(port.in_waiting or 1)
            if not data:
                continue
            with self._lock:            # status() reads the parser's counters
                readings = self.parser.feed(data)
            for reading in readings:
                self._handle(reading, polled)

    def _handle(self, reading, polled):
        when = self._clock()
        if reading.unit is None and self.unit:
            reading = reading._replace(unit=self.unit)
        self._failures = 0
        with self._lock:
            self._last_seen = time.monotonic()
            self._status.update(last_reading=str(reading.weight), last_reading_time=when)
        if self.on_reading is not None:
            self._call(self.on_reading, reading, when)
        if polled is not None and reading.command != polled:
            return
        stable = self.detector.feed(reading)
        if stable is None:
            return
        with self._lock:
            self._status.update(last_stable=str(stable.weight), last_stable_time=when)
            self._status['stable_count'] += 1
        if self.callback is not None:
            self._call(self.callback, stable, when)

    def _call(self, function, reading, when):
        try:
            function(reading, when)
        except Exception:       # the consumer's bug must not stop the scale being read
            _logger.exception('weighbridge %s: callback failed', self.url)
