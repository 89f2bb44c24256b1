"""Weighbridge indicators: real frames in, readings, stable weights and weight events out.

The parsers get byte streams as the indicators send them (built by the frame builders,
which are checked byte for byte against the vendors' documented examples), with garbage,
broken frames and bad checksums between good ones, split at every byte boundary. The
serial reader is driven through real pseudo-terminals by the simulator.
"""
import contextlib
import datetime
import decimal
import json
import os
import sys
import tempfile
import threading
import time

import jsonschema
import pytest

from gatebox import weighbridge as wb
from gatebox.weighbridge import Reading, StabilityDetector, WeighbridgeError
from hj1321 import events

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'simulators'))
import weighbridge_sim  # noqa: E402
from support import pty_pair, wait_until  # noqa: E402

D = decimal.Decimal
CST = datetime.timezone(datetime.timedelta(hours=8))
EVENT_VALIDATOR = jsonschema.Draft7Validator(events.load_schema('event'))
GARBAGE = b'\xff\x00\x13noise\r\n\x7f'          # no start byte of any protocol in it


def weights(readings):
    return [reading.weight for reading in readings]


def feed_all(parser, chunks):
    out = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    return out


def assert_split_invariant(make_parser, stream):
    """Cutting the stream in two at any byte gives the same items and counters as one
    feed; so does feeding it byte by byte."""
    whole = make_parser()
    expected = whole.feed(stream)
    for cut in range(len(stream) + 1):
        parser = make_parser()
        assert feed_all(parser, [stream[:cut], stream[cut:]]) == expected, cut
        assert (parser.errors, parser.skipped_bytes, parser.frames) == \
            (whole.errors, whole.skipped_bytes, whole.frames), cut
    parser = make_parser()
    assert feed_all(parser, [stream[i:i + 1] for i in range(len(stream))]) == expected
    assert parser.errors == whole.errors
    return expected, whole


# ---------------------------------------------------------------------------------------
# XK3190 continuous (tF=0)
# ---------------------------------------------------------------------------------------

DOC_FRAME = bytes.fromhex('02 2B 30 30 32 30 30 30 32 31 42 03')      # +20.00, DEVICES.md


def test_xk3190_documented_example():
    assert wb.xk3190_frame('20.00') == DOC_FRAME
    assert wb.xk3190_frame(20, decimals=2) == DOC_FRAME
    [reading] = wb.XK3190Parser().feed(DOC_FRAME)
    assert reading.weight == D('20.00') and str(reading.weight) == '20.00'
    assert (reading.unit, reading.stable, reading.net) == (None, None, None)
    assert reading.overload is False
    assert reading.raw == DOC_FRAME and reading.protocol == wb.XK3190


@pytest.mark.parametrize('text', ['123456', '12345.6', '1234.56', '123.456', '12.3456',
                                  '-98765', '-9876.5', '-987.65', '-98.765', '-9.8765',
                                  '0', '0.00'])
def test_xk3190_decimals_and_signs(text):
    frame = wb.xk3190_frame(text)
    assert len(frame) == 12 and frame[1:2] == (b'-' if text.startswith('-') else b'+')
    assert frame[8:9] == str(len(text.partition('.')[2])).encode()
    [reading] = wb.XK3190Parser().feed(frame)
    assert str(reading.weight) == text


def test_xk3190_negative_zero_is_zero():
    frame = wb.xk3190_frame(0, decimals=1, sign='-')
    assert frame[1:9] == b'-0000001'        # sign, 6 digits, 1 decimal
    [reading] = wb.XK3190Parser().feed(frame)
    assert reading.weight == 0 and not reading.weight.is_signed()


def corrupt(frame, index, value):
    data = bytearray(frame)
    data[index] = value
    return bytes(data)


def test_xk3190_bad_checksum_counted_and_next_frame_kept():
    good = wb.xk3190_frame('31.45')
    bad = corrupt(wb.xk3190_frame('31.46'), 10, ord('0') if wb.xk3190_frame('31.46')[10] != 0x30
                  else ord('1'))
    parser = wb.XK3190Parser()
    assert weights(parser.feed(bad + good)) == [D('31.45')]
    assert parser.errors == 1 and parser.error_counts['frame.bad_checksum'] == 1
    assert parser.last_error.code == 'frame.bad_checksum'
    assert parser.last_error.raw == bad
    assert 'checksum' in parser.last_error.message_en and '校验' in parser.last_error.message_zh


def test_xk3190_digit_error_caught_by_checksum():
    frame = wb.xk3190_frame('20.00')
    damaged = corrupt(frame, 4, ord('3'))        # '+003000' with the XOR of '+002000'
    parser = wb.XK3190Parser()
    assert parser.feed(damaged) == [] and parser.error_counts['frame.bad_checksum'] == 1


def test_xk3190_xor_nibble_encodings():
    # XOR 0x1B: 'B' as hex; firmware adding 0x30 to each nibble sends ';' (0x3B).
    assert weights(wb.XK3190Parser().feed(corrupt(DOC_FRAME, 10, ord(';')))) == [D('20.00')]
    parser = wb.XK3190Parser()
    assert parser.feed(corrupt(DOC_FRAME, 10, ord('b'))) == []
    assert parser.error_counts['frame.bad_checksum'] == 1


def test_xk3190_malformed_frames():
    bad_digit = b'\x02+00A000' + b'2'
    bad_digit += wb._xor_ascii(wb._xor(bad_digit[1:])) + b'\x03'     # checksum right
    bad_decimals = b'\x02+0020009'
    bad_decimals += wb._xor_ascii(wb._xor(bad_decimals[1:])) + b'\x03'
    no_etx = DOC_FRAME[:11] + b'X'
    parser = wb.XK3190Parser()
    good = wb.xk3190_frame('7.5')
    assert weights(parser.feed(bad_digit + good + bad_decimals + good + no_etx + good)) == \
        [D('7.5')] * 3
    assert dict(parser.error_counts) == {'frame.bad_field': 2, 'frame.bad_end': 1}


def test_xk3190_garbage_and_truncated_frames():
    frames = [wb.xk3190_frame(w) for w in ('10.00', '10.02', '-0.04')]
    stream = (GARBAGE + frames[0] + frames[1][:7] + frames[1] + GARBAGE + frames[2][:11]
              + frames[2] + b'\x02\x02' + frames[0])
    parser = wb.XK3190Parser()
    assert weights(parser.feed(stream)) == [D('10.00'), D('10.02'), D('-0.04'), D('10.00')]
    assert parser.error_counts == {'frame.truncated': 4}
    assert parser.skipped_bytes == 2 * len(GARBAGE)
    assert parser.frames == 4


def test_xk3190_split_at_every_byte():
    bad = corrupt(wb.xk3190_frame('3.1'), 9, ord('F'))
    stream = (GARBAGE + wb.xk3190_frame('45.20') + bad + wb.xk3190_frame('-1.5')
              + wb.xk3190_frame('45.20')[:5] + wb.xk3190_frame('123456') + b'\x02')
    readings, parser = assert_split_invariant(wb.XK3190Parser, stream)
    assert weights(readings) == [D('45.20'), D('-1.5'), D('123456')]
    assert parser.errors == 2


@pytest.mark.parametrize('args, code', [
    (('1234567',), 'weight.too_large'),
    (('1.234', 2), 'weight.bad_value'),
    (('1', 5), 'weight.bad_decimals'),
    (('1', 0, '*'), 'weight.bad_sign'),
    (('abc',), 'weight.bad_value'),
])
def test_xk3190_builder_refuses(args, code):
    with pytest.raises(WeighbridgeError) as info:
        wb.xk3190_frame(*args)
    assert info.value.code == code
    assert info.value.message('zh_CN') != info.value.message('en_US')


# ---------------------------------------------------------------------------------------
# XK3190 command mode (tF=1)
# ---------------------------------------------------------------------------------------

def test_xk3190_command_frames_as_documented():
    # XK3190-A23p manual, address 1 (A): handshake, gross, tare, net.
    assert wb.xk3190_command('A', 'A') == bytes.fromhex('02 41 41 30 30 03')
    assert wb.xk3190_command('A', 'B') == bytes.fromhex('02 41 42 30 33 03')
    assert wb.xk3190_command('A', 'C') == bytes.fromhex('02 41 43 30 32 03')
    assert wb.xk3190_command('A', 'D') == bytes.fromhex('02 41 44 30 35 03')
    assert wb.xk3190_command('C', 'D') == bytes.fromhex('02 43 44 30 37 03')
    with pytest.raises(WeighbridgeError):
        wb.xk3190_command('1', 'B')
    with pytest.raises(WeighbridgeError):
        wb.xk3190_command('A', 'Z')


def test_xk3190_replies():
    handshake = wb.xk3190_reply('A', 'A')
    assert handshake == bytes.fromhex('02 41 41 30 30 03')
    gross = wb.xk3190_reply('A', 'B', '45.20')
    assert gross == b'\x02AB+004520' + b'2' + wb._xor_ascii(wb._xor(b'AB+0045202')) + b'\x03'
    assert len(gross) == 14
    parser = wb.XK3190ReplyParser()
    readings = parser.feed(handshake + gross + wb.xk3190_reply('A', 'C', '15.20')
                           + wb.xk3190_reply('A', 'D', '30.00'))
    assert parser.handshakes == 1 and parser.errors == 0
    assert [(r.command, r.weight, r.net, r.tare) for r in readings] == [
        ('B', D('45.20'), False, None), ('C', D('15.20'), None, D('15.20')),
        ('D', D('30.00'), True, None)]
    assert all(r.address == 'A' and r.protocol == wb.XK3190_COMMAND for r in readings)


@pytest.mark.parametrize('text', ['654321', '-65432.1', '6543.21', '-654.321', '65.4321'])
def test_xk3190_reply_decimals(text):
    [reading] = wb.XK3190ReplyParser().feed(wb.xk3190_reply('Z', 'B', text))
    assert str(reading.weight) == text and reading.address == 'Z'


def test_xk3190_reply_address_filter_and_other_commands():
    truck_number = b'\x02AE' + b'A12345'
    truck_number += wb._xor_ascii(wb._xor(truck_number[1:])) + b'\x03'
    parser = wb.XK3190ReplyParser(address='A')
    readings = parser.feed(wb.xk3190_reply('B', 'B', '1.00') + truck_number
                           + wb.xk3190_reply('A', 'B', '2.00'))
    assert weights(readings) == [D('2.00')]
    assert parser.ignored == 2 and parser.errors == 0


def test_xk3190_reply_errors_and_split():
    good = wb.xk3190_reply('A', 'B', '45.20')
    bad_xor = corrupt(good, 11, ord('0') if good[11] != 0x30 else ord('1'))
    stream = (GARBAGE + bad_xor + good + b'\x02a' + wb.xk3190_reply('A', 'D', '-0.20')
              + b'\x02AQ00\x03' + good[:9] + good)
    readings, parser = assert_split_invariant(wb.XK3190ReplyParser, stream)
    assert weights(readings) == [D('45.20'), D('-0.20'), D('45.20')]
    assert dict(parser.error_counts) == {'frame.bad_checksum': 1, 'frame.bad_command': 2,
                                         'frame.truncated': 1}


def test_xk3190_host_parser_reads_commands():
    stream = GARBAGE + wb.xk3190_command('A', 'B') + wb.xk3190_command('B', 'D')[:4] + \
        wb.xk3190_command('A', 'A')
    commands, parser = assert_split_invariant(wb.XK3190HostParser, stream)
    assert [(c.address, c.command) for c in commands] == [('A', 'B'), ('A', 'A')]
    assert parser.errors == 1


# ---------------------------------------------------------------------------------------
# Yaohua "=" stream
# ---------------------------------------------------------------------------------------

def test_yaohua_eq_documented_examples():
    assert wb.yaohua_eq_frame('3.000', reversed_digits=True) == b'=000.3000'
    assert wb.yaohua_eq_frame('-1.00', reversed_digits=True) == b'=00.1000-'
    assert wb.yaohua_eq_frame('3.000', reversed_digits=False) == b'=0003.000'
    assert wb.yaohua_eq_frame('-1.00', reversed_digits=False) == b'=-0001.00'
    assert weights(wb.YaohuaEqParser(True).feed(b'=000.3000=00.1000-')) == [D('3.000'),
                                                                            D('-1.00')]
    assert weights(wb.YaohuaEqParser(False).feed(b'=0003.000=-0001.00')) == [D('3.000'),
                                                                             D('-1.00')]


@pytest.mark.parametrize('reversed_digits', [True, False])
@pytest.mark.parametrize('text', ['1234567', '-123456', '12345.6', '-1234.5', '1234.56',
                                  '-123.45', '123.456', '-12.345', '12.3456', '-1.2345', '0'])
def test_yaohua_eq_decimals_signs_both_formats(reversed_digits, text):
    frame = wb.yaohua_eq_frame(text, reversed_digits)
    assert len(frame) == 9
    readings = wb.YaohuaEqParser(reversed_digits).feed(frame * 2)
    assert [str(w) for w in weights(readings)] == [text, text]
    assert readings[0].unit is None and readings[0].stable is None


def test_yaohua_eq_format_is_a_setting_not_a_guess():
    with pytest.raises(TypeError):
        wb.YaohuaEqParser()                     # pylint: disable=no-value-for-parameter
    with pytest.raises(WeighbridgeError):
        wb.YaohuaEqParser(None)
    # The same bytes mean different weights; a negative frame shows the wrong setting.
    assert weights(wb.YaohuaEqParser(False).feed(b'=000.3000')) == [D('0.3000')]
    assert weights(wb.YaohuaEqParser(True).feed(b'=0003.000')) == [D('0.3000')]
    parser = wb.YaohuaEqParser(False)
    assert parser.feed(b'=00.1000-') == [] and parser.error_counts['frame.bad_field'] == 1


def test_yaohua_eq_garbage_broken_frames_and_split():
    frame = wb.yaohua_eq_frame('25.340', True)
    stream = (GARBAGE + frame + b'=04.3' + frame + b'=00X.3000' + frame + b'=0.0.0000'
              + GARBAGE + wb.yaohua_eq_frame('-0.020', True) + b'=00')
    readings, parser = assert_split_invariant(lambda: wb.YaohuaEqParser(True), stream)
    assert weights(readings) == [D('25.340')] * 3 + [D('-0.020')]
    assert dict(parser.error_counts) == {'frame.truncated': 1, 'frame.bad_field': 2}
    # the garbage, and the 8 bytes after the '=' of each of the two malformed frames
    assert parser.skipped_bytes == 2 * len(GARBAGE) + 2 * 8


def test_yaohua_eq_builder_refuses_too_long():
    with pytest.raises(WeighbridgeError):
        wb.yaohua_eq_frame('1234.567', True)     # 7 digits and a point: 8 characters
    for bad in ('NaN', 'Infinity', None, True, ''):
        with pytest.raises(WeighbridgeError):
            wb.yaohua_eq_frame(bad, True)


# ---------------------------------------------------------------------------------------
# Mettler-Toledo standard continuous
# ---------------------------------------------------------------------------------------

def test_toledo_frame_layout_and_checksum():
    frame = wb.toledo_frame('30.00', tare='5.50', unit='t', net=True)
    # SWA 0x2C: bit 5, increment x1 (bit 3), decimal code 4 (XXXX.XX)
    # SWB 0x31: bit 5, net (bit 0), kg/metric (bit 4); SWC 0x22: bit 5, unit code 2 (t)
    assert frame[:17] == b'\x02\x2C\x31\x22' + b'003000' + b'000550' + b'\r'
    assert frame[17] == (128 - sum(frame[:17]) % 128) % 128
    assert sum(frame) % 128 == 0
    [reading] = wb.ToledoParser().feed(frame)
    assert reading == Reading(weight=D('30.00'), unit='t', stable=True, net=True,
                              overload=False, raw=frame, protocol=wb.TOLEDO, tare=D('5.50'),
                              address=None, command=None)


@pytest.mark.parametrize('decimals, text, digits', [
    (-2, '123400', b'001234'), (-1, '12340', b'001234'), (0, '1234', b'001234'),
    (1, '123.4', b'001234'), (2, '12.34', b'001234'), (3, '1.234', b'001234'),
    (4, '-0.1234', b'001234'), (5, '0.01234', b'001234')])
def test_toledo_decimal_positions(decimals, text, digits):
    frame = wb.toledo_frame(text, decimals=decimals)
    assert frame[1] & 0x07 == decimals + 2 and frame[4:10] == digits
    [reading] = wb.ToledoParser(checksum=True).feed(frame)
    assert reading.weight == D(text)
    assert (reading.weight < 0) == text.startswith('-')


def test_toledo_status_bits():
    parser = wb.ToledoParser()
    moving, over, negative, pounds, grams = parser.feed(
        wb.toledo_frame('18.20', motion=True) + wb.toledo_frame('99.99', out_of_range=True)
        + wb.toledo_frame('-0.40', net=True) + wb.toledo_frame('12', unit='lb')
        + wb.toledo_frame('500', unit='g'))
    assert moving.stable is False and not moving.overload and moving.unit == 'kg'
    assert over.overload and over.stable is True
    assert negative.weight == D('-0.40') and negative.net is True
    assert negative.raw[2] & 0x02
    assert (pounds.unit, grams.unit) == ('lb', 'g')
    assert parser.errors == 0


def test_toledo_parity_bit_ignored_and_blank_leading_digits():
    frame = bytearray(wb.toledo_frame('42', checksum=False))
    frame[2] |= 0x80                          # 7E1 read as 8N1: parity in bit 7
    frame[4:10] = b'    42'
    [reading] = wb.ToledoParser(checksum=False).feed(bytes(frame))
    assert reading.weight == 42 and reading.unit == 'kg'


def test_toledo_checksum_settings():
    with_chk = wb.toledo_frame('12.50') + wb.toledo_frame('12.60')
    without = wb.toledo_frame('12.50', checksum=False) + wb.toledo_frame('12.60',
                                                                         checksum=False)
    assert weights(wb.ToledoParser(checksum=None).feed(with_chk)) == [D('12.50'), D('12.60')]
    auto = wb.ToledoParser(checksum=None)
    # auto: the last frame without CHK waits for the next byte (a CHK or the next STX)
    assert weights(auto.feed(without)) == [D('12.50')]
    assert weights(auto.feed(b'\x02')) == [D('12.60')] and auto.errors == 0
    assert weights(wb.ToledoParser(checksum=False).feed(without)) == [D('12.50'), D('12.60')]
    bad = corrupt(wb.toledo_frame('12.50'), 17, 0x41)
    assert bad[17] != wb.toledo_frame('12.50')[17]
    auto = wb.ToledoParser(checksum=None)          # a wrong CHK is not "no CHK"
    assert weights(auto.feed(bad + wb.toledo_frame('12.60'))) == [D('12.60')]
    assert auto.error_counts == {'frame.bad_checksum': 1}
    strict = wb.ToledoParser(checksum=True)
    assert weights(strict.feed(without + b'\x02')) == []
    assert strict.error_counts['frame.bad_checksum'] == 2
    with pytest.raises(WeighbridgeError):
        wb.ToledoParser(checksum='yes')


def test_toledo_bad_checksum_garbage_truncation_and_split():
    good = wb.toledo_frame('45.20', tare='15.20', net=True)
    bad = corrupt(good, 17, (good[17] + 1) & 0x7F)
    assert bad[17] != 0x02
    digit = corrupt(good, 7, ord('9'))           # a digit changed: CHK no longer matches
    stream = (GARBAGE + bad + good + digit + good[:12] + good + b'\x02,0 00' + GARBAGE
              + wb.toledo_frame('-3.5', checksum=True) + good)
    readings, parser = assert_split_invariant(lambda: wb.ToledoParser(checksum=True), stream)
    assert weights(readings) == [D('45.20'), D('45.20'), D('-3.5'), D('45.20')]
    assert dict(parser.error_counts) == {'frame.bad_checksum': 2, 'frame.truncated': 1,
                                         'frame.bad_end': 1}


# ---------------------------------------------------------------------------------------
# Software stability
# ---------------------------------------------------------------------------------------

def r(weight, unit='t', stable=None, overload=False):
    return Reading(D(weight), unit, stable, None, overload, b'', wb.XK3190, None, None, None)


def reports(detector, values):
    """(index, weight) of each reported stable weight."""
    out = []
    for index, value in enumerate(values):
        reading = value if isinstance(value, Reading) else r(value)
        stable = detector.feed(reading)
        if stable is not None:
            assert stable.stable is True
            out.append((index, str(stable.weight)))
    return out


def test_stable_after_n_equal_readings_reported_once():
    detector = StabilityDetector(n=5, min_weight='0.5')
    assert reports(detector, ['0.00'] * 3 + ['12.40', '30.10'] + ['30.20'] * 12) == \
        [(9, '30.20')]
    assert detector.stable and detector.last_reported.weight == D('30.20')


def test_weight_on_the_scale_before_start_is_reported():
    # Known bug elsewhere: a weight already on the scale when the screen opened was
    # never read (they waited for a rise from zero).
    detector = StabilityDetector(n=5, min_weight='0.5')
    assert reports(detector, ['41.35'] * 5) == [(4, '41.35')]
    detector = StabilityDetector(n=3, min_weight='0.5')
    assert reports(detector, [r('41.35', stable=False)] * 4 + [r('41.35', stable=True)] * 3) == \
        [(6, '41.35')]


def test_same_weight_twice_after_the_scale_emptied_is_reported_twice():
    # Known bug elsewhere: a second vehicle of the same weight was dropped unless the
    # scale read exactly zero in between. n readings below min_weight empty the scale.
    detector = StabilityDetector(n=3, min_weight='0.5')
    values = (['30.00'] * 4 + ['12.00', '0.04', r('0.02', stable=False), '0.03']
              + ['30.00'] * 4 + ['0.00'] * 3 + ['30.00'] * 3)
    assert reports(detector, values) == [(2, '30.00'), (10, '30.00'), (17, '30.00')]


def test_one_stray_reading_near_zero_does_not_count_the_vehicle_twice():
    # The "=" stream has no checksum: a damaged frame can read 0 under a loaded scale.
    detector = StabilityDetector(n=3, min_weight='0.5')
    values = ['30.00'] * 4 + ['0.00', '0.00'] + ['30.00'] * 4 + ['0.00'] + ['30.00'] * 3
    assert reports(detector, values) == [(2, '30.00')]
    assert detector.empty_count == 0


def test_no_second_report_while_the_vehicle_stays():
    detector = StabilityDetector(n=3, tolerance='0.02', min_weight='0.5')
    values = (['30.00'] * 4 + [r('30.00', stable=False)] + ['29.60', '30.40'] + ['30.02'] * 5
              + ['29.99'] * 5)
    assert reports(detector, values) == [(2, '30.00')]


def test_changed_weight_reported_once_it_settles():
    detector = StabilityDetector(n=3, tolerance='0.02', min_weight='0.5')
    values = ['30.00'] * 3 + ['25.00', '25.10'] + ['28.50'] * 3 + ['28.51'] * 3
    assert reports(detector, values) == [(2, '30.00'), (7, '28.50')]


def test_tolerance_bounds_a_run():
    values = ['10.00', '10.02', '9.98', '10.03', '10.03', '10.03']
    assert reports(StabilityDetector(n=4, tolerance='0.02', min_weight=1), values) == []
    # 10.03 is beyond tolerance of the run's first reading (10.00): a new run, and a new
    # weight once it settles, since it is also beyond tolerance of the 9.98 reported
    assert reports(StabilityDetector(n=3, tolerance='0.02', min_weight=1), values) == \
        [(2, '9.98'), (5, '10.03')]
    assert reports(StabilityDetector(n=3, tolerance='0.05', min_weight=1), values) == \
        [(2, '9.98')]
    assert reports(StabilityDetector(n=3, tolerance=0, min_weight=1), values) == \
        [(5, '10.03')]


def test_motion_flag_restarts_the_count():
    detector = StabilityDetector(n=4, min_weight=1)
    values = [r('20.0', stable=True)] * 3 + [r('20.0', stable=False)] + \
        [r('20.0', stable=True)] * 4
    assert reports(detector, values) == [(7, '20.0')]


def test_overload_empty_and_negative_never_reported():
    detector = StabilityDetector(n=3, min_weight='0.5')
    assert reports(detector, [r('99.99', overload=True)] * 6) == []
    assert reports(detector, ['0.00'] * 6 + ['0.40'] * 6 + ['-3.00'] * 6) == []
    assert reports(StabilityDetector(n=2), ['0'] * 4 + ['0.01'] * 2) == [(5, '0.01')]


def test_overload_restarts_the_count():
    detector = StabilityDetector(n=3, min_weight=1)
    values = ['55.0', '55.0', r('55.0', overload=True), '55.0', '55.0', '55.0']
    assert reports(detector, values) == [(5, '55.0')]


def test_units_do_not_mix():
    detector = StabilityDetector(n=3, min_weight=1)
    values = [r('30', unit='kg'), r('30', unit='t'), r('30', unit='kg'), r('30', unit='kg'),
              r('30', unit='kg')]
    assert reports(detector, values) == [(4, '30')]


# ---------------------------------------------------------------------------------------
# Weight events
# ---------------------------------------------------------------------------------------

WHEN = datetime.datetime(2026, 1, 5, 8, 10, 0, tzinfo=CST)


def accepted(event):
    json.dumps(event)
    EVENT_VALIDATOR.validate(event)
    parsed = events.parse_event(event)
    return parsed, events.parse_weight(event)


def stable_reading(frame, parser):
    detector = StabilityDetector(n=3, min_weight='0.5')
    out = [detector.feed(reading) for reading in parser.feed(frame * 3)]
    assert out[:2] == [None, None] and out[2] is not None
    return out[2]


def test_weight_event_from_toledo_in_kg():
    reading = stable_reading(wb.toledo_frame('45200', tare='15200', decimals=0, net=False),
                             wb.ToledoParser())
    event = wb.to_weight_event('T-IN', reading, WHEN, plate='冀B12345')
    parsed, tonnes = accepted(event)
    assert tonnes == 45.2
    assert event['weight'] == 45200 and isinstance(event['weight'], int)
    assert event['unit'] == 'kg' and event['type'] == 'weight' and event['plate'] == '冀B12345'
    assert event['time'] == '2026-01-05T08:10:00+08:00'
    assert parsed.time_utc == datetime.datetime(2026, 1, 5, 0, 10)
    assert event['extra']['weight_text'] == '45200' and event['extra']['tare_text'] == '15200'
    assert event['extra']['net'] is False and event['extra']['stable'] is True
    assert bytes.fromhex(event['extra']['raw']) == reading.raw


def test_weight_event_unit_from_site_setting():
    reading = stable_reading(wb.xk3190_frame('30.25'), wb.XK3190Parser())
    with pytest.raises(WeighbridgeError) as info:
        wb.to_weight_event('T-IN', reading, WHEN)
    assert info.value.code == 'event.bad_unit'
    event = wb.to_weight_event('T-IN', reading, WHEN, unit='t')
    assert event['weight'] == 30.25 and event['unit'] == 't'
    assert accepted(event)[1] == 30.25
    toledo_t = stable_reading(wb.toledo_frame('30.25', unit='t'), wb.ToledoParser())
    assert wb.to_weight_event('T-IN', toledo_t, WHEN, unit='kg')['unit'] == 't'


def test_weight_event_id_is_deterministic():
    reading = r('30.25')
    first = wb.to_weight_event('T-IN', reading, WHEN)
    assert wb.to_weight_event('T-IN', reading, WHEN)['event_id'] == first['event_id']
    same_instant_utc = WHEN.astimezone(datetime.timezone.utc)
    assert wb.to_weight_event('T-IN', reading, same_instant_utc)['event_id'] == \
        first['event_id']
    naive_utc = same_instant_utc.replace(tzinfo=None)
    assert wb.to_weight_event('T-IN', reading, naive_utc)['time'] == '2026-01-05T00:10:00+00:00'
    assert wb.to_weight_event('T-IN', r('30.250'), WHEN)['event_id'] == first['event_id']
    others = {wb.to_weight_event('T-OUT', reading, WHEN)['event_id'],
              wb.to_weight_event('T-IN', r('30.26'), WHEN)['event_id'],
              wb.to_weight_event('T-IN', reading, WHEN + datetime.timedelta(seconds=1))[
                  'event_id'],
              wb.to_weight_event('T-IN', r('30.25', unit='kg'), WHEN)['event_id']}
    assert first['event_id'] not in others and len(others) == 4
    assert len(first['event_id']) == 40
    assert wb.to_weight_event('T-IN', reading, WHEN, event_id='wt-1')['event_id'] == 'wt-1'


@pytest.mark.parametrize('reading, code', [
    (r('-0.20'), 'event.bad_weight'),
    (r('99.99', overload=True), 'event.overload'),
    (r('12', unit='lb'), 'event.bad_unit'),
])
def test_weight_event_refuses(reading, code):
    with pytest.raises(WeighbridgeError) as info:
        wb.to_weight_event('T-IN', reading, WHEN)
    assert info.value.code == code


# ---------------------------------------------------------------------------------------
# Through real pseudo-terminals
# ---------------------------------------------------------------------------------------


class Collector(object):
    def __init__(self):
        self.items = []
        self.lock = threading.Lock()

    def __call__(self, reading, when):
        with self.lock:
            self.items.append((reading, when))

    def weights(self):
        with self.lock:
            return [str(reading.weight) for reading, _when in self.items]


@contextlib.contextmanager
def running(*threads):
    for thread in threads:
        thread.start()
    try:
        yield threads
    finally:
        for thread in reversed(threads):
            thread.stop()
        for thread in threads:
            assert not thread.is_alive()


def test_pty_xk3190_continuous_two_trucks_of_the_same_weight():
    stable = Collector()
    with pty_pair() as (master, path):
        sim = weighbridge_sim.IndicatorSimulator(master, wb.XK3190, weight='30.00',
                                                 interval=0.01)
        scale = wb.SerialScale(path, wb.XK3190Parser(), callback=stable, unit='t',
                               detector=StabilityDetector(n=4, min_weight='0.5'))
        with running(sim, scale):
            assert wait_until(lambda: stable.weights() == ['30.00'])
            sim.inject(GARBAGE)
            sim.corrupt_next(2)
            sim.set_weight('0.00')
            # the truck drives off: n readings near zero empty the scale
            assert wait_until(lambda: scale.detector.last_reported is None)
            assert scale.status()['last_reading'] == '0.00'
            sim.set_weight('30.00')
            assert wait_until(lambda: stable.weights() == ['30.00', '30.00'])
            status = scale.status()
    reading, when = stable.items[0]
    assert reading.unit == 't' and reading.stable is True and reading.protocol == wb.XK3190
    assert when.tzinfo is not None
    assert status['status'] == 'connected' and status['receiving']
    assert status['error_counts'].get('frame.bad_checksum') == 2
    assert status['stable_count'] == 2 and status['frames'] >= 8
    event = wb.to_weight_event('T-IN', reading, when)
    assert accepted(event)[1] == 30.0


def test_pty_toledo_waits_for_motion_to_stop():
    stable = Collector()
    with pty_pair() as (master, path):
        sim = weighbridge_sim.IndicatorSimulator(master, wb.TOLEDO, weight='18.40', unit='t',
                                                 interval=0.01)
        sim.set_weight('18.40', motion=True)
        scale = wb.SerialScale(path, wb.ToledoParser(checksum=True), callback=stable,
                               detector=StabilityDetector(n=3, min_weight='0.5'))
        with running(sim, scale):
            assert wait_until(lambda: scale.status()['frames'] >= 10)
            assert stable.weights() == []
            sim.set_weight('18.40')
            assert wait_until(lambda: stable.weights() == ['18.40'])
    assert stable.items[0][0].unit == 't'


@pytest.mark.parametrize('reversed_digits', [True, False])
def test_pty_yaohua_eq_stream(reversed_digits):
    stable = Collector()
    with pty_pair() as (master, path):
        sim = weighbridge_sim.IndicatorSimulator(master, wb.YAOHUA_EQ, weight='-0.020',
                                                 interval=0.01, reversed_digits=reversed_digits)
        scale = wb.SerialScale(path, wb.YaohuaEqParser(reversed_digits), callback=stable,
                               unit='t', detector=StabilityDetector(n=3, min_weight='0.5'))
        with running(sim, scale):
            assert wait_until(lambda: scale.status()['last_reading'] == '-0.020')
            sim.set_weight('25.340')
            assert wait_until(lambda: stable.weights() == ['25.340'])


def test_pty_xk3190_command_mode_polls_and_reads_replies():
    stable = Collector()
    shown = Collector()
    with pty_pair() as (master, path):
        sim = weighbridge_sim.IndicatorSimulator(master, wb.XK3190_COMMAND, weight='45.20',
                                                 tare='15.20', address='B')
        poll = wb.xk3190_command('B', 'D')
        scale = wb.SerialScale(path, wb.XK3190ReplyParser(address='B'), callback=stable,
                               on_reading=shown, unit='t', poll=poll, poll_interval=0.02,
                               detector=StabilityDetector(n=3, min_weight='0.5'))
        with running(sim, scale):
            assert wait_until(lambda: stable.weights() == ['30.00'])
            status = scale.status()
    assert sim.commands and all(c.raw == poll for c in sim.commands)
    reading = stable.items[0][0]
    assert (reading.command, reading.net, reading.address) == ('D', True, 'B')
    assert status['status'] == 'connected' and status['errors'] == 0
    assert set(shown.weights()) == {'30.00'}


def test_pty_command_mode_silent_indicator_is_not_receiving():
    with pty_pair() as (master, path):
        sim = weighbridge_sim.IndicatorSimulator(master, wb.XK3190_COMMAND, weight='1.00',
                                                 address='A')
        scale = wb.SerialScale(path, wb.XK3190ReplyParser(), poll=wb.xk3190_command('C', 'B'),
                               poll_interval=0.02, stale_after=0.2)
        with running(sim, scale):
            assert wait_until(lambda: len(sim.commands) >= 3)
            status = scale.status()
    assert status['status'] == 'connected' and not status['receiving']
    assert status['frames'] == 0 and status['last_reading'] is None


def test_pty_reconnects_after_the_line_is_lost():
    stable = Collector()
    directory = tempfile.mkdtemp()
    link = os.path.join(directory, 'ttyScale')
    scale = None
    with pty_pair() as (master, path):
        os.symlink(path, link)
        sim = weighbridge_sim.IndicatorSimulator(master, wb.XK3190, weight='10.00',
                                                 interval=0.01)
        scale = wb.SerialScale(link, wb.XK3190Parser(), callback=stable, unit='t',
                               backoff=(0.05, 0.1),
                               detector=StabilityDetector(n=3, min_weight='0.5'))
        sim.start()
        scale.start()
        try:
            assert wait_until(lambda: stable.weights() == ['10.00'])
            sim.stop()
        except BaseException:
            scale.stop()
            raise
    try:                        # both ends closed: the reader's line is gone
        assert wait_until(lambda: scale.status()['status'] == 'disconnected')
        assert scale.is_alive()
        with pty_pair() as (master, path):
            os.unlink(link)
            os.symlink(path, link)
            sim = weighbridge_sim.IndicatorSimulator(master, wb.XK3190, weight='20.00',
                                                     interval=0.01)
            with running(sim):
                assert wait_until(lambda: stable.weights() == ['10.00', '20.00'])
                status = scale.status()
    finally:
        scale.stop()
        os.unlink(link)
        os.rmdir(directory)
    assert not scale.is_alive()
    assert status['status'] == 'connected' and status['reconnects'] >= 1
    assert scale.status()['status'] == 'stopped'


def test_missing_port_retries_and_stops_quickly():
    path = os.path.join(tempfile.gettempdir(), 'no-such-scale-%d' % os.getpid())
    scale = wb.SerialScale(path, wb.XK3190Parser(), backoff=(0.02, 0.05))
    scale.start()
    try:
        assert wait_until(lambda: scale.status()['reconnects'] >= 3)
        status = scale.status()
        assert status['status'] == 'disconnected' and path in status['message']
    finally:
        started = time.monotonic()
        scale.stop()
    # stop() interrupts the back-off sleep rather than waiting it out (generous for a busy CI)
    assert not scale.is_alive() and time.monotonic() - started < 5


def test_callback_failure_does_not_stop_the_reader():
    calls = []

    def broken(reading, when):
        calls.append(reading.weight)
        raise RuntimeError('consumer bug')

    with pty_pair() as (master, path):
        sim = weighbridge_sim.IndicatorSimulator(master, wb.XK3190, weight='5.00',
                                                 interval=0.01)
        scale = wb.SerialScale(path, wb.XK3190Parser(), callback=broken,
                               detector=StabilityDetector(n=2, min_weight='0.5'))
        with running(sim, scale):
            assert wait_until(lambda: calls == [D('5.00')])
            sim.set_weight('6.00')
            assert wait_until(lambda: calls == [D('5.00'), D('6.00')])
            assert scale.is_alive()


def test_make_parser():
    assert isinstance(wb.make_parser(wb.TOLEDO, checksum=False), wb.ToledoParser)
    assert wb.make_parser(wb.YAOHUA_EQ, reversed_digits=False).reversed_digits is False
    with pytest.raises(WeighbridgeError) as info:
        wb.make_parser('xk3190-a9')
    assert info.value.code == 'config.bad_protocol'
