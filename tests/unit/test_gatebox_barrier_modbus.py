"""gatebox.barrier.ModbusBarrier against the relay board simulator over real loopback TCP.

Open (a pulse), keep open, close, status reads; a dropped connection, a slow answer,
garbage, an exception answer, a stale answer, a wrong unit id; a pulse whose off-write
failed; polling that notices a board that went away.
"""
import os
import socket
import sys

import pytest

from gatebox import barrier, config

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'simulators'))
import modbus_sim  # noqa: E402
from support import wait_until  # noqa: E402


def barrier_config(port, **values):
    lane = {'token': 't', 'barrier': 'modbus_tcp', 'barrier_host': '127.0.0.1',
            'barrier_tcp_port': str(port), 'barrier_coil': '2', 'barrier_pulse_ms': '50',
            'barrier_poll': '0', 'barrier_timeout': '0.5', 'barrier_expire': '5'}
    lane.update(values)
    return config.parse_sections({
        'env_gate_hw': {'erp_url': 'http://127.0.0.1:1', 'data_dir': '/tmp/unused'},
        'env_gate_hw lane M-IN': lane}).lanes['M-IN'].barrier


@pytest.fixture
def board():
    sim = modbus_sim.RelayBoard(unit=1, coils=8).start()
    yield sim
    sim.stop()


@pytest.fixture
def make_driver():
    drivers = []

    def make(port, **values):
        driver = barrier.make('M-IN', barrier_config(port, **values))
        driver.retry_delay = 0.05
        drivers.append(driver)
        driver.start()
        return driver
    yield make
    for driver in drivers:
        driver.stop(timeout=3)


def writes(board):
    return [(address, on) for _, address, on in board.writes]


def test_open_pulses_the_open_coil(board, make_driver):
    driver = make_driver(board.port)
    assert isinstance(driver, barrier.ModbusBarrier)
    assert wait_until(lambda: driver.status()['relay'] == 'off')    # read at start
    assert driver.open('auto: pass') == {'state': 'queued', 'driver': 'modbus_tcp'}
    assert wait_until(lambda: driver.status()['opens'] == 1 and driver.status()['relay'] == 'off')
    assert writes(board) == [(2, True), (2, False)]
    (on_at, _, _), (off_at, _, _) = board.writes
    assert off_at - on_at >= 0.045      # the coil stayed on for the pulse
    status = driver.status()
    assert status['opens'] == 1 and status['last_reason'] == 'auto: pass'
    assert status['status'] == 'connected' and status['failures'] == 0
    assert status['relay'] == 'off' and not status['held_open']
    assert board.connections == 1 and status['connects'] == 1


def test_open_queues_without_waiting_for_the_board(board, make_driver):
    """The camera's request thread only queues: a board that answers late holds nobody."""
    driver = make_driver(board.port, barrier_timeout='2')
    assert wait_until(lambda: driver.status()['relay'] == 'off')
    board.fault('slow', 0.5)
    assert driver.open('auto')['state'] == 'queued'
    assert board.writes == []       # returned before the board was written
    assert wait_until(lambda: writes(board) == [(2, True), (2, False)])


def test_keep_open_status_read_and_close(board, make_driver):
    driver = make_driver(board.port)
    driver.keep_open('wide load', 'guard1')
    assert wait_until(lambda: driver.status()['held_open'])
    assert board.coil(2) is True and writes(board) == [(2, True)]
    status = driver.status()
    assert status['relay'] == 'on' and status['opens'] == 1
    board.coils[2] = False      # the board's own button released it
    driver.read_status()
    assert wait_until(lambda: driver.status()['relay'] == 'off')
    assert not driver.status()['held_open']
    board.coils[2] = True
    driver.read_status()
    assert wait_until(lambda: driver.status()['held_open'])
    driver.close('wide load through', 'guard1')
    assert wait_until(lambda: driver.status()['closes'] == 1)
    assert board.coil(2) is False and not driver.status()['held_open']


def test_an_open_while_held_open_does_not_end_the_hold(board, make_driver):
    driver = make_driver(board.port)
    driver.keep_open('convoy')
    driver.open('auto: pass')
    assert wait_until(lambda: driver.status()['opens'] == 2)
    driver.read_status()
    assert wait_until(lambda: driver.status()['relay'] == 'on')
    assert writes(board) == [(2, True)] and board.coil(2) is True
    assert driver.status()['held_open'] and driver.status()['last_reason'] == 'auto: pass'


def test_close_pulses_the_close_coil(board, make_driver):
    driver = make_driver(board.port, barrier_close_coil='3')
    driver.keep_open('convoy')
    driver.close('convoy through')
    assert wait_until(lambda: driver.status()['closes'] == 1)
    assert writes(board) == [(2, True), (2, False), (3, True), (3, False)]
    assert driver.status()['close_relay'] == 'off'


def test_board_dropping_the_connection_reconnects(board, make_driver):
    driver = make_driver(board.port)
    driver.open('first')
    assert wait_until(lambda: driver.status()['opens'] == 1 and len(board.writes) == 2)
    board.disconnect()      # the board rebooted between two vehicles
    driver.open('second')
    assert wait_until(lambda: driver.status()['opens'] == 2 and
                      driver.status()['relay'] == 'off' and
                      driver.status()['status'] == 'connected')
    # the write the dead connection swallowed may have switched the coil: off first
    assert writes(board)[2:] in ([(2, True), (2, False)],
                                 [(2, False), (2, True), (2, False)])
    assert board.connections == 2 and driver.status()['connects'] == 2


def test_request_dropped_unanswered_is_a_lost_connection(board, make_driver):
    driver = make_driver(board.port)
    assert wait_until(lambda: driver.status()['relay'] == 'off')
    board.fault('drop')
    driver.open('auto')
    assert wait_until(lambda: driver.status()['opens'] == 1 and
                      driver.status()['status'] == 'connected')
    status = driver.status()
    assert status['failures'] == 1 and 'ConnectionError' in status['last_error']
    assert board.connections == 2 and status['connects'] == 2
    # the dropped on-write: released first, then the pulse on the new connection
    assert writes(board) == [(2, False), (2, True), (2, False)]


def test_slow_answer_times_out_and_the_retry_uses_a_new_connection(board, make_driver):
    driver = make_driver(board.port, barrier_timeout='0.2')
    assert wait_until(lambda: driver.status()['relay'] == 'off')
    board.fault('slow', 0.6)
    driver.read_status()
    assert wait_until(lambda: driver.status()['failures'] == 1)
    assert 'timeout' in driver.status()['last_error']
    assert wait_until(lambda: board.connections == 2 and driver.status()['status'] == 'connected')


def test_exception_answer_is_reported_and_the_connection_kept(board, make_driver):
    driver = make_driver(board.port, barrier_expire='0.3')
    assert wait_until(lambda: driver.status()['relay'] == 'off')
    board.fault('exception', 4, count=1000)
    driver.open('auto')
    assert wait_until(lambda: driver.status()['dropped'] == 1)
    status = driver.status()
    assert status['status'] == 'error' and status['opens'] == 0
    assert 'SERVER DEVICE FAILURE' in status['last_error']
    assert 'last open failed' in status['messages'][0]
    assert writes(board) == []      # the board refused every write
    board._faults.clear()
    driver.open('auto, board well again')
    assert wait_until(lambda: driver.status()['opens'] == 1 and
                      driver.status()['status'] == 'connected')
    assert writes(board) == [(2, False), (2, True), (2, False)]
    assert board.connections == 1


def test_one_exception_is_retried_on_the_same_connection(board, make_driver):
    driver = make_driver(board.port)
    assert wait_until(lambda: driver.status()['relay'] == 'off')
    board.fault('exception', 6)         # server device busy
    driver.open('auto')
    assert wait_until(lambda: driver.status()['opens'] == 1 and
                      driver.status()['status'] == 'connected')
    assert driver.status()['failures'] == 1 and board.connections == 1
    assert 'SERVER DEVICE BUSY' in driver.status()['last_error']


@pytest.mark.parametrize('fault,args', [
    ('garbage', (b'HTTP/1.1 400 Bad Request\r\n\r\n',)),
    ('wrong_unit', ()),
])
def test_bad_frames_are_reported_and_the_connection_kept(board, make_driver, fault, args):
    driver = make_driver(board.port)
    assert wait_until(lambda: driver.status()['relay'] == 'off')
    board.fault(fault, *args)
    driver.open('auto')
    assert wait_until(lambda: driver.status()['opens'] == 1 and
                      driver.status()['status'] == 'connected')
    status = driver.status()
    assert status['failures'] == 1 and 'ModbusFrameError' in status['last_error']
    assert board.connections == 1 and status['status'] == 'connected'


@pytest.mark.parametrize('fault', ['split', 'stale'])
def test_split_and_merged_answers_over_tcp(board, make_driver, fault):
    driver = make_driver(board.port)
    assert wait_until(lambda: driver.status()['relay'] == 'off')
    board.fault(fault, count=2)
    driver.open('auto')
    assert wait_until(lambda: driver.status()['opens'] == 1 and len(board.writes) == 2)
    assert wait_until(lambda: driver.status()['relay'] == 'off')
    assert driver.status()['failures'] == 0
    assert driver._session.stale == (2 if fault == 'stale' else 0)


def test_a_failed_off_write_ends_the_pulse_without_a_second_lift(board, make_driver):
    driver = make_driver(board.port)
    assert wait_until(lambda: driver.status()['relay'] == 'off')
    board.fault('ok')               # the on-write
    board.fault('drop')             # the off-write: the coil stays on
    driver.open('auto')
    assert wait_until(lambda: driver.status()['failures'] == 1 and board.coil(2) is False)
    assert writes(board) == [(2, True), (2, False)]     # one lift, then released
    assert wait_until(lambda: driver.status()['status'] == 'connected')
    assert driver.status()['opens'] == 1


def test_polling_notices_a_board_that_went_away(make_driver):
    sim = modbus_sim.RelayBoard().start()
    driver = make_driver(sim.port, barrier_poll='0.05', barrier_timeout='0.3')
    try:
        assert wait_until(lambda: sim.connections == 1 and driver.status()['relay'] == 'off')
        sim.disconnect()
        assert wait_until(lambda: sim.connections == 2)       # reconnected by itself
        assert wait_until(lambda: driver.status()['status'] == 'connected')
    finally:
        sim.stop()
    assert wait_until(lambda: driver.status()['status'] == 'disconnected')
    assert driver.status()['messages'][0].startswith('last status failed')


def test_board_not_there(make_driver):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    driver = make_driver(port, barrier_expire='0.2')
    assert wait_until(lambda: driver.status()['status'] == 'disconnected')
    assert 'relay board 127.0.0.1:%d' % port in driver.status()['messages'][0]
    driver.open('auto')
    assert wait_until(lambda: driver.status()['dropped'] == 1)
    assert driver.status()['opens'] == 0 and driver.status()['status'] == 'disconnected'


def test_unit_id_is_sent_and_other_units_are_not_answered(make_driver):
    sim = modbus_sim.RelayBoard(unit=17).start()
    try:
        driver = make_driver(sim.port, barrier_unit='17')
        driver.open('auto')
        assert wait_until(lambda: driver.status()['opens'] == 1)
        other = make_driver(sim.port, barrier_unit='1', barrier_timeout='0.2',
                            barrier_expire='0.1')
        assert wait_until(lambda: 'timeout' in (other.status()['last_error'] or ''))
        assert other.status()['status'] == 'disconnected'
    finally:
        sim.stop()
