#!/usr/bin/env python3
"""Barrier decision time with a 100,000-vehicle register cache (p50 / p99).

Pure mode (default) builds a synthetic register (100,000 transport vehicles, 500
blacklist rows, an active orange strategy, two lanes) through the sync wire format, and
prints, each as the median over --runs runs:

* cache figures: full apply (validation + atomic write), load from disk, a 10-row
  incremental apply (copy-on-write + rewrite);
* `decision.decide` alone (inputs already looked up);
* `Cache.decide` (plate-key lookups + decide), what a camera listener calls.

The reads mix registered vehicles of every stage, unregistered plates, blacklisted
plates, unreadable plates and low-confidence reads, on the entry and the exit lane.

With --box it also times end to end against the real gate box: the same register is
written as the box's cache file (cache.Cache.apply of the synthetic full sync reply), a
database-less Odoo is started with --load=web,hw_proxy,env_gate_hw on that data
directory (ERP unreachable: the box decides from its cache and queues every read in its
outbox, fsync included), and AlarmInfoPlate pushes (the camera protocol) are POSTed to
/env_gate_hw/camera/alarminfoplate?lane=<lane>; the time is from sending the request to
having the whole reply. One TCP connection per read (--keep-alive: one connection kept
open; the box's werkzeug server speaks HTTP/1.0 and closes it anyway, so it is
reopened). --http URL does the same against a box already running at URL (its cache
must hold the same register: --write-payload FILE writes the full sync reply).

    .venv/bin/python bench/gate_decision.py
    .venv/bin/python bench/gate_decision.py --box
    .venv/bin/python bench/gate_decision.py --http http://127.0.0.1:8070
"""
import argparse
import datetime
import gc
import http.client
import json
import os
import operator
import random
import shutil
import sqlite3
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
for _addon in ('env_gate_ledger', 'env_gate_hw'):
    sys.path.insert(0, os.path.join(HERE, '..', 'addons', _addon))

from gatebox import cache as cache_mod  # noqa: E402
from gatebox import decision  # noqa: E402

PROVINCES = '京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新'
LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ'
NOW = datetime.datetime(2026, 11, 28, 1, 0, 0)


def plate(index):
    """A distinct valid ordinary plate per index < 1,000,000 x 31."""
    return '%s%s%05d' % (PROVINCES[index % 31], LETTERS[(index // 31) % 24], index % 100000)


def synthetic_payload(vehicles, blacklisted, seed=1):
    rng = random.Random(seed)
    rows = []
    for index in range(vehicles):
        stage = rng.choice('3444555666666DX')
        rows.append({
            'id': index + 1, 'plate_key': plate(index), 'plate_color': '1', 'stage': stage,
            'fuel': 'C' if stage == 'D' else rng.choice('BBBBE'), 'category': 'transport',
            'vehicle_type': rng.choice(['Q11', 'Q11', 'H11', 'H17', 'H21', 'H31']),
            'owner': '某某物流有限公司%03d' % (index % 400),
            'flags': ['hazardous'] if index % 97 == 0 else []})
    blacklist = [{'id': n + 1, 'plate_key': plate(rng.randrange(vehicles)),
                  'source': '市生态环境局', 'reason': '超标排放',
                  'valid_from': '2026-01-01 00:00:00',
                  'valid_to': None if n % 5 else '2026-06-01 00:00:00'}
                 for n in range(blacklisted)]
    return {'version': 1000, 'full': True, 'server_time': '2026-11-28 01:00:00',
            'vehicles': rows, 'blacklist': blacklist,
            'strategies': [{'id': 1, 'name': '橙色预警', 'level': 'orange',
                            'date_start': '2026-11-27 16:00:00',
                            'date_end': '2026-11-30 16:00:00', 'rules': None,
                            'exempt_flags': None, 'exempt_plates': [plate(5)]}],
            'lanes': [{'code': 'E-IN', 'direction': 'in', 'unregistered': 'hold',
                       'min_confidence': 90},
                      {'code': 'E-OUT', 'direction': 'out', 'unregistered': 'pass'}]}


class Read(object):
    __slots__ = ('plate_key', 'plate_raw', 'confidence', 'direction')

    def __init__(self, plate_key, confidence, direction):
        self.plate_key = plate_key
        self.plate_raw = plate_key
        self.confidence = confidence
        self.direction = direction


def read_mix(count, vehicles, payload, seed=2):
    """(read, lane code) pairs: 85 % registered, 5 % unregistered, 4 % blacklisted,
    3 % unreadable, 3 % low confidence; two thirds entries."""
    rng = random.Random(seed)
    listed = [row['plate_key'] for row in payload['blacklist']]
    out = []
    for _n in range(count):
        lane = 'E-IN' if rng.random() < 0.67 else 'E-OUT'
        roll = rng.random()
        confidence = round(rng.uniform(91, 99.5), 1)
        if roll < 0.85:
            key = plate(rng.randrange(vehicles))
        elif roll < 0.90:
            key = plate(vehicles + rng.randrange(vehicles))        # not registered
        elif roll < 0.94:
            key = rng.choice(listed)
        elif roll < 0.97:
            key = ''
        else:
            key = plate(rng.randrange(vehicles))
            confidence = round(rng.uniform(40, 89.9), 1)
        out.append((Read(key, confidence, None), lane))
    return out


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float('nan')
    rank = max(1, int(round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def timed_calls(function, items):
    """Per-call durations in microseconds."""
    clock = time.perf_counter
    out = []
    append = out.append
    for item in items:
        start = clock()
        function(item)
        append((clock() - start) * 1e6)
    return out


def summarize(label, runs, unit='us'):
    """Print the median over runs of each run's p50, p99 and max."""
    p50 = statistics.median(percentile(sorted(r), 0.50) for r in runs)
    p99 = statistics.median(percentile(sorted(r), 0.99) for r in runs)
    worst = statistics.median(max(r) for r in runs)
    print('%-34s p50 %8.1f %s   p99 %8.1f %s   max %8.1f %s   (%d runs x %d)'
          % (label, p50, unit, p99, unit, worst, unit, len(runs), len(runs[0])))
    return p50, p99


def median_seconds(function, runs):
    values = []
    result = None
    for _n in range(runs):
        start = time.perf_counter()
        result = function()
        values.append(time.perf_counter() - start)
    return statistics.median(values), min(values), max(values), result


def bench_pure(args):
    payload = synthetic_payload(args.vehicles, args.blacklist)
    if args.write_payload:
        with open(args.write_payload, 'w', encoding='utf-8') as handle:
            json.dump(payload, handle, ensure_ascii=False)
        print('wrote the synthetic full sync reply to %s' % args.write_payload)
    directory = tempfile.mkdtemp(prefix='gate_decision_bench_')
    path = os.path.join(directory, 'cache.json')
    try:
        print('register: %d vehicles, %d blacklist rows, 1 active orange strategy, 2 lanes'
              % (args.vehicles, args.blacklist))

        def full_apply():
            for name in os.listdir(directory):
                os.remove(os.path.join(directory, name))
            box = cache_mod.Cache(path, clock=lambda: NOW)
            box.apply(payload)
            return box
        med, low, high, box = median_seconds(full_apply, args.runs)
        print('%-34s %7.3f s median  (min %.3f, max %.3f; file %.1f MB)'
              % ('full sync apply + atomic write', med, low, high,
                 os.path.getsize(path) / 1e6))

        med, low, high, loaded = median_seconds(lambda: cache_mod.Cache(path), args.runs)
        assert loaded.version == 1000 and loaded.stats()['vehicles'] == args.vehicles
        print('%-34s %7.3f s median  (min %.3f, max %.3f)'
              % ('load %d vehicles from disk' % args.vehicles, med, low, high))
        if args.compare_storage:
            compare_storage(box, directory, args.runs)

        counter = [box.version]

        def incremental():
            counter[0] += 1
            rows = [dict(payload['vehicles'][n], stage='6') for n in range(10)]
            return box.apply({'version': counter[0], 'since': counter[0] - 1,
                              'vehicles': rows})
        med, low, high, _result = median_seconds(incremental, args.runs)
        print('%-34s %7.3f s median  (min %.3f, max %.3f)'
              % ('incremental apply (10 rows)', med, low, high))

        mix = read_mix(args.reads, args.vehicles, payload)
        state_lanes = {code: box.lane(code) for code in ('E-IN', 'E-OUT')}
        strategies = box.strategies()
        prepared = [(read, box.vehicle(read.plate_key) if read.plate_key else None,
                     box.blacklist_entries(read.plate_key), state_lanes[lane])
                    for read, lane in mix]
        decide = decision.decide

        def pure(item):
            read, vehicle, blacklist, lane = item
            return decide(read, vehicle, blacklist, strategies, lane, NOW)

        def through_cache(item):
            read, lane = item
            return box.decide(read, lane, NOW)

        outcomes = {}
        for item in prepared:
            result = pure(item)
            outcomes[(result.action, result.reason)] = outcomes.get(
                (result.action, result.reason), 0) + 1
        print('read mix outcomes: ' + ', '.join(
            '%s/%s %d' % (action, reason, count)
            for (action, reason), count in sorted(outcomes.items(), key=lambda kv: -kv[1])))
        for function in (pure, through_cache):          # warm up
            timed_calls(function, prepared[:1000] if function is pure else mix[:1000])
        pure_runs = [timed_calls(pure, prepared) for _n in range(args.runs)]
        cache_runs = [timed_calls(through_cache, mix) for _n in range(args.runs)]
        pure_figures = summarize('decision.decide (pure)', pure_runs)
        cache_figures = summarize('Cache.decide (lookup + decide)', cache_runs)
        gc.collect()
        return pure_figures, cache_figures
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def compare_storage(box, directory, runs):
    """The same vehicle rows loaded from SQLite into the same lookup dicts, interleaved
    with JSON loads so machine load hits both alike (the choice in cache.py)."""
    rows = list(box._state.vehicles.values())
    database = os.path.join(directory, 'compare.sqlite')
    connection = sqlite3.connect(database)
    connection.execute('PRAGMA journal_mode=WAL')
    connection.execute('CREATE TABLE vehicle (plate_key TEXT PRIMARY KEY, stage TEXT, '
                       'fuel TEXT, vehicle_type TEXT, category TEXT, flags TEXT, '
                       'plate_color TEXT, owner TEXT, id INTEGER)')
    start = time.perf_counter()
    connection.executemany('INSERT INTO vehicle VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                           [row[:5] + (' '.join(row[5]),) + row[6:] for row in rows])
    connection.commit()
    connection.close()
    write_seconds = time.perf_counter() - start
    key_of, id_of = operator.itemgetter(0), operator.itemgetter(8)

    def sqlite_load():
        connection = sqlite3.connect(database)
        loaded = [row[:5] + ((tuple(row[5].split()) if row[5] else ()),) + row[6:]
                  for row in connection.execute(
                      'SELECT plate_key, stage, fuel, vehicle_type, category, flags, '
                      'plate_color, owner, id FROM vehicle')]
        connection.close()
        return dict(zip(map(key_of, loaded), loaded)), dict(zip(map(id_of, loaded),
                                                                 map(key_of, loaded)))
    times = {'json': [], 'sqlite': []}
    for _n in range(runs):
        for name, load in (('json', lambda: cache_mod.read_file(box.path)),
                           ('sqlite', sqlite_load)):
            start = time.perf_counter()
            load()
            times[name].append(time.perf_counter() - start)
    for name in ('json', 'sqlite'):
        print('%-34s %7.3f s median  (min %.3f, max %.3f)'
              % ('  compare: load from %s' % name, statistics.median(times[name]),
                 min(times[name]), max(times[name])))
    print('%-34s %7.3f s (one transaction; %.1f MB)'
          % ('  compare: write SQLite', write_seconds, os.path.getsize(database) / 1e6))


def alarminfoplate_body(key, confidence, serial):
    return json.dumps({'AlarmInfoPlate': {'serialno': 'bench', 'channel': 0, 'result': {
        'PlateResult': {'license': key or '_无_', 'confidence': confidence, 'colorType': 2,
                        'plateid': serial, 'timeStamp': {'Timeval': {
                            'sec': int(time.time()), 'usec': serial % 1000000}}}}}},
                      ensure_ascii=False).encode('utf-8')


def bench_http(args, base_url):
    url = urllib.parse.urlsplit(base_url)
    path = (url.path.rstrip('/') or '') + '/env_gate_hw/camera/alarminfoplate'
    connection_class = (http.client.HTTPSConnection if url.scheme == 'https'
                        else http.client.HTTPConnection)
    payload = synthetic_payload(args.vehicles, args.blacklist)
    mix = read_mix(args.http_reads, args.vehicles, payload, seed=3)
    headers = {'Content-Type': 'application/json'}
    runs, statuses = [], {}
    serial = int(time.time()) % 100000 * 1000
    for run in range(args.runs + 1):            # run 0 warms up and is not counted
        connection = None
        durations = []
        for read, lane in mix:
            serial += 1
            body = alarminfoplate_body(read.plate_key, read.confidence, serial)
            if connection is None or not args.keep_alive:
                if connection is not None:
                    connection.close()
                connection = connection_class(url.hostname, url.port, timeout=10)
            start = time.perf_counter()
            connection.request('POST', '%s?lane=%s' % (path, lane), body=body, headers=headers)
            reply = connection.getresponse()
            data = reply.read()
            durations.append((time.perf_counter() - start) * 1000)
            if reply.getheader('Connection', '').lower() == 'close' or \
                    reply.version == 10:
                connection.close()
                connection = None
            info = None
            try:
                info = json.loads(data.decode('utf-8'))['Response_AlarmInfoPlate']['info']
            except (ValueError, KeyError, TypeError):
                pass
            if run:
                statuses[(reply.status, info)] = statuses.get((reply.status, info), 0) + 1
        if connection is not None:
            connection.close()
        if run:
            runs.append(durations)
    print('HTTP replies: ' + ', '.join('%s info=%s: %d' % (status, info, count)
                                       for (status, info), count in sorted(
                                           statuses.items(), key=lambda kv: -kv[1])))
    return summarize('HTTP camera push -> reply', runs, unit='ms')


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start_box(args, directory):
    """A real gate box process on a data directory holding the synthetic register."""
    root = os.path.abspath(os.path.join(HERE, '..'))
    data_dir = os.path.join(directory, 'data')
    os.makedirs(data_dir)
    start = time.perf_counter()
    box_cache = cache_mod.Cache(os.path.join(data_dir, 'cache.json'))
    box_cache.apply(synthetic_payload(args.vehicles, args.blacklist))
    print('box cache written: %d vehicles in %.2f s' % (args.vehicles,
                                                       time.perf_counter() - start))
    port = _free_port()
    conf = os.path.join(directory, 'box.conf')
    with open(conf, 'w', encoding='utf-8') as handle:
        handle.write('\n'.join([
            '[options]', 'addons_path = %s' % os.path.join(root, 'addons'),
            'data_dir = %s' % os.path.join(directory, 'odoo'), 'db_host = 127.0.0.1',
            'db_port = %d' % _free_port(), 'workers = 0', 'max_cron_threads = 0',
            'log_level = warn', 'logfile = %s' % os.path.join(directory, 'box.log'), '',
            '[env_gate_hw]', 'erp_url = %s' % args.erp_url, 'data_dir = %s' % data_dir,
            'sync_interval = 3600', 'status_interval = 3600', '',
            '[env_gate_hw lane E-IN]', 'token = bench-e-in', 'direction = in',
            'camera = alarminfoplate', '',
            '[env_gate_hw lane E-OUT]', 'token = bench-e-out', 'direction = out',
            'camera = alarminfoplate', '']))
    process = subprocess.Popen(
        [sys.executable, os.path.join(root, 'bin', 'odoo'), '-c', conf,
         '--load=web,hw_proxy,env_gate_hw', '--http-port=%d' % port,
         '--http-interface=127.0.0.1'], cwd=root)
    url = 'http://127.0.0.1:%d' % port
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
            connection.request('GET', '/env_gate_hw/status.json')
            status = json.loads(connection.getresponse().read().decode('utf-8'))
            connection.close()
            if status['cache']['vehicles'] == args.vehicles:
                print('gate box up at %s (pid %d), cache loaded in %.2f s'
                      % (url, process.pid, status['cache']['load_seconds']))
                return process, url
        except (OSError, ValueError, KeyError):
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    process.kill()
    raise SystemExit('the gate box did not start; see %s' % os.path.join(directory, 'box.log'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--vehicles', type=int, default=100000)
    parser.add_argument('--blacklist', type=int, default=500)
    parser.add_argument('--reads', type=int, default=20000, help='reads per run (pure mode)')
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--box', action='store_true',
                        help='also start a real gate box with this register and time camera '
                             'pushes to it over HTTP')
    parser.add_argument('--http', metavar='URL',
                        help='also time camera pushes to a box already running at URL')
    parser.add_argument('--erp-url', default='http://127.0.0.1:9',
                        help='ERP the started box forwards to (default: unreachable)')
    parser.add_argument('--http-reads', type=int, default=2000, help='reads per HTTP run')
    parser.add_argument('--keep-alive', action='store_true',
                        help='keep one connection open when the server allows it')
    parser.add_argument('--skip-pure', action='store_true',
                        help='only the HTTP figures')
    parser.add_argument('--compare-storage', action='store_true',
                        help='also load the same rows from SQLite (JSON vs SQLite)')
    parser.add_argument('--write-payload', metavar='FILE',
                        help='write the synthetic full sync reply as JSON')
    args = parser.parse_args()
    print('Python %s on %s, %d CPUs' % (sys.version.split()[0], sys.platform, os.cpu_count()))
    if not args.skip_pure:
        bench_pure(args)
    if args.http:
        bench_http(args, args.http)
    elif args.box:
        directory = tempfile.mkdtemp(prefix='gate_decision_box_')
        process = None
        try:
            process, url = start_box(args, directory)
            bench_http(args, url)
        finally:
            if process is not None:
                process.terminate()
                process.wait(30)
            shutil.rmtree(directory, ignore_errors=True)
    else:
        print('HTTP end-to-end: skipped (--box or --http URL)')


if __name__ == '__main__':
    main()
