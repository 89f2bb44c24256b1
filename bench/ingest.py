#!/usr/bin/env python3
"""Events per second through POST /env_gate/api/v1/events into passages.

Posts batches of 100 plate reads (entries on E-IN, then the matching exits on E-OUT) for
vehicles of the demo register, as a gate box would, and prints per-batch rates and the
median. Needs a running server with the demo data (./run.sh, or --start to start one).

    .venv/bin/python bench/ingest.py --url http://127.0.0.1:8069 --db env_gate_demo
"""
import argparse
import datetime
import json
import statistics
import time
import uuid
import xmlrpc.client

import requests

CST = datetime.timezone(datetime.timedelta(hours=8))


def snapshot(seed):
    """A distinct camera-sized JPEG (noise compresses badly, like a real scene)."""
    import base64
    import io
    import random
    from PIL import Image
    rng = random.Random(seed)
    image = Image.frombytes('RGB', (160, 90), bytes(rng.getrandbits(8) for _ in range(160 * 90 * 3)))
    out = io.BytesIO()
    image.resize((640, 360)).save(out, 'JPEG', quality=70)
    return base64.b64encode(out.getvalue()).decode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--url', default='http://127.0.0.1:8069')
    parser.add_argument('--db', default='env_gate_demo')
    parser.add_argument('--batches', type=int, default=20)
    parser.add_argument('--size', type=int, default=100)
    parser.add_argument('--pictures', action='store_true',
                        help='attach a distinct ~20 kB JPEG snapshot to every read, as cameras do')
    args = parser.parse_args()

    common = xmlrpc.client.ServerProxy(args.url + '/xmlrpc/2/common')
    uid = common.authenticate(args.db, 'admin', 'admin', {})
    models = xmlrpc.client.ServerProxy(args.url + '/xmlrpc/2/object')
    plates = [v['plate'] for v in models.execute_kw(
        args.db, uid, 'admin', 'env.gate.vehicle', 'search_read',
        [[('category', '=', 'transport')]], {'fields': ['plate']})]
    # a fresh day far from the demo's, so every read is a new passage
    day = datetime.datetime(2025, 1, 1, 6, 0, tzinfo=CST) + datetime.timedelta(
        days=int(time.time()) % 300)
    session = requests.Session()
    rates = []
    for batch in range(args.batches):
        lane, token = ('E-IN', 'demo-token-e-in') if batch % 2 == 0 else ('E-OUT', 'demo-token-e-out')
        start_of_batch = day + datetime.timedelta(minutes=(batch // 2) * 30 + (batch % 2) * 10)
        events = [{
            'event_id': uuid.uuid4().hex, 'type': 'plate', 'lane': lane,
            'time': (start_of_batch + datetime.timedelta(seconds=i)).isoformat(),
            'plate': plates[(batch // 2 * args.size + i) % len(plates)],
            'plate_color': '1', 'confidence': 96.0,
        } for i in range(args.size)]
        if args.pictures:
            for n, event in enumerate(events):
                event['pictures'] = {'front': snapshot(batch * args.size + n)}
        body = json.dumps({'events': events})
        t0 = time.perf_counter()
        reply = session.post(args.url + '/env_gate/api/v1/events', data=body,
                             headers={'Authorization': 'Bearer ' + token,
                                      'Content-Type': 'application/json'}, timeout=120)
        elapsed = time.perf_counter() - t0
        reply.raise_for_status()
        result = reply.json()
        rates.append(args.size / elapsed)
        print('batch %2d %-5s %3d accepted %3d duplicate %3d rejected  %6.0f events/s'
              % (batch, lane, result['accepted'], result['duplicate'], result['rejected'],
                 rates[-1]))
    print('median %.0f events/s over %d batches of %d (min %.0f, max %.0f)'
          % (statistics.median(rates), len(rates), args.size, min(rates), max(rates)))


if __name__ == '__main__':
    main()
