"""Modbus-TCP framing for network relay boards: bytes in, frames and coil values out.

Only what a barrier relay needs (Modbus Application Protocol V1.1b3 and the Modbus
Messaging on TCP/IP Implementation Guide V1.0b); every field is big-endian:

* MBAP header, 7 bytes: transaction id (2), protocol id (2, always 0), length (2: the
  bytes that follow it, unit id + PDU, so 2..254), unit id (1). The PDU is a function
  code and its data, at most 253 bytes.
* 0x05 Write Single Coil: `05 addr-hi addr-lo FF 00` (on) or `.. 00 00` (off); the
  board echoes the request. The specification's example, output 173 on (it counts
  from 1: protocol address 172 = 0xAC): `05 00 AC FF 00`.
* 0x01 Read Coils: `01 addr(2) count(2)` (count 1..2000); the answer is `01 byte-count
  bits...`, LSB of the first byte = the first coil asked for, unused high bits zero. The
  specification's example, outputs 20-38 (address 19 = 0x13, 19 coils): request
  `01 00 13 00 13`, answer `01 03 CD 6B 05`.
* Exception answer: `function | 0x80, exception code` (1 illegal function, 2 illegal data
  address, 3 illegal data value, 4 server device failure; gateways add 5, 6, 0x0A, 0x0B).

`FrameSplitter` cuts a TCP byte stream into frames (a read may hold part of a frame or
several); `ClientSession` is a sans-IO client: it numbers requests, matches answers by
transaction id (an answer to an earlier request that timed out is skipped), checks the
unit id, function and contents, and raises `ModbusExceptionReply` or `ModbusFrameError`.
The sockets are the barrier driver's (barrier.ModbusBarrier) and the simulator's.
Standard library (and hj1321's error type) only.
"""
import collections
import struct

from hj1321.errors import BilingualError

PROTOCOL_ID = 0
READ_COILS = 0x01
WRITE_SINGLE_COIL = 0x05
COIL_ON = 0xFF00
COIL_OFF = 0x0000
EXCEPTION_FLAG = 0x80
HEADER = struct.Struct('>HHHB')    # transaction, protocol, length, unit
HEADER_SIZE = HEADER.size          # 7
MAX_PDU = 253
MAX_LENGTH = MAX_PDU + 1           # the MBAP length counts the unit id too
MAX_READ_COILS = 2000
DEFAULT_PORT = 502

# code: (name, Chinese, English); 1-4 are what a relay board answers, the rest gateways.
EXCEPTIONS = {
    0x01: ('ILLEGAL FUNCTION', '设备不支持该功能码', 'the device does not support this function'),
    0x02: ('ILLEGAL DATA ADDRESS', '设备上没有该线圈地址',
           'the device has no coil at this address'),
    0x03: ('ILLEGAL DATA VALUE', '请求中的数值设备不接受',
           'the device refuses a value of the request'),
    0x04: ('SERVER DEVICE FAILURE', '设备执行时发生故障',
           'the device failed while executing the request'),
    0x05: ('ACKNOWLEDGE', '设备已接受请求，尚在处理',
           'the device accepted the request and is still busy'),
    0x06: ('SERVER DEVICE BUSY', '设备忙，请稍后重试', 'the device is busy, retry later'),
    0x0A: ('GATEWAY PATH UNAVAILABLE', '网关无可用路径', 'the gateway has no path to the device'),
    0x0B: ('GATEWAY TARGET DEVICE FAILED TO RESPOND', '网关后的设备无应答',
           'the device behind the gateway did not answer'),
}

Frame = collections.namedtuple('Frame', 'transaction protocol unit pdu')
Frame.__doc__ = """One Modbus-TCP frame: MBAP fields and the PDU (function code + data, bytes)."""


class ModbusError(BilingualError):
    """Anything wrong in a Modbus exchange that is not a lost connection."""


class ModbusFrameError(ModbusError):
    """Bytes that are not the answer asked for (garbage, wrong unit, function, contents)."""


class ModbusExceptionReply(ModbusError):
    """The device answered with a Modbus exception (`function`, `exception_code`)."""

    def __init__(self, function, exception_code):
        name, zh, en = EXCEPTIONS.get(exception_code, (
            'UNKNOWN', '未知异常码', 'unknown exception code'))
        super(ModbusExceptionReply, self).__init__(
            'modbus.exception', 'Modbus 异常应答 %d（%s）：功能码 0x%02X：%s'
            % (exception_code, name, function, zh),
            'Modbus exception %d (%s) to function 0x%02X: %s'
            % (exception_code, name, function, en),
            function=function, exception_code=exception_code)
        self.function = function
        self.exception_code = exception_code


def _hex(data):
    """'05 00 ac ff 00' (bytes.hex has no separator before Python 3.8)."""
    return ' '.join('%02x' % byte for byte in data)


def _frame_error(code, zh, en, **params):
    return ModbusFrameError(code, 'Modbus 帧错误：%s' % zh, 'bad Modbus frame: %s' % en,
                            **params)


def _u16(value, what):
    if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise _frame_error('modbus.bad_value', '%s 须为 0-65535（收到 %r）' % (what, value),
                           '%s must be 0-65535 (got %r)' % (what, value), value=value)
    return value


def _unit(unit):
    if not isinstance(unit, int) or not 0 <= unit <= 0xFF:
        raise _frame_error('modbus.bad_value', '单元标识须为 0-255（收到 %r）' % (unit,),
                           'the unit id must be 0-255 (got %r)' % (unit,), value=unit)
    return unit


# -- building frames ------------------------------------------------------------------

def adu(transaction, unit, pdu):
    """The bytes on the wire: MBAP header + PDU."""
    pdu = bytes(pdu)
    if not 1 <= len(pdu) <= MAX_PDU:
        raise _frame_error('modbus.bad_value', 'PDU 须为 1-253 字节', 'a PDU has 1-253 bytes',
                           length=len(pdu))
    return HEADER.pack(_u16(transaction, 'transaction id'), PROTOCOL_ID, len(pdu) + 1,
                       _unit(unit)) + pdu


def write_single_coil(address, on):
    """PDU of 0x05 Write Single Coil: coil `address` (0-based) on (0xFF00) or off (0x0000)."""
    return struct.pack('>BHH', WRITE_SINGLE_COIL, _u16(address, 'coil address'),
                       COIL_ON if on else COIL_OFF)


def read_coils(address, count=1):
    """PDU of 0x01 Read Coils: `count` coils from `address` (0-based)."""
    if not isinstance(count, int) or not 1 <= count <= MAX_READ_COILS:
        raise _frame_error('modbus.bad_value', '线圈数须为 1-2000', 'read 1-2000 coils',
                           count=count)
    if _u16(address, 'coil address') + count > 0x10000:
        raise _frame_error('modbus.bad_value', '线圈地址超出 65535', 'coil address past 65535',
                           address=address, count=count)
    return struct.pack('>BHH', READ_COILS, address, count)


def read_coils_reply(values):
    """PDU answering Read Coils with `values` (bools, first coil first)."""
    values = list(values)
    packed = bytearray((len(values) + 7) // 8)
    for index, value in enumerate(values):
        if value:
            packed[index // 8] |= 1 << (index % 8)
    return bytes([READ_COILS, len(packed)]) + bytes(packed)


def exception_reply(function, exception_code):
    """PDU of an exception answer to `function`."""
    return bytes([(function & 0x7F) | EXCEPTION_FLAG, exception_code & 0xFF])


def parse_request(pdu):
    """(function, address, value) of a request PDU; value is True/False for a coil write,
    the coil count for a read. Raises ModbusFrameError (the server answers exception 1
    or 3; see tests/simulators/modbus_sim.py)."""
    pdu = bytes(pdu)
    if len(pdu) != 5 or pdu[0] not in (READ_COILS, WRITE_SINGLE_COIL):
        raise _frame_error('modbus.unsupported', '不支持的请求 %s' % _hex(pdu),
                           'unsupported request %s' % _hex(pdu),
                           function=pdu[0] if pdu else None)
    function, address, value = struct.unpack('>BHH', pdu)
    if function == WRITE_SINGLE_COIL:
        if value not in (COIL_ON, COIL_OFF):
            raise _frame_error('modbus.bad_value', '线圈值须为 FF00 或 0000',
                               'a coil value is FF00 or 0000', function=function, value=value)
        return function, address, value == COIL_ON
    if not 1 <= value <= MAX_READ_COILS:
        raise _frame_error('modbus.bad_value', '线圈数须为 1-2000', 'read 1-2000 coils',
                           function=function, value=value)
    return function, address, value


# -- reading a byte stream --------------------------------------------------------------

class FrameSplitter(object):
    """Cut a TCP byte stream into Frames: `feed(data)` returns the frames it completed.

    A header that cannot be Modbus (protocol id not 0, length outside 2..254) means the
    stream lost its framing: nothing after it can be trusted, so the buffer is dropped and
    a ModbusFrameError takes its place in the returned list (frames before it are kept).
    """

    def __init__(self):
        self._buf = bytearray()
        self.frames = 0
        self.garbage = 0     # bytes dropped

    def feed(self, data):
        """[Frame or ModbusFrameError], in stream order."""
        buf = self._buf
        buf += data
        out = []
        while len(buf) >= HEADER_SIZE:
            transaction, protocol, length, unit = HEADER.unpack_from(buf)
            if protocol != PROTOCOL_ID or not 2 <= length <= MAX_LENGTH:
                raw = bytes(buf[:HEADER_SIZE])
                self.garbage += len(buf)
                del buf[:]
                out.append(_frame_error(
                    'modbus.garbage', '不是 Modbus-TCP 报文头：%s' % _hex(raw),
                    'not a Modbus-TCP header: %s' % _hex(raw), raw=raw))
                break
            end = HEADER_SIZE - 1 + length
            if len(buf) < end:
                break
            out.append(Frame(transaction, protocol, unit, bytes(buf[HEADER_SIZE:end])))
            self.frames += 1
            del buf[:end]
        return out

    def pending(self):
        """Bytes of an incomplete frame held."""
        return len(self._buf)

    def reset(self):
        """Forget a partial frame (a new connection starts a new stream)."""
        del self._buf[:]


# -- the client side ----------------------------------------------------------------------

class ClientSession(object):
    """A sans-IO Modbus-TCP client for one device (`unit`), one request at a time.

    `request(pdu)` -> bytes to send; then `feed(received)` until it returns the answer:
    True/False for a coil write (the value written), a tuple of bools for a coil read.
    `feed` returns None while the answer is incomplete; answers to earlier requests (a
    reply that came after its timeout) are skipped and counted in `stale`. A wrong unit
    id, function or content raises ModbusFrameError, an exception answer
    ModbusExceptionReply; either ends the request (the connection stays usable).
    """

    def __init__(self, unit, first_transaction=1):
        self.unit = _unit(unit)
        self._next = first_transaction & 0xFFFF
        self._pending = None      # (transaction, request pdu)
        self.splitter = FrameSplitter()
        self.stale = 0

    def request(self, pdu):
        transaction = self._next
        self._next = (self._next + 1) & 0xFFFF
        data = adu(transaction, self.unit, pdu)
        self._pending = (transaction, bytes(pdu))
        return data

    def reset(self):
        """After a reconnect: no partial frame, no request waiting."""
        self.splitter.reset()
        self._pending = None

    def feed(self, data):
        for item in self.splitter.feed(data):
            if isinstance(item, ModbusError):
                self._pending = None
                raise item
            if self._pending is None or item.transaction != self._pending[0]:
                self.stale += 1
                continue
            request = self._pending[1]
            self._pending = None
            return check_reply(request, item, self.unit)
        return None


def check_reply(request, frame, unit):
    """The answer `frame` carries to the request PDU `request` (see ClientSession)."""
    if frame.unit != unit:
        raise _frame_error('modbus.wrong_unit', '单元标识 %d，应为 %d' % (frame.unit, unit),
                           'unit id %d, expected %d' % (frame.unit, unit),
                           unit=frame.unit, expected=unit)
    function, pdu = request[0], frame.pdu
    if pdu[0] == function | EXCEPTION_FLAG:
        if len(pdu) != 2:
            raise _frame_error('modbus.bad_length', '异常应答长度 %d' % len(pdu),
                               'exception answer of %d bytes' % len(pdu), pdu=_hex(pdu))
        raise ModbusExceptionReply(function, pdu[1])
    if pdu[0] != function:
        raise _frame_error('modbus.wrong_function',
                           '功能码 0x%02X，应为 0x%02X' % (pdu[0], function),
                           'function 0x%02X, expected 0x%02X' % (pdu[0], function),
                           function=pdu[0], expected=function)
    if function == WRITE_SINGLE_COIL:
        if pdu != request:
            raise _frame_error('modbus.bad_echo', '写线圈应答与请求不一致：%s' % _hex(pdu),
                               'the coil write answer does not echo the request: %s'
                               % _hex(pdu), pdu=_hex(pdu))
        return request[3:5] == b'\xff\x00'
    count = struct.unpack('>H', request[3:5])[0]
    size = (count + 7) // 8
    if len(pdu) != 2 + size or pdu[1] != size:
        raise _frame_error('modbus.bad_length',
                           '读线圈应答应有 %d 字节数据：%s' % (size, _hex(pdu)),
                           'a coil read answer carries %d data bytes: %s' % (size, _hex(pdu)),
                           pdu=_hex(pdu))
    return tuple(bool(pdu[2 + i // 8] >> (i % 8) & 1) for i in range(count))
