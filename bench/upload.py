#!/usr/bin/env python3
"""Regulator upload throughput: canonical passages delivered to a platform simulator.

Builds N canonical passages (hj1321.canonical, as the ERP will from its ledger) and sends
them with the platform client (regulator_clients) to the canonical JSON simulator
(tests/simulators/regulator_sim.py), sequentially and with worker threads; every run
uses a fresh simulator, checks that each passage was stored exactly once and prints
records per second; the figure is the median of the runs. The issue's aim: a day of a
large plant, 6,000 passages, delivered in under a minute (100 records/s).

    .venv/bin/python bench/upload.py                         # 10,000 passages, 1 and 4 workers
    .venv/bin/python bench/upload.py --workers 1,2,8 --runs 5 --pictures
    .venv/bin/python bench/upload.py --adapter soap_deal_command --records 2000
    .venv/bin/python bench/upload.py --url http://127.0.0.1:9101   # a simulator run apart:
        python tests/simulators/regulator_sim.py --adapter canonical --port 9101

Figures on this project's 2-core machine with other jobs running (load average 4-6),
simulator in another process, medians of 3 runs:
    10,000 passages, no pictures (~1.3 kB):  1 worker 290 records/s (min 185, max 291)
        -> 6,000 in 20.7 s; 4 workers 258 records/s (min 230, max 273) -> 6,000 in 23.2 s
    2,000 passages with two ~90 kB JPEGs each embedded (~180 kB JSON): 1 worker 94
        records/s -> 6,000 in 64 s; 4 workers 171 records/s -> 6,000 in 35 s
    --via odoo (passages ingested through the ledger, uploads queued by it, then
        env.gate.upload._deliver(), the cron's method, batches of 100), 10,000 passages
        without pictures, load average ~4: 138 records/s -> 6,000 in 43 s

Entry point for other paths: `VIA` maps a name to a function (records, adapter, workers,
options) -> Result. 'direct' is the client called in threads; the Odoo path (the upload
delivery method the cron calls) is 'odoo', selected with --via odoo --odoo-db DB
--workers 1: passages ingested through the ledger in a transaction that is rolled back.
"""
import argparse
import collections
import concurrent.futures
import datetime
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import time

import requests

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.join(ROOT, 'addons', 'env_gate_ledger'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'simulators'))

import regulator_clients  # noqa: E402
import regulator_sim  # noqa: E402
from hj1321 import canonical, regulators  # noqa: E402

ENTERPRISE = {'code': regulator_sim.DEMO['enterprise_code'], 'name': '河北冀东钢铁有限公司'}
CREDENTIALS = {
    'canonical_json': {'username': regulator_sim.DEMO['username'],
                       'password': regulator_sim.DEMO['password']},
    'henan_transport_control': {'username': regulator_sim.DEMO['username'],
                                'password': regulator_sim.DEMO['password']},
    'hebei_integrated': {'username': regulator_sim.DEMO['username'],
                         'password': regulator_sim.DEMO['password'],
                         'client_id': regulator_sim.DEMO['client_id'],
                         'client_secret': regulator_sim.DEMO['client_secret']},
    'soap_deal_command': {'salt': regulator_sim.DEMO['salt']},
}
STAGES = ('4', '5', '6', '6', '6', 'D')
FUELS = {'4': 'B', '5': 'B', '6': 'B', 'D': 'C'}
CARGO = ('铁矿石', '煤炭', '焦炭', '石灰石', '废钢', '热轧钢卷')

SIM_SCRIPT = os.path.join(ROOT, 'tests', 'simulators', 'regulator_sim.py')
Result = collections.namedtuple('Result', 'seconds outcomes stats')


def snapshot(seed):
    """A distinct camera-sized JPEG (noise compresses badly, like a real scene)."""
    from PIL import Image
    rng = random.Random(seed)
    image = Image.frombytes('RGB', (160, 90), bytes(rng.getrandbits(8) for _ in range(160 * 90 * 3)))
    out = io.BytesIO()
    image.resize((640, 360)).save(out, 'JPEG', quality=70)
    return out.getvalue()


def build_passages(count, pictures=False, seed=1321):
    """`count` canonical passages of one plant, entries and exits, a few seconds apart."""
    rng = random.Random(seed)
    shots = [snapshot(seed + i) for i in range(8)] if pictures else None
    start = datetime.datetime(2026, 11, 28, 0, 0, 0)      # UTC; 08:00 at the plant
    records = []
    for n in range(count):
        direction = '1' if n % 2 == 0 else '2'
        barrier = ('0101', '0201')[n % 4 // 2] if direction == '1' else ('0102', '0202')[n % 4 // 2]
        when = start + datetime.timedelta(seconds=7 * n)
        stage = rng.choice(STAGES)
        plate = '冀B%05d' % rng.randrange(100000) if stage != 'D' else '冀BD%05d' % rng.randrange(100000)
        values = {
            'name': '%s%s%s-%d' % (barrier, 'A' if direction == '1' else 'B',
                                   (when + datetime.timedelta(hours=8)).strftime('%y%m%d%H%M%S'), n),
            'direction': direction, 'pass_time': when, 'decision': '1', 'lift_mode': '2',
            'barrier_no': barrier, 'gate_code': barrier[:2], 'lane_code': barrier,
            'plate_key': plate, 'plate_raw': plate, 'plate_color': '4' if stage == 'D' else '1',
            'confidence': round(rng.uniform(86, 99.9), 1), 'emission_stage': stage,
            'fuel_type': FUELS[stage], 'vehicle_type': 'H17', 'use_nature': 'F', 'networked': '1',
            'fleet_name': '唐山冀东物流', 'vehicle_id': 1,
            'vehicle': {'registration_date': '2021-03-04', 'brand_model': '解放J6P'},
            'cargo_name': rng.choice(CARGO), 'quantity': round(rng.uniform(20, 49), 1), 'uom': 't',
            'hash': '%064x' % rng.getrandbits(256),
            'pictures': {'front': shots[n % 8], 'body': shots[(n + 3) % 8]} if pictures else None,
        }
        records.append(canonical.canonical_passage(values, ENTERPRISE, embed_pictures=pictures))
    return records


def start_simulator(adapter, where):
    """(base_url, stats(), stop()) of a fresh simulator: in another process (like a real
    platform, it does not share this interpreter's GIL) or in a thread of this one."""
    if where == 'thread':
        sim = regulator_sim.make_sim(adapter).start()
        return sim.base_url, sim.stats, sim.stop
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, SIM_SCRIPT, '--adapter', adapter, '--port',
                                str(port), '--quiet'], stdout=subprocess.DEVNULL)
    url = 'http://127.0.0.1:%d' % port

    def stats():
        return requests.get(url + regulator_sim.STATS_PATH, timeout=10).json()

    def stop():
        process.terminate()
        process.wait(10)
    deadline = time.time() + 20
    while True:
        try:
            stats()
            break
        except requests.exceptions.ConnectionError:
            if time.time() > deadline or process.poll() is not None:
                stop()
                raise RuntimeError('the simulator did not start')
            time.sleep(0.1)
    return url, stats, stop


def via_direct(records, adapter, workers, options):
    """The platform client called from `workers` threads (one client, shared)."""
    stop = None
    stats = None
    url = options.url
    if not url:
        url, stats, stop = start_simulator(adapter, options.sim)
    client = regulator_clients.make_client(
        adapter, base_url=url, enterprise_code=ENTERPRISE['code'], timeout=(5.0, 30.0),
        **CREDENTIALS[adapter])
    try:
        client.probe()                  # token / WSDL ready before the clock starts
        start = time.perf_counter()
        if workers <= 1:
            outcomes = [client.send('passage', r).outcome for r in records]
        else:
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                outcomes = list(pool.map(lambda r: client.send('passage', r).outcome, records,
                                         chunksize=16))
        seconds = time.perf_counter() - start
        return Result(seconds, collections.Counter(outcomes), stats() if stats else None)
    finally:
        client.close()
        if stop:
            stop()


def via_odoo(records, adapter, workers, options):
    """The ERP path: len(records) passages ingested into a throwaway transaction of the
    database --odoo-db (their uploads queued by the ledger itself), then the time of
    env.gate.upload._deliver(), the method the delivery cron calls, to a fresh simulator.
    Everything is rolled back. One worker: the cron's run is one transaction per batch."""
    import odoo
    if adapter != 'canonical_json':
        raise SystemExit('--via odoo benches the canonical_json platform only')
    odoo.tools.config.parse_config(['-c', options.odoo_config, '-d', options.odoo_db])
    registry = odoo.registry(options.odoo_db)
    url, stats, stop = start_simulator(adapter, options.sim)
    try:
        with odoo.api.Environment.manage(), registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            try:
                gate = env['env.gate.gate'].create({'name': 'Bench gate', 'code': 'BZ'})
                lane = env['env.gate.lane'].create({
                    'name': 'Bench in', 'code': 'BZ-IN', 'gate_id': gate.id,
                    'barrier_no': 'BZ01', 'direction': '1'})
                regulator = env['env.gate.regulator'].create({
                    'name': 'Bench platform', 'adapter': adapter, 'base_url': url,
                    'enterprise_code': ENTERPRISE['code'], 'timeout': 30,
                    'username': CREDENTIALS[adapter]['username'],
                    'password': CREDENTIALS[adapter]['password']})
                start_at = datetime.datetime(2026, 11, 28, 8, 0, 0,
                                             tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
                ingest_started = time.perf_counter()
                for first in range(0, len(records), 500):
                    events = [{'event_id': 'bench-upload-%d' % n, 'type': 'plate',
                               'lane': lane.code, 'plate': '琼B%05d' % n, 'plate_color': '1',
                               'confidence': 97,
                               'time': (start_at + datetime.timedelta(seconds=7 * n)).isoformat()}
                              for n in range(first, min(first + 500, len(records)))]
                    env['env.gate.event']._ingest(lane, events)
                cr.execute('SELECT count(*) FROM env_gate_upload WHERE regulator_id = %s',
                           (regulator.id,))
                queued = cr.fetchone()[0]
                print('  ingested %d passages, %d uploads queued, in %.1f s'
                      % (len(records), queued, time.perf_counter() - ingest_started))
                regulator._client().probe()
                start = time.perf_counter()
                env['env.gate.upload']._deliver(regulators=regulator, budget=10 ** 6)
                seconds = time.perf_counter() - start
                cr.execute('SELECT state, count(*) FROM env_gate_upload WHERE regulator_id = %s '
                           'GROUP BY state', (regulator.id,))
                outcomes = collections.Counter(dict(cr.fetchall()))
                return Result(seconds, outcomes, stats())
            finally:
                cr.rollback()
    finally:
        stop()


VIA = {'direct': via_direct, 'odoo': via_odoo}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--records', type=int, default=10000)
    parser.add_argument('--workers', default='1,4', help='comma-separated thread counts')
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--adapter', default='canonical_json', choices=sorted(CREDENTIALS))
    parser.add_argument('--pictures', action='store_true',
                        help='embed two distinct ~25 kB JPEG pictures per passage')
    parser.add_argument('--url', help='a simulator already running (default: one per run, '
                                      'in this process); its records are not checked')
    parser.add_argument('--sim', default='process', choices=('process', 'thread'),
                        help='run each fresh simulator in another process (default) or in a '
                             'thread of this one (then it competes with the client for the GIL)')
    parser.add_argument('--via', default='direct', choices=sorted(VIA),
                        help='direct: the client in threads; odoo: the ERP delivery method '
                             '(needs --odoo-config and --odoo-db; one worker)')
    parser.add_argument('--odoo-config', default=os.path.join(ROOT, '.state', 'odoo.conf'))
    parser.add_argument('--odoo-db', help='an installed database (--via odoo); rolled back')
    args = parser.parse_args()

    started = time.perf_counter()
    records = build_passages(args.records, args.pictures)
    built = time.perf_counter() - started
    size = sum(len(regulators.dump(r, limit=10 ** 9)) for r in records[:100]) / 100.0
    print('built %d canonical passages in %.2f s (%.0f records/s), ~%.1f kB each as JSON; '
          'simulator: %s' % (len(records), built, len(records) / built, size / 1024,
                             args.url or 'a fresh one per run, in a %s' % args.sim))
    if args.url:
        print('note: with --url every run after the first finds the records already there '
              '(duplicate answers)')
    summary = []
    for workers in [int(w) for w in args.workers.split(',')]:
        rates = []
        for run in range(args.runs):
            result = VIA[args.via](records, args.adapter, workers, args)
            rate = len(records) / result.seconds
            rates.append(rate)
            check = ''
            if result.stats is not None:
                stats = result.stats
                exact = stats['max_stored'] == 1 and stats['records'] >= len(records)
                check = ', stored exactly once: %s' % (
                    'yes' if exact else 'NO (%d records, max %d)' % (stats['records'],
                                                                     stats['max_stored']))
            print('  %s, %d worker(s), run %d: %.2f s, %.0f records/s, outcomes %s%s'
                  % (args.adapter, workers, run + 1, result.seconds, rate,
                     dict(result.outcomes), check))
        median = statistics.median(rates)
        summary.append((workers, median, min(rates), max(rates)))
        print('%s via %s, %d worker(s): median %.0f records/s (min %.0f, max %.0f) -> 6,000 '
              'passages in %.1f s' % (args.adapter, args.via, workers, median, min(rates),
                                      max(rates), 6000 / median))
    best = max(summary, key=lambda s: s[1])
    print('aim: 6,000 passages in under 60 s (100 records/s): %s (best %.0f records/s with %d '
          'worker(s))' % ('met' if best[1] >= 100 else 'NOT met', best[1], best[0]))


if __name__ == '__main__':
    main()
