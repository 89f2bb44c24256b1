#!/usr/bin/env python3
"""Backlog drain rate of the gate box forwarder: events/s from the outbox into the ERP.

Each run fills a fresh outbox (SQLite, WAL, fsync per put, as the camera path does) with
N plate reads of one lane, then runs Forwarder.run_once back to back until the outbox is
empty, and times that drain. Five runs; the median is printed. The fill rate (put() per
second, each one durable) is printed too: it bounds how fast a box can take camera reads.

By default the ERP is a local fake (http.server ThreadingHTTPServer on 127.0.0.1, in its
own process, as the ERP is): it answers like POST /env_gate/api/v1/events, checking the
lane token, the envelope and every event with the real contract code (hj1321.events), and
answering 'duplicate' for an event id it has already stored. --url/--token run against a
real ERP instead (demo data: lane E-IN, token demo-token-e-in).

    .state/venv/bin/python bench/forward.py
    .state/venv/bin/python bench/forward.py --pictures
    .state/venv/bin/python bench/forward.py --url http://127.0.0.1:8069 --token demo-token-e-in
"""
import argparse
import base64
import datetime
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
for _addon in ('env_gate_ledger', 'env_gate_hw'):   # hj1321 and gatebox, as the box has them
    sys.path.insert(0, os.path.join(ROOT, 'addons', _addon))

from gatebox.forwarder import Forwarder  # noqa: E402
from gatebox.outbox import Outbox  # noqa: E402

CST = datetime.timezone(datetime.timedelta(hours=8))
ENDPOINT = '/env_gate/api/v1/events'
FAKE_TOKENS = {'demo-token-e-in': 'E-IN', 'demo-token-e-out': 'E-OUT'}


# -- the fake ERP (runs in a child process: `forward.py --serve`) --------------------------

def serve():
    """Serve the fake ingestion endpoint on an ephemeral port; print the port, run forever."""
    from hj1321 import events as event_rules
    from hj1321.errors import Hj1321Error
    import threading
    stored, lock = set(), threading.Lock()
    counts = dict.fromkeys(('requests', 'accepted', 'duplicate', 'rejected'), 0)

    def ingest(lane, raw):
        try:
            event = event_rules.parse_event(raw)
            if event.lane != lane:
                raise Hj1321Error('event.wrong_lane', '车道不符',
                                  'the token belongs to lane %s' % lane)
        except Hj1321Error as exc:
            return {'event_id': raw.get('event_id') if isinstance(raw, dict) else None,
                    'status': 'rejected', 'code': exc.code, 'reason': exc.message_en,
                    'reason_zh': exc.message_zh}
        with lock:
            if event.event_id in stored:
                return {'event_id': event.event_id, 'status': 'duplicate'}
            stored.add(event.event_id)
        return {'event_id': event.event_id, 'status': 'accepted'}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'       # keep-alive, as Odoo's werkzeug server does

        def setup(self):
            BaseHTTPRequestHandler.setup(self)
            # headers and body go out in two writes: without this, Nagle's algorithm and
            # the client's delayed ACK add ~40 ms to every answer, which is not the ERP's.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args):
            pass

        def _reply(self, status, body):
            data = json.dumps(body, ensure_ascii=False).encode('utf-8')
            self.send_response(status)
            self.send_header('Content-Type', 'application/json; charset=utf-8')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):           # bench only: what the fake has received
            with lock:
                self._reply(200, dict(counts))

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
            if self.path != ENDPOINT:
                return self._reply(404, {'error': 'not_found'})
            header = self.headers.get('Authorization', '')
            lane = FAKE_TOKENS.get(header[7:].strip() if header.lower().startswith('bearer ')
                                   else '')
            if lane is None:
                return self._reply(401, {'error': 'unauthorized',
                                         'message': 'missing or unknown lane token'})
            try:
                raw_events = event_rules.parse_request(body)
            except Hj1321Error as exc:
                return self._reply(400, {'error': exc.code, 'message': exc.message_en,
                                         'message_zh': exc.message_zh})
            results = [ingest(lane, raw) for raw in raw_events]
            summary = {s: sum(1 for r in results if r['status'] == s)
                       for s in ('accepted', 'duplicate', 'rejected')}
            with lock:
                counts['requests'] += 1
                for key, value in summary.items():
                    counts[key] += value
            self._reply(200, dict(summary, results=results))

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


class FakeErp(object):
    """The fake ERP as a child process."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), '--serve'],
                                        stdout=subprocess.PIPE)
        port = self.process.stdout.readline().strip()
        if not port:
            raise RuntimeError('the fake ERP did not start')
        self.url = 'http://127.0.0.1:%d' % int(port)

    def counts(self):
        import requests
        return requests.get(self.url + '/counts', timeout=5).json()

    def close(self):
        self.process.terminate()
        self.process.wait(10)


# -- the benchmark --------------------------------------------------------------------------

def snapshot(target=60000, seed=1):
    """Base64 of a JPEG of about `target` characters (a camera snapshot's size).

    Noise compresses badly, like a real scene. Without Pillow: random bytes behind a JPEG
    header, enough for the fake ERP (it checks the magic bytes only).
    """
    rng = random.Random(seed)
    try:
        import io
        from PIL import Image
    except ImportError:
        raw = b'\xff\xd8\xff\xe0' + bytes(rng.getrandbits(8) for _ in range(target * 3 // 4 - 4))
        return base64.b64encode(raw).decode('ascii')
    width = 64
    while True:
        height = width * 9 // 16
        image = Image.frombytes('RGB', (width, height),
                                bytes(rng.getrandbits(8) for _ in range(width * height * 3)))
        out = io.BytesIO()
        image.resize((width * 4, height * 4)).save(out, 'JPEG', quality=75)
        text = base64.b64encode(out.getvalue()).decode('ascii')
        if len(text) >= target:
            return text
        width += 16


def make_events(count, lane, picture, day):
    run = uuid.uuid4().hex[:12]
    events = []
    for n in range(count):
        event = {'event_id': 'bench-%s-%06d' % (run, n), 'type': 'plate', 'lane': lane,
                 'time': (day + datetime.timedelta(seconds=n)).isoformat(),
                 'plate': '沪B%05d' % (n % 100000), 'plate_color': '1', 'confidence': 96.0,
                 'direction': 'in' if lane.endswith('IN') else 'out',
                 'extra': {'source': 'bench', 'camera_event_id': str(n)}}
        if picture:
            event['pictures'] = {'front': picture}
        events.append(event)
    return events


def one_run(number, args, url, token, picture):
    directory = tempfile.mkdtemp(prefix='gatebox-bench-')
    try:
        day = datetime.datetime(2025, 6, 1, 6, 0, tzinfo=CST) + datetime.timedelta(
            days=number + int(time.time()) % 300)
        events = make_events(args.events, args.lane, picture, day)
        with Outbox(os.path.join(directory, 'outbox.sqlite')) as box:
            t0 = time.perf_counter()
            for event in events:
                box.put(event)          # one durable commit per read, as a camera's
            fill = time.perf_counter() - t0
            size = box.stats()['bytes']
            forwarder = Forwarder(box, url, {args.lane: token}, batch_size=args.batch_size,
                                  max_bytes=args.max_bytes)
            t0 = time.perf_counter()
            rounds = 0
            while True:
                summary = forwarder.run_once()
                rounds += 1
                if summary['deferred'] or summary['rejected']:
                    raise SystemExit('run %d: the ERP did not take everything: %s; status %s'
                                     % (number, summary, forwarder.status()))
                if not summary['events']:
                    break
            drain = time.perf_counter() - t0
            status = forwarder.status()
            if status['pending'] or status['totals']['accepted'] != args.events:
                raise SystemExit('run %d: %s' % (number, status))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    rate = args.events / drain
    print('run %d: put %5.0f events/s (durable)   drain %6.0f events/s  %6.1f MB/s  '
          '%d requests, %d accepted'
          % (number, args.events / fill, rate, size / drain / 1e6, status['totals']['requests'],
             status['totals']['accepted']), flush=True)
    return rate, args.events / fill


def main():
    if '--serve' in sys.argv[1:]:
        return serve()
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--events', type=int, default=5000, help='events per run (5000)')
    parser.add_argument('--pictures', action='store_true',
                        help='attach a ~60 KB (base64) JPEG snapshot to every event')
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--url', help='a real ERP, e.g. http://127.0.0.1:8069 '
                        '(default: a local fake ERP)')
    parser.add_argument('--token', default='demo-token-e-in', help='lane token for --url')
    parser.add_argument('--lane', default='E-IN')
    parser.add_argument('--batch-size', type=int, default=500)
    parser.add_argument('--max-bytes', type=int, default=5 * 1024 * 1024)
    args = parser.parse_args()

    picture = snapshot() if args.pictures else None
    fake = None if args.url else FakeErp()
    url = args.url or fake.url
    try:
        print('%s: %d runs of %d events%s, batches of up to %d events / %.1f MB'
              % ('ERP ' + url if args.url else 'fake ERP ' + url, args.runs, args.events,
                 ' with a %d-character picture each' % len(picture) if picture else '',
                 args.batch_size, args.max_bytes / 1048576.0), flush=True)
        rates = [one_run(n + 1, args, url, args.token, picture) for n in range(args.runs)]
        if fake is not None:
            counts = fake.counts()
            expected = args.events * args.runs
            if counts['accepted'] != expected or counts['duplicate'] or counts['rejected']:
                raise SystemExit('the fake ERP counted %s, expected %d accepted'
                                 % (counts, expected))
    finally:
        if fake is not None:
            fake.close()
    drains = [rate for rate, _fill in rates]
    print('median drain %.0f events/s over %d runs (min %.0f, max %.0f); median put %.0f '
          'events/s' % (statistics.median(drains), len(drains), min(drains), max(drains),
                        statistics.median(fill for _rate, fill in rates)))


if __name__ == '__main__':
    main()
