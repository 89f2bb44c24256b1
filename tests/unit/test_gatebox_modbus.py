"""gatebox.modbus: Modbus-TCP frames byte for byte, stream splitting, reply matching.

The expected bytes are the examples of the Modbus Application Protocol Specification
V1.1b3 (Write Single Coil 6.5, Read Coils 6.1, exception responses 7) wrapped in the MBAP
header of the Modbus Messaging on TCP/IP Implementation Guide (all fields big-endian).
"""
import pytest

from gatebox import modbus
from gatebox.modbus import ClientSession, FrameSplitter, ModbusExceptionReply, ModbusFrameError

# Read Coils 20-38 (address 0x13, 19 coils): outputs 27..20 = CD, 35..28 = 6B, 38..36 = 05
SPEC_COILS = [True, False, True, True, False, False, True, True,
              True, True, False, True, False, True, True, False,
              True, False, True]


def h(text):
    return bytes.fromhex(text)


def test_write_single_coil_matches_the_specification():
    # the specification's output 173 is 1-based: protocol address 172 = 0x00AC
    assert modbus.write_single_coil(172, True) == h('05 00 AC FF 00')
    assert modbus.write_single_coil(172, False) == h('05 00 AC 00 00')
    # MBAP: transaction 1, protocol 0, length 6 (unit + 5 PDU bytes), unit 1
    assert modbus.adu(1, 1, modbus.write_single_coil(172, True)) == \
        h('00 01 00 00 00 06 01 05 00 AC FF 00')
    assert modbus.adu(0x1234, 0xFF, modbus.write_single_coil(0, False)) == \
        h('12 34 00 00 00 06 FF 05 00 00 00 00')


def test_read_coils_matches_the_specification():
    assert modbus.read_coils(0x13, 19) == h('01 00 13 00 13')
    assert modbus.read_coils_reply(SPEC_COILS) == h('01 03 CD 6B 05')
    session = ClientSession(unit=1)
    assert session.request(modbus.read_coils(0x13, 19)) == h('00 01 00 00 00 06 01 01 00 13 00 13')
    assert session.feed(h('00 01 00 00 00 06 01 01 03 CD 6B 05')) == tuple(SPEC_COILS)


def test_a_coil_write_is_answered_by_its_echo():
    session = ClientSession(unit=1)
    sent = session.request(modbus.write_single_coil(172, True))
    assert session.feed(sent) is True       # the board echoes the request
    sent = session.request(modbus.write_single_coil(172, False))
    assert sent[:2] == h('00 02') and session.feed(sent) is False


@pytest.mark.parametrize('code,name,zh', [
    (1, 'ILLEGAL FUNCTION', '不支持该功能码'), (2, 'ILLEGAL DATA ADDRESS', '没有该线圈地址'),
    (3, 'ILLEGAL DATA VALUE', '数值'), (4, 'SERVER DEVICE FAILURE', '故障')])
def test_exception_answers_raise_a_bilingual_error(code, name, zh):
    assert modbus.exception_reply(modbus.READ_COILS, code) == bytes([0x81, code])
    assert modbus.exception_reply(modbus.WRITE_SINGLE_COIL, code) == bytes([0x85, code])
    session = ClientSession(unit=1)
    session.request(modbus.write_single_coil(0, True))
    with pytest.raises(ModbusExceptionReply) as info:
        session.feed(h('00 01 00 00 00 03 01 85') + bytes([code]))
    error = info.value
    assert error.code == 'modbus.exception' and error.exception_code == code
    assert error.function == modbus.WRITE_SINGLE_COIL
    assert name in error.message_en and zh in error.message_zh
    assert error.message('zh_CN') == error.message_zh
    # the request is over: the next one is answered normally
    sent = session.request(modbus.write_single_coil(0, True))
    assert session.feed(sent) is True


def test_unknown_exception_code_is_still_reported():
    session = ClientSession(unit=1)
    session.request(modbus.read_coils(0, 1))
    with pytest.raises(ModbusExceptionReply) as info:
        session.feed(h('00 01 00 00 00 03 01 81 7F'))
    assert info.value.exception_code == 0x7F and 'unknown' in info.value.message_en


def test_splitter_waits_for_partial_frames_and_cuts_merged_ones():
    one = h('00 07 00 00 00 06 01 05 00 00 FF 00')
    two = h('00 08 00 00 00 04 01 01 01 01')
    splitter = FrameSplitter()
    for byte in one[:-1]:
        assert splitter.feed(bytes([byte])) == []
    assert splitter.pending() == len(one) - 1
    assert splitter.feed(one[-1:] + two[:3]) == [
        modbus.Frame(7, 0, 1, h('05 00 00 FF 00'))]
    assert splitter.feed(two[3:] + one) == [modbus.Frame(8, 0, 1, h('01 01 01')),
                                           modbus.Frame(7, 0, 1, h('05 00 00 FF 00'))]
    assert splitter.pending() == 0 and splitter.frames == 3


@pytest.mark.parametrize('header', [
    '00 01 00 01 00 06 01',     # protocol id 1
    '00 01 00 00 00 01 01',     # length 1: no function code
    '00 01 00 00 00 FF 01',     # length 255: past the 260-byte ADU
    '48 54 54 50 2F 31 2E',     # "HTTP/1." (a web server on the port)
])
def test_garbage_drops_the_buffer_and_is_reported(header):
    good = h('00 02 00 00 00 06 01 05 00 00 FF 00')
    splitter = FrameSplitter()
    out = splitter.feed(good + h(header) + good)
    assert out[0] == modbus.Frame(2, 0, 1, h('05 00 00 FF 00'))
    assert isinstance(out[1], ModbusFrameError) and out[1].code == 'modbus.garbage'
    assert len(out) == 2 and splitter.pending() == 0
    assert splitter.garbage == 7 + len(good)
    assert splitter.feed(good) == [modbus.Frame(2, 0, 1, h('05 00 00 FF 00'))]


def test_answers_are_matched_by_transaction_id():
    session = ClientSession(unit=1)
    late = session.request(modbus.write_single_coil(3, True))     # timed out, say
    sent = session.request(modbus.write_single_coil(3, False))
    assert session.feed(late + sent[:4]) is None         # the stale answer is skipped
    assert session.stale == 1
    assert session.feed(sent[4:]) is False
    assert session.feed(late) is None and session.stale == 2     # nothing is waiting


def test_transaction_ids_wrap():
    session = ClientSession(unit=1, first_transaction=0xFFFF)
    assert session.request(modbus.read_coils(0, 1))[:2] == h('FF FF')
    assert session.request(modbus.read_coils(0, 1))[:2] == h('00 00')


@pytest.mark.parametrize('answer,code', [
    ('00 01 00 00 00 06 02 05 00 04 FF 00', 'modbus.wrong_unit'),
    ('00 01 00 00 00 04 01 01 01 01', 'modbus.wrong_function'),
    ('00 01 00 00 00 06 01 05 00 05 FF 00', 'modbus.bad_echo'),
    ('00 01 00 00 00 06 01 05 00 04 00 00', 'modbus.bad_echo'),
    ('00 01 00 00 00 04 01 85 02 00', 'modbus.bad_length'),
])
def test_wrong_answers_to_a_coil_write(answer, code):
    session = ClientSession(unit=1)
    session.request(modbus.write_single_coil(4, True))
    with pytest.raises(ModbusFrameError) as info:
        session.feed(h(answer))
    assert info.value.code == code
    assert info.value.message_zh.startswith('Modbus 帧错误')
    assert session.feed(h(answer)) is None       # that request is over


@pytest.mark.parametrize('answer', [
    '00 01 00 00 00 03 01 01 00',               # byte count 0 for one coil
    '00 01 00 00 00 05 01 01 02 01 00',         # two bytes for one coil
    '00 01 00 00 00 04 01 01 02 01',            # byte count says 2, one follows
])
def test_wrong_coil_read_lengths(answer):
    session = ClientSession(unit=1)
    session.request(modbus.read_coils(0, 1))
    with pytest.raises(ModbusFrameError) as info:
        session.feed(h(answer))
    assert info.value.code == 'modbus.bad_length'


def test_session_reset_forgets_partial_frames():
    session = ClientSession(unit=1)
    session.feed(h('00 01 00'))
    session.reset()
    sent = session.request(modbus.read_coils(0, 1))
    assert session.feed(sent[:2] + h('00 00 00 04 01 01 01 00')) == (False,)


def test_requests_parsed_by_the_server_side():
    assert modbus.parse_request(h('05 00 AC FF 00')) == (5, 172, True)
    assert modbus.parse_request(h('05 00 AC 00 00')) == (5, 172, False)
    assert modbus.parse_request(h('01 00 13 00 13')) == (1, 19, 19)
    for bad, code in (('05 00 AC 12 34', 'modbus.bad_value'), ('01 00 00 00 00', 'modbus.bad_value'),
                      ('03 00 00 00 01', 'modbus.unsupported'), ('05 00', 'modbus.unsupported')):
        with pytest.raises(ModbusFrameError) as info:
            modbus.parse_request(h(bad))
        assert info.value.code == code


@pytest.mark.parametrize('call', [
    lambda: modbus.write_single_coil(0x10000, True),
    lambda: modbus.write_single_coil(-1, True),
    lambda: modbus.read_coils(0, 0),
    lambda: modbus.read_coils(0, 2001),
    lambda: modbus.read_coils(0xFFFF, 2),
    lambda: modbus.adu(0x10000, 1, b'\x01'),
    lambda: modbus.adu(1, 256, b'\x01'),
    lambda: modbus.adu(1, 1, b''),
    lambda: ClientSession(unit=-1),
])
def test_values_outside_the_protocol_are_refused(call):
    with pytest.raises(ModbusFrameError):
        call()
