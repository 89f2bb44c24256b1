#!/usr/bin/env python3
"""Modbus-TCP relay board simulator: a real TCP server on loopback that keeps coil state.

`RelayBoard` answers 0x01 Read Coils and 0x05 Write Single Coil for its `unit` (frames
built and cut by gatebox.modbus, whose byte layout the unit tests check against the
specification's examples); any other function gets exception 1, an address past its
coils exception 2, a bad coil value exception 3. Requests for another unit id are not
answered (as a gateway with no such device), unless `any_unit` is set.

Faults for the next requests, each used up by one request (`fault(kind, ..., count=n)`):
* 'ok': answer normally (to aim a later fault at a given request)
* 'exception', code: answer with that exception code instead
* 'slow', seconds: answer late (the client's timeout runs out first)
* 'drop': close the connection without answering (a board reboot, a cable pulled)
* 'garbage', data: send `data` instead of an answer
* 'split': send the answer one byte at a time (partial TCP reads)
* 'stale': send a copy of the previous answer (an old transaction id) in the same write
  as the answer (two frames in one read)
* 'wrong_unit': answer with another unit id
`disconnect()` closes every open connection now. `writes` logs (monotonic time, address,
on) of every coil write, `requests` every (function, address, value) received.

As a script (a lab bench, or the box pointed at it):
  modbus_sim.py --port 5020 --unit 1 --coils 8
"""
import argparse
import collections
import os
import socket
import socketserver
import sys
import threading
import time

_ADDONS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                        'addons'))
for _addon in ('env_gate_hw', 'env_gate_ledger'):     # gatebox imports hj1321's errors
    if os.path.join(_ADDONS, _addon) not in sys.path:
        sys.path.insert(0, os.path.join(_ADDONS, _addon))

from gatebox import modbus  # noqa: E402

FAULTS = ('ok', 'exception', 'slow', 'drop', 'garbage', 'split', 'stale', 'wrong_unit')


class _Handler(socketserver.BaseRequestHandler):

    def handle(self):
        board = self.server.board
        board._opened(self.request)
        splitter = modbus.FrameSplitter()
        try:
            while True:
                data = self.request.recv(1024)
                if not data:
                    return
                for item in splitter.feed(data):
                    if isinstance(item, modbus.ModbusError):
                        board.garbage_received += 1     # a real board drops such bytes
                        continue
                    if not board._answer(self.request, item):
                        return
        except OSError:
            return
        finally:
            board._closed(self.request)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class RelayBoard(object):
    """A relay board with `coils` coils (all off) on 127.0.0.1:`port` (0: any free one)."""

    def __init__(self, port=0, unit=1, coils=8, any_unit=False, host='127.0.0.1'):
        self.unit = unit
        self.any_unit = any_unit
        self.coils = [False] * coils
        self.writes = []
        self.requests = []
        self.connections = 0
        self.garbage_received = 0
        self._faults = collections.deque()
        self._open = set()
        self._lock = threading.Lock()
        self._last = None
        self._server = _Server((host, port), _Handler, bind_and_activate=True)
        self._server.board = self
        self.host, self.port = self._server.server_address[:2]
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name='modbus relay board %s' % self.port)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self.disconnect()

    def fault(self, kind, *args, count=1):
        """Apply fault `kind` (see the module docstring) to the next `count` requests."""
        if kind not in FAULTS:
            raise ValueError('unknown fault %r (known: %s)' % (kind, ', '.join(FAULTS)))
        with self._lock:
            self._faults.extend([(kind,) + args] * count)

    def disconnect(self):
        """Close every open connection now (the client finds out on its next request)."""
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def coil(self, address):
        with self._lock:
            return self.coils[address]

    # -- the connection threads' side ---------------------------------------------------

    def _opened(self, sock):
        with self._lock:
            self._open.add(sock)
            self.connections += 1

    def _closed(self, sock):
        with self._lock:
            self._open.discard(sock)

    def _answer(self, sock, frame):
        """Answer one request frame; False when the connection is to be closed."""
        if frame.unit != self.unit and not self.any_unit:
            return True
        with self._lock:
            fault = self._faults.popleft() if self._faults else (None,)
        kind = fault[0]
        if kind == 'drop':
            return False
        if kind == 'slow':
            time.sleep(fault[1])
        if kind == 'garbage':
            sock.sendall(fault[1])
            return True
        pdu = self._execute(frame.pdu, fault[1] if kind == 'exception' else None)
        unit = (frame.unit + 1) & 0xFF if kind == 'wrong_unit' else frame.unit
        data = modbus.adu(frame.transaction, unit, pdu)
        if kind == 'stale' and self._last is not None:
            sock.sendall(self._last + data)
        elif kind == 'split':
            for byte in data:
                sock.sendall(bytes([byte]))
                time.sleep(0.002)
        else:
            sock.sendall(data)
        self._last = data
        return True

    def _execute(self, pdu, exception=None):
        function = pdu[0] if pdu else 0
        if exception is not None:
            return modbus.exception_reply(function, exception)
        try:
            function, address, value = modbus.parse_request(pdu)
        except modbus.ModbusFrameError as exc:
            code = 3 if exc.code == 'modbus.bad_value' else 1
            return modbus.exception_reply(function, code)
        with self._lock:
            self.requests.append((function, address, value))
            if function == modbus.WRITE_SINGLE_COIL:
                if address >= len(self.coils):
                    return modbus.exception_reply(function, 2)
                self.coils[address] = value
                self.writes.append((time.monotonic(), address, value))
                return pdu
            if address + value > len(self.coils):
                return modbus.exception_reply(function, 2)
            return modbus.read_coils_reply(self.coils[address:address + value])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--port', type=int, default=5020)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--unit', type=int, default=1)
    parser.add_argument('--coils', type=int, default=8)
    args = parser.parse_args(argv)
    board = RelayBoard(args.port, args.unit, args.coils, host=args.host).start()
    print('relay board on %s:%s unit %s' % (board.host, board.port, board.unit), flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            for when, address, on in board.writes[seen:]:
                print('%.3f coil %d %s' % (when, address, 'on' if on else 'off'), flush=True)
            seen = len(board.writes)
    except KeyboardInterrupt:
        board.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
