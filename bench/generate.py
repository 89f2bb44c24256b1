#!/usr/bin/env python3
"""24 months of a large plant's gate traffic in a throwaway database, for the benchmarks.

About 3,000 trucks a day in and out (≈ 4.4 M passages over 730 days), a weighbridge ticket
for every supplier and delivery truck (≈ 1.46 M), 6,000 registered trucks with a
realistic emission-stage and fuel mix, in-plant vehicles, non-road machinery, corrections
of the flagged reads, daily rail and belt-conveyor tonnage, and the raw device events
(plate reads, repeats, weights, heartbeats) of the last month.

The database starts as a plain install of env_gate_ledger without demo data (through the
repo's launcher, as scripts/lib.sh calls it); the registers that few rows make (cargo,
partners, gates, lanes, users) go through the ORM, and the ledgers are streamed in with
COPY, computed and derived columns included, hash chains included (real SHA-256 chains
from hj1321.chain, so Verify Ledger works on the generated data). Secondary indexes are
dropped during the load and rebuilt after it; id sequences, the weighbridge ticket
sequence and each ledger's chain head are left where the next real record continues.

    .venv/bin/python bench/generate.py                     # env_gate_scale, 730 days
    .venv/bin/python bench/generate.py --days 30 --db env_gate_scale_small

Refuses the project's real databases (env_gate_demo, gate_try, erp_h3, box_sys,
env_gate_test_*) and any existing database it did not create itself.
"""
import argparse
import bisect
import collections
import datetime
import hashlib
import io
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
ADDON = os.path.join(ROOT, 'addons', 'env_gate_ledger')
sys.path.insert(0, ADDON)

from hj1321 import chain, codes, plates, vin as vin_rules  # noqa: E402  (framework-free)

PROTECTED = ('env_gate_demo', 'gate_try', 'erp_h3', 'box_sys')
PROTECTED_PREFIXES = ('env_gate_test_',)
MARKER = 'env_gate.bench_scale'          # ir.config_parameter set on databases made here
TZ_OFFSET = 8 * 3600                     # Asia/Shanghai, no daylight saving since 1991
SEED = 1321

# ---- the plant ------------------------------------------------------------------------

GATES = [('01', '东门（原料门）'), ('02', '北门（成品门）'), ('03', '西门（辅料/办公）')]
# code, name, gate, barrier no., direction ('1' in, '2' out, 'both')
LANES = [('E-IN1', '东门进厂一道', '01', '0101', '1'), ('E-IN2', '东门进厂二道', '01', '0102', '1'),
         ('E-OUT1', '东门出厂一道', '01', '0103', '2'), ('E-OUT2', '东门出厂二道', '01', '0104', '2'),
         ('N-IN', '北门进厂', '02', '0201', '1'), ('N-OUT', '北门出厂', '02', '0202', '2'),
         ('W-IO', '西门双向', '03', '0301', 'both')]
# code, name, bulk, direction of its trucks
CARGO = [('IO', '铁矿石', True, 'in'), ('CO', '煤炭', True, 'in'), ('CK', '焦炭', True, 'in'),
         ('LS', '石灰石', True, 'in'), ('SC', '废钢', True, 'in'), ('DM', '白云石', True, 'in'),
         ('FA', '合金辅料', False, 'in'), ('HC', '热轧钢卷', False, 'out'),
         ('RB', '螺纹钢', False, 'out'), ('SL', '水渣', True, 'out')]
SUPPLY_MIX = [('IO', 35), ('CO', 20), ('CK', 14), ('LS', 10), ('SC', 11), ('DM', 5), ('FA', 5)]
DELIVERY_MIX = [('HC', 40), ('RB', 40), ('SL', 20)]
PARTNERS_PER_CARGO = {'IO': 6, 'CO': 5, 'CK': 4, 'LS': 3, 'SC': 6, 'DM': 2, 'FA': 3,
                      'HC': 5, 'RB': 6, 'SL': 3}
PLACES = ['唐山', '迁安', '滦州', '遵化', '曹妃甸', '丰润', '乐亭', '秦皇岛', '天津', '承德',
          '张家口', '邯郸', '鄂尔多斯', '大同', '日照', '营口', '沧州', '廊坊']
# Roles of the 6,000 trucks: supply (raw material in, weighed), delivery (product out,
# weighed), other (auxiliaries, service, waste: not weighed). Supply + delivery make about
# 2,000 of the 3,000 trucks a day.
ROLE_MIX = [('supply', 58), ('delivery', 9), ('other', 33)]
# emission stage, fuel, share (%) of a Tangshan steel plant's haulage fleet in 2026
STAGE_MIX = [('6', 'B', 47), ('6', 'E', 10), ('6', 'O', 1), ('5', 'B', 14), ('5', 'E', 3),
             ('4', 'B', 6), ('3', 'B', 1.5), ('D', 'C', 16), ('D', 'P', 1), ('X', None, 0.5)]
YEARS = {'3': (2009, 2012), '4': (2013, 2017), '5': (2017, 2020), '6': (2020, 2026),
         'D': (2020, 2026), 'X': (2008, 2016)}
PREFIXES = ['冀B'] * 10 + ['冀J', '冀F', '冀E', '冀A', '冀C', '津A', '津B', '晋B', '蒙K', '鲁R', '辽B']
ALNUM = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ'
# (vehicle type, share, rated load t, tare range t)
TRUCK_TYPES = [('Q11', 60, 33.0, (14.5, 17.5)), ('H17', 24, 18.0, (11.5, 14.0)),
               ('H11', 12, 17.0, (10.0, 12.5)), ('H14', 4, 20.0, (12.0, 14.5))]
LIGHT_TYPE = ('H31', 0, 2.0, (2.5, 3.4))
# local hour of day -> weight of arrivals: the plant runs round the clock with day peaks
HOUR_WEIGHTS = [3, 2, 2, 2, 2, 3, 4, 5, 6, 7, 7, 6, 5, 6, 7, 7, 6, 5, 4, 4, 4, 4, 3, 3]
MONTH_FACTOR = {1: 0.95, 2: 0.78, 3: 0.97, 4: 1.02, 5: 1.03, 6: 1.02, 7: 1.0, 8: 1.0,
                9: 1.04, 10: 1.03, 11: 1.06, 12: 1.06}
STAY_MINUTES = {'supply': (95, 0.45), 'delivery': (150, 0.5), 'other': (60, 0.7)}
DECISION_WORD = {'1': 'pass', '2': 'refuse', '3': 'manual', '4': 'unrecognised'}
ALERT_REASON = '重污染天气橙色预警期间，国四及以下排放标准柴油货车禁止进厂'
BLACKLIST_REASONS = ['车辆在超标车辆名单中', '随车清单未备案', '排放阶段信息缺失']

# the register snapshot a passage copies from its vehicle, written as one piece
SNAPSHOT_COLUMNS = ('vehicle_id', 'category', 'emission_stage', 'fuel_type', 'vin',
                    'vehicle_type', 'use_nature', 'networked', 'fleet_name', 'clean')
PASSAGE_COLUMNS = (
    'id', 'name', 'lane_id', 'gate_id', 'direction', 'pass_time', 'pass_date', 'plate_raw',
    'plate_key', 'plate_color', 'confidence', 'source', 'decision', 'reason', 'lift_mode',
    'manual_reason_kind', 'manual_reason', 'manual_user_id', 'flag_unregistered',
    'flag_low_confidence', 'flag_no_entry', 'flag_unreadable', 'flag_bad_plate', 'reviewed',
    'needs_review', 'voided', 'corrected_plate', 'entry_id', 'exit_id', 'pair_state',
    'cargo_id', 'quantity', 'company_id', 'chain_seq', 'chain_prev', 'chain_hash',
    'create_uid', 'create_date', 'write_uid', 'write_date') + SNAPSHOT_COLUMNS
PASSAGE_CHAIN = ('name', 'lane_id', 'direction', 'pass_time', 'plate_raw', 'plate_key',
                 'plate_color', 'confidence', 'source', 'decision', 'reason', 'lift_mode',
                 'manual_reason_kind', 'manual_reason', 'manual_user_id', 'entry_id',
                 'picture_digests', 'flag_unregistered', 'flag_low_confidence',
                 'flag_no_entry', 'flag_unreadable', 'flag_bad_plate')
WEIGHING_COLUMNS = (
    'id', 'name', 'company_id', 'lane_id', 'vehicle_id', 'plate_key', 'partner_id', 'cargo_id',
    'kind', 'first_weight', 'first_time', 'first_source', 'second_weight', 'second_time',
    'second_source', 'gross', 'tare', 'net', 'state', 'operator_id', 'entry_passage_id',
    'emission_stage', 'fuel_type', 'weigh_date', 'create_uid', 'create_date', 'write_uid',
    'write_date')     # the order of the line _ticket() writes
EVENT_COLUMNS = (
    'id', 'lane_id', 'gate_id', 'sender_event_id', 'event_type', 'event_time', 'received_at',
    'plate_raw', 'plate_key', 'plate_color', 'confidence', 'direction', 'payload', 'passage_id',
    'outcome', 'company_id', 'chain_seq', 'chain_prev', 'chain_hash', 'create_uid',
    'create_date', 'write_uid', 'write_date')
CORRECTION_COLUMNS = (
    'id', 'passage_id', 'kind', 'new_plate', 'new_plate_color', 'reason', 'user_id', 'old_plate',
    'company_id', 'chain_seq', 'chain_prev', 'chain_hash', 'create_uid', 'create_date',
    'write_uid', 'write_date')
VEHICLE_COLUMNS = (
    'id', 'category', 'plate', 'plate_kind', 'plate_color', 'internal_code', 'display_plate',
    'vin', 'vehicle_type', 'registration_date', 'production_date', 'brand_model',
    'engine_model', 'engine_maker', 'engine_no', 'fuel_type', 'emission_stage', 'use_nature',
    'networked', 'fleet_name', 'owner', 'partner_id', 'clean', 'rated_load', 'tare_min',
    'tare_max', 'company_id', 'active', 'create_uid', 'create_date', 'write_uid', 'write_date')
MACHINERY_COLUMNS = (
    'id', 'registration_code', 'kind', 'production_date', 'plate', 'emission_stage', 'fuel_type',
    'pin', 'env_code', 'machine_model', 'engine_model', 'engine_maker', 'engine_no', 'owner',
    'clean', 'company_id', 'active', 'create_uid', 'create_date', 'write_uid', 'write_date')

_JSON_STRING = json.encoder.encode_basestring      # the C function json itself uses
_PASSAGE_KEYS = tuple(sorted(PASSAGE_CHAIN))
_PASSAGE_PREFIXES = tuple('"%s":' % key for key in _PASSAGE_KEYS)

# hj1321.chain.chain_hash for payloads of plain values (str, int, float, bool, None),
# without its generic normalisation pass: the caller rounds floats as the ORM does.
# Checked against chain.chain_hash on the first rows of every ledger and on a sample.
seal = chain.plain_chain_hash


def _json(value):
    if value is None:
        return 'null'
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    if value.__class__ is str:
        return _JSON_STRING(value)
    return repr(value)        # int, or a float already rounded to fewer than 6 decimals


_JSON_BOOL = ('false', 'true')
assert _PASSAGE_KEYS == (
    'confidence', 'decision', 'direction', 'entry_id', 'flag_bad_plate', 'flag_low_confidence',
    'flag_no_entry', 'flag_unreadable', 'flag_unregistered', 'lane_id', 'lift_mode',
    'manual_reason', 'manual_reason_kind', 'manual_user_id', 'name', 'pass_time',
    'picture_digests', 'plate_color', 'plate_key', 'plate_raw', 'reason', 'source')


def seal_passage(prev, r):
    """seal() of a passage row's sealed fields, written out directly: the hot path of the
    generator (4.4 M rows). Codes, serials and times are plain ASCII; texts go through
    json's own string encoder. An unset confidence reads back from the ORM as 0.0."""
    confidence = r['confidence']
    text = ('%s\n{"confidence":%r,"decision":"%s","direction":"%s","entry_id":%s,'
            '"flag_bad_plate":%s,"flag_low_confidence":%s,"flag_no_entry":%s,'
            '"flag_unreadable":%s,"flag_unregistered":%s,"lane_id":%d,"lift_mode":%s,'
            '"manual_reason":%s,"manual_reason_kind":%s,"manual_user_id":%s,"name":"%s",'
            '"pass_time":"%s","picture_digests":null,"plate_color":%s,"plate_key":%s,'
            '"plate_raw":%s,"reason":%s,"source":"%s"}') % (
        prev, 0.0 if confidence is None else confidence, r['decision'], r['direction'],
        _json(r['entry_id']), _JSON_BOOL[r['flag_bad_plate']],
        _JSON_BOOL[r['flag_low_confidence']], _JSON_BOOL[r['flag_no_entry']],
        _JSON_BOOL[r['flag_unreadable']], _JSON_BOOL[r['flag_unregistered']], r['lane_id'],
        _json(r['lift_mode']), _json(r['manual_reason']), _json(r['manual_reason_kind']),
        _json(r['manual_user_id']), r['name'], r['pass_time'], _json(r['plate_color']),
        _json(r['plate_key']), _json(r['plate_raw']), _json(r['reason']), r['source'])
    return hashlib.sha256(text.encode()).hexdigest()


def pair_state(row):
    """The stored pairing, as the model computes it (env_gate_passage.entry_pair_state)."""
    if row['direction'] != '1':
        return row['pair_state']
    if row['voided']:
        return 'voided'
    if row['decision'] == '2':
        return 'refused'
    return 'left' if row['exit_id'] else 'on_site'


def nul(value):
    return '\\N' if value is None else str(value)


TF = ('f', 't')
NO_SNAPSHOT = '\t'.join(['\\N'] * (len(SNAPSHOT_COLUMNS) - 1) + ['f'])


# ---- small helpers -------------------------------------------------------------------

_DAYS = {}


def _day(n):
    """'YYYY-MM-DD' of day number n since 1970-01-01 (cached: the hot path calls this)."""
    text = _DAYS.get(n)
    if text is None:
        text = _DAYS[n] = (datetime.date(1970, 1, 1) + datetime.timedelta(days=n)).isoformat()
    return text


def ts(t):
    """Epoch seconds -> 'YYYY-MM-DD HH:MM:SS' (as Odoo stores and reads datetimes)."""
    d, s = divmod(t, 86400)
    return '%s %02d:%02d:%02d' % (_day(d), s // 3600, s // 60 % 60, s % 60)


def local_date(t):
    return _day((t + TZ_OFFSET) // 86400)


def serial_stamp(t):
    """Local yyMMddHHmmss, the tail of a passage serial."""
    lt = t + TZ_OFFSET
    d, s = divmod(lt, 86400)
    day = _day(d)
    return '%s%s%s%02d%02d%02d' % (day[2:4], day[5:7], day[8:10], s // 3600, s // 60 % 60, s % 60)


def iso_local(t):
    lt = t + TZ_OFFSET
    d, s = divmod(lt, 86400)
    return '%sT%02d:%02d:%02d+08:00' % (_day(d), s // 3600, s // 60 % 60, s % 60)


def copy_value(value):
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return '\\N'
    if value is True:
        return 't'
    if value is False:
        return 'f'
    if isinstance(value, str):
        if '\\' in value or '\t' in value or '\n' in value or '\r' in value:
            value = (value.replace('\\', '\\\\').replace('\t', '\\t').replace('\n', '\\n')
                     .replace('\r', '\\r'))
        return value
    return str(value)


def copy_line(values):
    return '\t'.join(map(copy_value, values)) + '\n'


class Stream(object):
    """A file-like object over a generator of text chunks, for cursor.copy_expert: rows are
    made while PostgreSQL is busy storing the previous ones, and never all held at once."""

    def __init__(self, chunks):
        self._chunks = chunks
        self._buffer = b''

    def read(self, size=-1):
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks).encode('utf-8')
            except StopIteration:
                break
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def copy_rows(cr, table, columns, chunks):
    sql = 'COPY %s (%s) FROM STDIN' % (table, ', '.join('"%s"' % c for c in columns))
    cr._obj.copy_expert(sql, Stream(iter(chunks)), size=1 << 20)


def copy_file(cr, table, columns, handle):
    handle.flush()
    handle.seek(0)
    sql = 'COPY %s (%s) FROM STDIN' % (table, ', '.join('"%s"' % c for c in columns))
    cr._obj.copy_expert(sql, handle, size=1 << 20)


class Clock(object):
    """Prints each phase with its own time and the time since the start."""

    def __init__(self):
        self.start = self.last = time.perf_counter()

    def __call__(self, message):
        now = time.perf_counter()
        print('[%7.1f s] %-60s %+.1f s' % (now - self.start, message, now - self.last),
              flush=True)
        self.last = now


# ---- the database ---------------------------------------------------------------------

def find_or_create(model, domain, vals):
    """The record a previous run made (--keep), or a new one."""
    return model.with_context(active_test=False).search(domain, limit=1) or model.create(vals)


def check_name(db):
    if db in PROTECTED or db.startswith(PROTECTED_PREFIXES):
        sys.exit('refusing to touch %s: it is not a throwaway database' % db)


def database_exists(odoo, db):
    with odoo.sql_db.db_connect('postgres').cursor() as cr:
        cr.execute('SELECT 1 FROM pg_database WHERE datname = %s', (db,))
        return bool(cr.fetchone())


def is_bench_database(odoo, db):
    try:
        with odoo.sql_db.db_connect(db).cursor() as cr:
            cr.execute('SELECT 1 FROM ir_config_parameter WHERE key = %s', (MARKER,))
            return bool(cr.fetchone())
    except Exception:       # noqa: BLE001  (no such table: not an Odoo database at all)
        return False


def install(args, clock):
    """A fresh database with env_gate_ledger and no demo data, as the launcher makes it."""
    cmd = [sys.executable, os.path.join(ROOT, 'bin', 'odoo'), '-c', args.config, '-d', args.db,
           '-i', 'env_gate_ledger', '--without-demo=all', '--stop-after-init',
           '--log-level=warn', '--http-port=%d' % args.http_port]
    result = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    errors = [line for line in result.stdout.splitlines()
              if ' ERROR ' in line or ' CRITICAL ' in line]
    if result.returncode or errors:
        print(result.stdout[-5000:])
        sys.exit('installing env_gate_ledger into %s failed' % args.db)
    clock('installed env_gate_ledger (no demo) into %s' % args.db)


def secondary_indexes(cr, table):
    """Indexes that no constraint owns: dropped during the load, rebuilt after it."""
    cr.execute("""
        SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)""",
               (table,))
    return cr.fetchall()


# ---- the generator --------------------------------------------------------------------

class Plant(object):
    """Everything the traffic needs to know about the registers, by plain ids."""

    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        now = int(time.time()) if not args.now else int(
            datetime.datetime.strptime(args.now, '%Y-%m-%d %H:%M').replace(
                tzinfo=datetime.timezone(datetime.timedelta(hours=8))).timestamp())
        self.now = now
        self.today = (now + TZ_OFFSET) // 86400            # local day number
        self.first_day = self.today - args.days + 1
        self.event_since = now - args.event_days * 86400

    # registers made through the ORM -------------------------------------------------

    def make_registers(self, env, clock):
        # the plant works in Chinese: labels, translated cargo names and reports as there
        if not env['res.lang'].search([('code', '=', 'zh_CN')]):
            env['base.language.install'].create({'lang': 'zh_CN'}).lang_install()
            clock('loaded the zh_CN translations')
        self.lang = 'zh_CN'
        company = env.user.company_id
        company.write({'name': '河北冀东钢铁有限公司（规模测试）'})
        self.company_id = company.id
        self.uid = env.uid
        tonne = env.ref('product.product_uom_ton')
        Partner = env['res.partner']
        self.cargo = {}
        self.partners = collections.defaultdict(list)
        for code, name, bulk, direction in CARGO:
            product = find_or_create(env['product.product'], [
                ('default_code', '=', 'BENCH-%s' % code)], {
                'name': name, 'type': 'product', 'uom_id': tonne.id, 'uom_po_id': tonne.id,
                'default_code': 'BENCH-%s' % code})
            cargo = env['env.gate.cargo'].create({'code': code, 'name': name, 'bulk': bulk,
                                                 'product_id': product.id})
            self.cargo[code] = cargo.id
            suffix = '供应' if direction == 'in' else '贸易'
            for n in range(PARTNERS_PER_CARGO[code]):
                place = PLACES[(n * 7 + len(code) * 3 + ord(code[0])) % len(PLACES)]
                partner = find_or_create(Partner, [('ref', '=', 'BENCH-%s-%d' % (code, n + 1))], {
                    'name': '%s%s%s有限公司（%s%d）' % (place, name, suffix, code, n + 1),
                    'is_company': True, 'supplier': direction == 'in',
                    'customer': direction == 'out', 'ref': 'BENCH-%s-%d' % (code, n + 1)})
                self.partners[code].append(partner.id)
        words = ['顺达', '宏远', '通运', '鑫泰', '恒通', '捷运', '安达', '路通', '万里', '新程']
        self.hauliers = ['%s%s物流有限公司' % (PLACES[n % len(PLACES)], words[n % len(words)])
                         for n in range(60)] + ['冀东钢铁自有车队', '个体运输户']
        Gate, Lane = env['env.gate.gate'], env['env.gate.lane']
        gates = {code: Gate.create({'code': code, 'name': name, 'company_id': company.id}).id
                 for code, name in GATES}
        self.lanes = {}
        for code, name, gate, barrier, direction in LANES:
            lane = Lane.create({'code': code, 'name': name, 'gate_id': gates[gate],
                                'barrier_no': barrier, 'direction': direction})
            self.lanes[code] = (lane.id, gates[gate], barrier, direction)
        groups = {xmlid: env.ref('env_gate_ledger.%s' % xmlid).id
                  for xmlid in ('group_manager', 'group_operator')}
        Users = env['res.users'].with_context(no_reset_password=True)
        self.manager_uid = find_or_create(Users, [('login', '=', 'bench_manager')], {
            'name': '规模测试 环保管理员', 'login': 'bench_manager', 'password': 'bench_manager',
            'lang': self.lang, 'tz': 'Asia/Shanghai',
            'groups_id': [(6, 0, [groups['group_manager']])]}).id
        self.guard_uid = find_or_create(Users, [('login', '=', 'bench_guard')], {
            'name': '规模测试 门岗', 'login': 'bench_guard', 'password': 'bench_guard',
            'lang': self.lang, 'tz': 'Asia/Shanghai',
            'groups_id': [(6, 0, [groups['group_operator']])]}).id
        clock('registers through the ORM: %d cargo kinds, %d partners, %d gates, %d lanes'
              % (len(self.cargo), sum(map(len, self.partners.values())), len(gates),
                 len(self.lanes)))

    # vehicles and machinery (COPY) --------------------------------------------------

    def make_vehicles(self, cr, clock):
        rng = self.rng
        args = self.args
        cr.execute("SELECT nextval('env_gate_vehicle_id_seq')")
        next_id = cr.fetchone()[0]
        stamp = ts(self.now - args.days * 86400 - 30 * 86400)
        plates_taken, vins_taken = set(), set()
        self.vehicles = []       # per transport vehicle: dict of what passages copy
        rows = []
        stage_weights = [w for _s, _f, w in STAGE_MIX]
        roles = [r for r, _w in ROLE_MIX]
        role_weights = [w for _r, w in ROLE_MIX]
        type_weights = [w for _t, w, _l, _r in TRUCK_TYPES]
        for n in range(args.vehicles):
            stage, fuel, _w = rng.choices(STAGE_MIX, stage_weights)[0]
            new_energy = fuel in ('C', 'P')
            while True:
                prefix = rng.choice(PREFIXES)
                if new_energy and rng.random() < 0.15:
                    plate, color = (prefix + rng.choice('DF') + rng.choice(ALNUM)
                                    + '%04d' % rng.randint(0, 9999), '4')
                elif new_energy:
                    plate, color = prefix + '%05d' % rng.randint(0, 99999) + rng.choice('DF'), '6'
                else:
                    plate, color = prefix + ''.join(rng.choice(ALNUM) for _ in range(5)), '1'
                if plate not in plates_taken:
                    break
            plates_taken.add(plate)
            light = color == '4'
            vtype, _share, rated, tare_range = LIGHT_TYPE if light else rng.choices(
                TRUCK_TYPES, type_weights)[0]
            year = rng.randint(*YEARS[stage])
            while True:
                vin = self._vin(year)
                if vin not in vins_taken:
                    break
            vins_taken.add(vin)
            role = rng.choices(roles, role_weights)[0]
            cargo = None
            partner = None
            if role == 'supply':
                cargo = rng.choices([c for c, _w in SUPPLY_MIX], [w for _c, w in SUPPLY_MIX])[0]
            elif role == 'delivery':
                cargo = rng.choices([c for c, _w in DELIVERY_MIX],
                                    [w for _c, w in DELIVERY_MIX])[0]
            if cargo:
                partner = rng.choice(self.partners[cargo])
            fleet = rng.choice(self.hauliers)
            unknown = stage == 'X'
            vehicle = {
                'id': next_id + n, 'plate': plate, 'plate_color': color,
                'vin': None if unknown else vin, 'vehicle_type': vtype,
                'emission_stage': stage, 'fuel_type': fuel, 'use_nature': 'F',
                'networked': '1' if stage in ('6', 'D') else '0', 'fleet_name': fleet,
                'clean': codes.is_v_plus_or_new_energy(stage, fuel), 'role': role,
                'cargo': cargo, 'partner': partner, 'rated': rated,
                'tare': round(rng.uniform(*tare_range), 2),
                # visits per day relative to the fleet's mean: a few trucks shuttle from a
                # nearby mine several times a day, most come now and then
                'weight': min(rng.lognormvariate(0, 1.0), 6.0),
            }
            if cargo:
                vehicle['weighing'] = '\t'.join(copy_value(x) for x in (
                    vehicle['id'], plate, partner, self.cargo[cargo],
                    'in' if role == 'supply' else 'out'))
            vehicle['stage_fuel'] = '%s\t%s' % (copy_value(stage), copy_value(fuel))
            vehicle['snapshot'] = '\t'.join([copy_value(vehicle['id']), 'transport'] + [
                copy_value(vehicle[f]) for f in SNAPSHOT_COLUMNS[2:-1]] + [TF[vehicle['clean']]])
            self.vehicles.append(vehicle)
            reg = datetime.date(year, rng.randint(1, 12), rng.randint(1, 28))
            rows.append((
                vehicle['id'], 'transport', plate, plates.classify_plate(plate), color, None, plate,
                vehicle['vin'], vtype, reg.isoformat(), None,
                rng.choice(['解放 J6P', '东风 天龙 KL', '重汽 豪沃 TX', '陕汽 德龙 X3000',
                            '三一 江山 EV', '徐工 漢风 G7E', '福田 欧曼 EST']),
                None if new_energy else rng.choice(['WP12.460E62', 'CA6DM3-46E6', 'MC11.44-60']),
                rng.choice(['潍柴动力', '一汽解放', '中国重汽', '精进电动']),
                '%08d' % rng.randint(0, 99999999), fuel, stage, 'F', vehicle['networked'], fleet,
                None, partner, vehicle['clean'], rated,
                round(vehicle['tare'] - 1.0, 2), round(vehicle['tare'] + 1.0, 2),
                self.company_id, True, self.uid, stamp, self.uid, stamp))
        n_transport = len(rows)
        next_id += n_transport
        for n in range(args.in_plant):
            stage, fuel = rng.choice([('6', 'B'), ('6', 'B'), ('5', 'B'), ('D', 'C'), ('D', 'C'),
                                      ('4', 'B'), ('3', 'B')])
            year = rng.randint(*YEARS[stage])
            code = 'JD-CN-%03d' % (n + 1)
            vin = self._vin(year)
            rows.append((
                next_id + n, 'in_plant', None, None, None, code, code, vin,
                rng.choice(['H17', 'H11', 'Q11']), None, datetime.date(year, 3, 1).isoformat(),
                rng.choice(['厂内倒运车 ZZ3257', '渣罐运输车 TLZ-40', '铁水运输车 GT-120']),
                'WP10H' if fuel == 'B' else 'TZ220', '潍柴动力' if fuel == 'B' else '精进电动',
                '%08d' % rng.randint(0, 99999999), fuel, stage, None, '0', None, '冀东钢铁 运输部',
                None, codes.is_v_plus_or_new_energy(stage, fuel), None, None, None,
                self.company_id, True, self.uid, stamp, self.uid, stamp))
        copy_rows(cr, 'env_gate_vehicle', VEHICLE_COLUMNS, [''.join(map(copy_line, rows))])
        machines = []
        kinds = ['1', '1', '1', '2', '2', '4', '4', '4', '3', '5', '6']
        models = {'1': '柳工 ZL50CN', '2': '三一 SY215C', '3': '山推 SD16', '4': '合力 CPCD50',
                  '5': '同力 TL875', '6': '徐工 清扫车'}
        codes_taken = set()
        for n in range(args.machinery):
            kind = rng.choice(kinds)
            stage, fuel = rng.choice([('2', 'B'), ('3', 'B'), ('3', 'B'), ('4', 'B'), ('4', 'B'),
                                      ('4', 'B'), ('D', 'C'), ('D', 'C')])
            code = '130203%08d' % rng.randint(0, 99999999)
            while code in codes_taken:
                code = '130203%08d' % rng.randint(0, 99999999)
            codes_taken.add(code)
            machines.append((
                n + 1, code, kind, datetime.date(rng.randint(2012, 2025), rng.randint(1, 12),
                                                 1).isoformat(),
                None, stage, fuel, 'PIN%010d' % rng.randint(0, 9999999999),
                'EC%012d' % rng.randint(0, 999999999999), models[kind],
                'WD10G220E' if fuel == 'B' else 'TZ180', '潍柴动力' if fuel == 'B' else '精进电动',
                '%08d' % rng.randint(0, 99999999), '冀东钢铁 原料厂',
                codes.is_v_plus_or_new_energy(stage, fuel), self.company_id, True, self.uid, stamp,
                self.uid, stamp))
        copy_rows(cr, 'env_gate_machinery', MACHINERY_COLUMNS, [''.join(map(copy_line, machines))])
        self.by_plate = {v['plate']: v for v in self.vehicles}
        total = sum(v['weight'] for v in self.vehicles)
        cum, acc = [], 0.0
        for v in self.vehicles:
            acc += v['weight'] / total
            cum.append(acc)
        self.cum_weights = cum
        clock('vehicles: %d transport, %d in-plant; %d machines'
              % (n_transport, args.in_plant, len(machines)))

    def _vin(self, year):
        rng = self.rng
        body = 'LZZ' + ''.join(rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ0123456789') for _ in range(5))
        year_code = 'ABCDEFGHJKLMNPRSTVWXY123456789'[(year - 2010) % 30]
        tail = year_code + rng.choice('ABCDEFGH') + '%06d' % rng.randint(0, 999999)
        return body + vin_rules.vin_check_digit(body + '0' + tail) + tail

    # the traffic ----------------------------------------------------------------------

    def alert_days(self):
        """Heavy-pollution alert days (orange/red): winter runs of 2-4 days."""
        rng = random.Random(self.args.seed + 1)
        days = set()
        d = self.first_day
        while d <= self.today:
            month = int(_day(d)[5:7])
            if month in (11, 12, 1, 2) and rng.random() < 0.06:
                length = rng.randint(2, 4)
                days.update(range(d, d + length))
                d += length
            d += 1
        return days

    def visits_of(self, day, alert):
        """The day's truck visits, in arrival order: (vehicle or None, entry time, kind)."""
        rng = self.rng
        args = self.args
        date = _day(day)
        factor = MONTH_FACTOR[int(date[5:7])]
        if datetime.date.fromisoformat(date).weekday() == 6:
            factor *= 0.9
        n = int(round(args.trucks_per_day * factor * rng.uniform(0.94, 1.06)))
        day_start = day * 86400 - TZ_OFFSET                   # local midnight in UTC seconds
        hours = rng.choices(range(24), HOUR_WEIGHTS, k=n)
        picks = rng.choices(range(len(self.vehicles)), cum_weights=self.cum_weights, k=n)
        arrivals = sorted((day_start + h * 3600 + rng.randrange(3600), v)
                          for h, v in zip(hours, picks))
        visits = []
        busy = self.busy_until
        for when, v in arrivals:
            for _attempt in range(4):
                vehicle = self.vehicles[v]
                if busy.get(v, 0) + 1200 <= when:
                    break
                v = min(bisect.bisect_left(self.cum_weights, rng.random()),
                        len(self.vehicles) - 1)
            else:
                continue
            if alert and not vehicle['clean'] and rng.random() < 0.7:
                continue        # most trucks that may not enter on an alert day stay away
            stay = self._stay(vehicle['role'])
            busy[v] = when + stay
            visits.append((vehicle, when, stay))
        for _n in range(int(n * 0.015)):   # visitors and hauliers not in the register
            when = day_start + rng.randrange(6 * 3600, 20 * 3600)
            visits.append((None, when, self._stay('other')))
        visits.sort(key=lambda item: item[1])
        return visits

    def _stay(self, role):
        median, sigma = STAY_MINUTES[role]
        minutes = min(max(self.rng.lognormvariate(math.log(median), sigma), 8), 1000)
        return int(minutes * 60)

    def traffic(self, weighing_file, clock):
        """Passages in id (= chain, = time) order as COPY text chunks, one day a chunk.

        A day's rows are held back until the next day is done, so an entry can still learn
        the id of an exit after midnight. Weighbridge tickets go to `weighing_file`;
        corrections and the last month's device events are kept for later.
        """
        rng = self.rng
        now = self.now
        alerts = self.alert_days()
        self.busy_until = {}
        self.corrections = []
        self.events = []
        self.stats = collections.Counter()
        self.last_tare = {}
        self.weigh_years = collections.Counter()
        in_lanes = {'supply': ['E-IN1', 'E-IN2'] * 17 + ['W-IO'] * 6,
                    'delivery': ['N-IN'] * 9 + ['W-IO'],
                    'other': ['W-IO'] * 5 + ['N-IN'] * 3 + ['E-IN1', 'E-IN2']}
        out_lanes = {'supply': ['E-OUT1', 'E-OUT2'] * 17 + ['W-IO'] * 6,
                     'delivery': ['N-OUT'] * 9 + ['W-IO'],
                     'other': ['W-IO'] * 5 + ['N-OUT'] * 3 + ['E-OUT1', 'E-OUT2']}
        pending = collections.defaultdict(list)   # day -> passages (dicts) to place that day
        held = []                                 # rows of the previous day, not yet written
        self.next_id = self.cursor_next['env_gate_passage']
        self.next_weighing = self.cursor_next['env_gate_weighing']
        self.seq = 0
        self.prev = chain.GENESIS
        self.checked = 0
        started = time.perf_counter()
        for day in range(self.first_day, self.today + 1):
            alert = day in alerts
            for vehicle, when, stay in self.visits_of(day, alert):
                role = vehicle['role'] if vehicle else 'other'
                in_lane = rng.choice(in_lanes[role])
                out_lane = rng.choice(out_lanes[role])
                self._visit(vehicle, when, stay, in_lane, out_lane, alert, pending)
            for _n in range(rng.randint(0, 3)):        # false triggers: nobody there
                when = day * 86400 - TZ_OFFSET + rng.randrange(86400)
                pending[day].append(self._ghost(when, rng.choice(['E-IN1', 'E-IN2', 'N-IN'])))
            rows = self._place(pending.pop(day), now)
            yield ''.join(map(self._passage_line, held))
            held = rows
            if (day - self.first_day) % 30 == 29 or day == self.today:
                elapsed = time.perf_counter() - started
                print('    day %s: %d passages, %d tickets, %.0f passages/s'
                      % (_day(day), self.stats['passages'], self.stats['weighings'],
                         self.stats['passages'] / max(elapsed, 1e-9)), flush=True)
        yield ''.join(map(self._passage_line, held))

    def _visit(self, vehicle, when, stay, in_lane, out_lane, alert, pending):
        """The passages (as dicts, not yet numbered) and the ticket of one truck visit."""
        rng = self.rng
        now = self.now
        if when > now:
            return
        plate = vehicle['plate'] if vehicle else (
            rng.choice(PREFIXES) + ''.join(rng.choice(ALNUM) for _ in range(5)))
        color = vehicle['plate_color'] if vehicle else '1'
        entry = {'lane': in_lane, 'direction': '1', 'time': when, 'vehicle': vehicle,
                 'plate': plate, 'color': color, 'decision': '1', 'source': 'device'}
        r = rng.random()
        if vehicle is None:
            entry.update(decision='3', reason='未登记车辆，门卫核实后放行')
        elif alert and not vehicle['clean']:
            entry.update(decision='2', reason=ALERT_REASON)
        elif r < 0.0005:
            entry.update(decision='2', reason=rng.choice(BLACKLIST_REASONS))
        entry['read'] = self._read_quality()
        if vehicle is not None and rng.random() < 0.0003:
            entry.update(source='manual', decision='3', read='manual',
                         manual_reason_kind=rng.choice(['outage', 'paper']),
                         manual_reason=rng.choice(['道闸断电期间人工放行，事后补录',
                                                   '识别设备故障，纸质台账补录']))
        exit_ = None
        if entry['decision'] != '2' and rng.random() > 0.0005:        # exit camera missed
            exit_ = {'lane': out_lane, 'direction': '2', 'time': when + stay,
                     'vehicle': vehicle, 'plate': plate, 'color': color, 'decision': '1',
                     'source': 'device', 'read': self._read_quality(exit_read=True)}
        if rng.random() < 0.0005 and entry['decision'] != '2':
            entry = None                                               # entry camera missed
        if entry:
            entry['exit'] = exit_
            pending[(entry['time'] + TZ_OFFSET) // 86400].append(entry)
        if exit_ and exit_['time'] <= now:
            exit_['entry'] = entry
            pending[(exit_['time'] + TZ_OFFSET) // 86400].append(exit_)
        elif exit_:
            if entry:
                entry['exit'] = None                                   # still on site
        if vehicle and vehicle['cargo'] and (entry is None or entry['decision'] != '2'):
            ticket = {'vehicle': vehicle, 'entry': entry, 'lane': in_lane, 'out_lane': out_lane,
                      'first_time': when + rng.randint(180, 720),
                      'second_time': when + stay - rng.randint(180, 600)}
            if ticket['second_time'] <= ticket['first_time'] + 120:
                ticket['second_time'] = ticket['first_time'] + 300
            if exit_ is None:
                ticket['second_time'] = None
            if entry:
                entry['ticket'] = ticket
            else:
                self._pending_tickets.append(ticket)

    def _read_quality(self, exit_read=False):
        r = self.rng.random()
        if not exit_read and r < 0.0015:
            return 'unreadable'
        if not exit_read and r < 0.003:
            return 'bad'
        if r < 0.023:
            return 'low'
        return 'good'

    def _ghost(self, when, lane):
        return {'lane': lane, 'direction': '1', 'time': when, 'vehicle': None, 'plate': None,
                'color': None, 'decision': '4', 'source': 'device', 'read': 'unreadable',
                'ghost': True, 'exit': None}

    def _place(self, passages, now):
        """Number the day's passages in time order, seal them, make their tickets."""
        rng = self.rng
        passages.sort(key=lambda p: (p['time'], p['direction']))
        names = set()
        rows = []
        for p in passages:
            pid = self.next_id
            self.next_id += 1
            p['id'] = pid
            lane_id, gate_id, barrier, _direction = self.lanes[p['lane']]
            vehicle = p['vehicle']
            read = p['read']
            direction = p['direction']
            plate_key = p['plate']
            plate_raw = p['plate']
            confidence = round(rng.uniform(90.0, 99.5), 1)
            if read == 'unreadable':
                plate_key = plate_raw = None
                confidence = round(rng.uniform(10.0, 40.0), 1)
                p['decision'] = '4'
            elif read == 'bad':
                plate_key = plate_raw = plate_key[:-1]           # a character lost
                confidence = round(rng.uniform(60.0, 84.0), 1)
            elif read == 'low':
                confidence = round(rng.uniform(55.0, 84.9), 1)
            elif read == 'manual':
                confidence = None
            matched = vehicle if (plate_key and vehicle and plate_key == vehicle['plate']) else None
            name = '%s%s%s' % (barrier, 'A' if direction == '1' else 'B', serial_stamp(p['time']))
            while name in names:
                base, _sep, n = name.partition('-')
                name = '%s-%d' % (base, int(n or 1) + 1)
            names.add(name)
            entry_id = None
            flag_no_entry = False
            if direction == '2':
                entry = p.get('entry')
                # an exit closes the entry only when that entry was read with this plate
                if entry and entry.get('plate_key') == plate_key and plate_key:
                    entry_id = entry['id']
                    # the entry's row is still held back (stays are under a day)
                    entry['row'].update(exit_id=pid, pair_state='left', write_date=ts(p['time'] + 1))
                else:
                    flag_no_entry = True
            flags = {
                'flag_unregistered': bool(plate_key) and not matched,
                'flag_low_confidence': confidence is not None and confidence < 85.0,
                'flag_no_entry': flag_no_entry,
                'flag_unreadable': not plate_key,
                'flag_bad_plate': bool(plate_key) and not plates.classify_plate(plate_key),
            }
            p['plate_key'] = plate_key
            decision = p['decision']
            t = p['time']
            stamp = ts(t + 1)
            row = {
                'id': pid, 'name': name, 'lane_id': lane_id, 'gate_id': gate_id,
                'direction': direction, 'pass_time': ts(t), 'pass_date': local_date(t),
                'plate_raw': plate_raw, 'plate_key': plate_key,
                'plate_color': (p['color'] if plate_key else None),
                'confidence': confidence, 'source': p['source'], 'decision': decision,
                'reason': p.get('reason'), 'lift_mode': {'1': '2', '3': '1'}.get(decision),
                'manual_reason_kind': p.get('manual_reason_kind'),
                'manual_reason': p.get('manual_reason'),
                'manual_user_id': self.guard_uid if p['source'] == 'manual' else None,
                'picture_digests': None, 'entry_id': entry_id,
                'reviewed': False, 'voided': False, 'corrected_plate': None,
                'cargo_id': None, 'quantity': None, 'company_id': self.company_id,
                'create_uid': self.uid, 'create_date': stamp, 'write_uid': self.uid,
                'write_date': stamp, 'exit_id': None,
            }
            row.update(flags)
            row['snapshot'] = matched['snapshot'] if matched else NO_SNAPSHOT
            # chain: what the ORM would read back (hj1321 rules, floats rounded already)
            self.seq += 1
            digest = seal_passage(self.prev, row)
            if self.checked < 200 or pid % 997 == 0:
                payload = {f: row[f] for f in PASSAGE_CHAIN}
                if payload['confidence'] is None:
                    payload['confidence'] = 0.0
                assert digest == chain.chain_hash(self.prev, payload), 'fast seal differs'
                self.checked += 1
            row.update(chain_seq=self.seq, chain_prev=self.prev, chain_hash=digest)
            self.prev = digest
            flagged = any(flags.values())
            if flagged and p['source'] == 'device':
                self._review(p, row, matched)
            row['needs_review'] = flagged and not row['reviewed'] and not row['voided']
            if direction == '1':
                row['pair_state'] = 'on_site'
            else:
                row['pair_state'] = 'paired' if entry_id else 'unpaired'
            p['row'] = row
            ticket = p.get('ticket')
            if ticket:
                self._ticket(ticket, row)
            if t >= self.event_since:
                self._plate_events(p, row)
            rows.append(row)
            self.stats['passages'] += 1
            self.stats['flagged'] += flagged
        for ticket in self._pending_tickets:
            self._ticket(ticket, None)
        self._pending_tickets = []
        return rows


    def _review(self, p, row, matched):
        """A guard confirms or corrects a flagged read, hours later, unless that is still
        in the future: then it waits in the review list."""
        rng = self.rng
        when = p['time'] + int(min(rng.lognormvariate(math.log(3 * 3600), 1.0), 60 * 3600))
        if when > self.now:
            return
        vehicle = p['vehicle']
        if p.get('ghost'):
            kind, reason = 'void', '误触发：无车辆通过（行人/摄像头误报）'
        elif row['flag_unreadable'] or row['flag_bad_plate']:
            kind, reason = 'plate', '车牌污损/识别缺位，按监控录像核对更正'
        elif row['flag_no_entry']:
            kind, reason = 'confirm', '进厂记录缺失（进厂识别异常），出厂确认'
        elif row['flag_unregistered']:
            kind, reason = 'confirm', '临时车辆，门卫核实证件后放行'
        else:
            kind, reason = 'confirm', '低置信度识别，人工核对车牌无误'
        new_plate = new_color = None
        if kind == 'plate' and vehicle:
            new_plate, new_color = vehicle['plate'], vehicle['plate_color']
            row['corrected_plate'] = new_plate
            row['snapshot'] = vehicle['snapshot']
            row['reviewed'] = True
        elif kind == 'plate':
            kind, reason = 'confirm', '车牌无法识别，门卫登记后放行'
            row['reviewed'] = True
        elif kind == 'void':
            row['voided'] = True
        else:
            row['reviewed'] = True
        row['write_date'] = ts(when)
        self.corrections.append((when, row['id'], kind, new_plate, new_color, reason,
                                 row['plate_key']))

    def _ticket(self, ticket, entry_row):
        """A weighbridge ticket: gross on entry for a supplier, tare on entry for a delivery."""
        rng = self.rng
        vehicle = ticket['vehicle']
        cargo = vehicle['cargo']
        first_time, second_time = ticket['first_time'], ticket['second_time']
        if first_time > self.now:
            return
        if second_time is not None and second_time > self.now:
            second_time = None
        tare = round(vehicle['tare'] + rng.uniform(-0.35, 0.35), 2)
        load = round(vehicle['rated'] * rng.uniform(0.82, 1.0), 2)
        gross = round(tare + load, 2)
        inbound = vehicle['role'] == 'supply'
        first, second = (gross, tare) if inbound else (tare, gross)
        done = second_time is not None
        year_day = local_date(first_time)
        self.weigh_years[year_day[:4]] += 1
        name = 'WB%s%s%s%04d' % (year_day[2:4], year_day[5:7], year_day[8:10],
                                 self.weigh_years[year_day[:4]])
        wid = self.next_weighing
        self.next_weighing += 1
        stamp = ts(first_time + 1)
        lane_id = self.lanes[ticket['lane']][0]
        net = round(gross - tare, 3) if done else 0.0
        if done:
            second_stamp = ts(second_time)
            tail = '%.3f\t%s\tdevice\t%.3f\t%.3f\t%.3f\tdone' % (
                second, second_stamp, gross, tare, net)
        else:
            second_stamp = stamp
            tail = '\\N\t\\N\t\\N\t0.000\t0.000\t0.000\tfirst'
        self.weighing_file.write('%d\t%s\t%d\t%d\t%s\t%.3f\t%s\tdevice\t%s\t%d\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n' % (
            wid, name, self.company_id, lane_id, vehicle['weighing'], first, ts(first_time),
            tail, self.guard_uid, nul(entry_row['id'] if entry_row else None),
            vehicle['stage_fuel'], year_day, self.uid, stamp, self.uid, second_stamp))
        self.stats['weighings'] += 1
        if done:
            self.last_tare[vehicle['id']] = (tare, ts(second_time))
        if entry_row is not None:
            entry_row['cargo_id'] = self.cargo[cargo]
            entry_row['quantity'] = '%.1f' % net if done else '0.0'
        if first_time >= self.event_since:
            self._weight_event(ticket['lane'], first_time, vehicle['plate'], first)
        if done and second_time >= self.event_since:
            self._weight_event(ticket['out_lane'], second_time, vehicle['plate'], second)

    def _passage_line(self, r):
        # (a refused or voided entry never waits for an exit: env_gate_passage.entry_pair_state)
        return ('%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s'
                '\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s'
                '\t%d\t%s\t%d\t%s\t%s\n') % (
            r['id'], r['name'], r['lane_id'], r['gate_id'], r['direction'], r['pass_time'],
            r['pass_date'], nul(r['plate_raw']), nul(r['plate_key']), nul(r['plate_color']),
            nul(r['confidence']), r['source'], r['decision'], nul(r['reason']),
            nul(r['lift_mode']), nul(r['manual_reason_kind']), nul(r['manual_reason']),
            nul(r['manual_user_id']), TF[r['flag_unregistered']], TF[r['flag_low_confidence']],
            TF[r['flag_no_entry']], TF[r['flag_unreadable']], TF[r['flag_bad_plate']],
            TF[r['reviewed']], TF[r['needs_review']], TF[r['voided']], nul(r['corrected_plate']),
            nul(r['entry_id']), nul(r['exit_id']), pair_state(r), nul(r['cargo_id']),
            nul(r['quantity']), r['company_id'], r['chain_seq'], r['chain_prev'],
            r['chain_hash'], r['create_uid'], r['create_date'], r['write_uid'],
            r['write_date'], r['snapshot'])

    # device events of the last month -----------------------------------------------

    def _plate_events(self, p, row):
        if p['source'] != 'device':
            return
        lane_code = p['lane']
        lane_direction = self.lanes[lane_code][3]
        t = p['time']
        raw = {'type': 'plate', 'lane': lane_code, 'time': iso_local(t),
               'decision': DECISION_WORD[row['decision']]}
        if row['plate_raw']:
            raw['plate'] = row['plate_raw']
            raw['plate_color'] = row['plate_color']
        else:
            raw['unreadable'] = True
        if row['confidence'] is not None:
            raw['confidence'] = row['confidence']
        if lane_direction == 'both':
            raw['direction'] = 'in' if row['direction'] == '1' else 'out'
        if row['reason']:
            raw['reason'] = row['reason']
        read = (row['id'], row['direction'], row['plate_raw'], row['plate_key'],
                row['plate_color'], row['confidence'])
        self.events.append((t, lane_code, 'plate', raw, read, 'passage'))
        if self.rng.random() < 0.05:      # the camera fires twice as the truck stops
            again = dict(raw, time=iso_local(t + 12))
            self.events.append((t + 12, lane_code, 'plate', again, read, 'repeat'))

    def _weight_event(self, lane_code, t, plate, weight):
        raw = {'type': 'weight', 'lane': lane_code, 'time': iso_local(t), 'plate': plate,
               'weight': weight, 'unit': 't'}
        self.events.append((t, lane_code, 'weight', raw, None, 'weighing'))

    def heartbeats(self):
        step = self.args.heartbeat_minutes * 60
        if step <= 0:
            return
        start = self.event_since - self.event_since % step + step
        for code in self.lanes:
            for t in range(start, self.now, step):
                self.events.append((t, code, 'heartbeat', {'type': 'heartbeat', 'lane': code,
                                                           'time': iso_local(t)}, None, 'stored'))

    def event_lines(self, first_id):
        """The month's events in arrival order, sealed in that order."""
        rng = random.Random(self.args.seed + 2)
        self.events.sort(key=lambda e: (e[0], e[1]))
        counters = collections.Counter()
        prev, seq = chain.GENESIS, 0
        chunk = []
        for n, (t, lane_code, kind, raw, row, outcome) in enumerate(self.events):
            lane_id, gate_id, _barrier, lane_direction = self.lanes[lane_code]
            counters[lane_code] += 1
            sender = '%s-%09d' % (lane_code, counters[lane_code])
            raw = dict(raw, event_id=sender)
            received = t + rng.randint(0, 3)
            if kind == 'plate':
                _pid, direction, plate_raw, plate_key, color, confidence = row
            else:
                direction = lane_direction if lane_direction in ('1', '2') else None
                plate_raw = plate_key = raw.get('plate')
                color, confidence = None, None
            values = {
                'lane_id': lane_id, 'sender_event_id': sender, 'event_type': kind,
                'event_time': ts(t), 'received_at': ts(received), 'plate_raw': plate_raw,
                'plate_color': color, 'confidence': confidence, 'direction': direction,
                'payload': json.dumps(raw, ensure_ascii=False),
            }
            payload = dict(values)
            if payload['confidence'] is None:
                payload['confidence'] = 0.0
            seq += 1
            digest = seal(prev, payload)
            if n < 200:
                assert digest == chain.chain_hash(prev, payload), 'fast seal differs'
            stamp = ts(received)
            chunk.append(copy_line((
                first_id + n, lane_id, gate_id, sender, kind, values['event_time'], stamp,
                plate_raw, plate_key, color, confidence, direction, values['payload'],
                row[0] if row else None, outcome, self.company_id, seq, prev, digest,
                self.uid, stamp, self.uid, stamp)))
            prev = digest
            if len(chunk) >= 5000:
                yield ''.join(chunk)
                chunk = []
        yield ''.join(chunk)

    def correction_lines(self, first_id):
        self.corrections.sort()
        prev, seq = chain.GENESIS, 0
        chunk = []
        for n, (when, passage_id, kind, new_plate, new_color, reason, old_plate) in \
                enumerate(self.corrections):
            stamp = ts(when)
            payload = {'passage_id': passage_id, 'kind': kind, 'new_plate': new_plate,
                       'new_plate_color': new_color, 'new_cargo_id': None, 'new_quantity': 0.0,
                       'reason': reason, 'user_id': self.guard_uid, 'create_date': stamp}
            seq += 1
            digest = seal(prev, payload)
            if n < 200:
                assert digest == chain.chain_hash(prev, payload), 'fast seal differs'
            chunk.append(copy_line((
                first_id + n, passage_id, kind, new_plate, new_color, reason, self.guard_uid,
                old_plate, self.company_id, seq, prev, digest, self.guard_uid, stamp,
                self.guard_uid, stamp)))
            prev = digest
            if len(chunk) >= 5000:
                yield ''.join(chunk)
                chunk = []
        yield ''.join(chunk)

    def volume_lines(self):
        rng = random.Random(self.args.seed + 3)
        lines = []
        n = 0
        for day in range(self.first_day, self.today + 1):
            date = _day(day)
            for mode, cargo, low, high, ref in (
                    ('rail', 'IO', 2600, 3400, '迁安北站轨道衡'),
                    ('belt', 'CK', 1200, 1600, '旭阳焦化皮带秤')):
                n += 1
                lines.append(copy_line((
                    n, date, mode, self.cargo[cargo], 'in', '%.3f' % rng.uniform(low, high),
                    '%s %s' % (ref, date.replace('-', '')), 'import', self.company_id, self.uid,
                    ts(day * 86400), self.uid, ts(day * 86400))))
        return ''.join(lines), n


# ---- main -------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--db', default='env_gate_scale')
    parser.add_argument('-c', '--config', default=os.path.join(ROOT, '.state', 'odoo.conf'))
    parser.add_argument('--days', type=int, default=730)
    parser.add_argument('--trucks-per-day', type=int, default=3000)
    parser.add_argument('--vehicles', type=int, default=6000)
    parser.add_argument('--in-plant', type=int, default=150)
    parser.add_argument('--machinery', type=int, default=220)
    parser.add_argument('--event-days', type=int, default=31,
                        help='days of raw device events to keep (default 31)')
    parser.add_argument('--heartbeat-minutes', type=int, default=5)
    parser.add_argument('--seed', type=int, default=SEED)
    parser.add_argument('--now', help='pretend it is this local time (YYYY-MM-DD HH:MM)')
    parser.add_argument('--keep', action='store_true',
                        help='reuse the database as it is (env_gate_ledger installed, made by '
                             'this script) instead of dropping and re-creating it; its '
                             'generated ledgers are emptied first')
    parser.add_argument('--http-port', type=int, default=18169,
                        help='port for the install run (never served: --stop-after-init)')
    args = parser.parse_args()
    check_name(args.db)
    if not os.path.exists(args.config):
        sys.exit('%s is missing: run "source scripts/lib.sh && setup_all" first' % args.config)

    clock = Clock()
    import odoo
    from odoo import api
    odoo.tools.config.parse_config(['-c', args.config, '-d', args.db, '--log-level=warn'])
    exists = database_exists(odoo, args.db)
    if exists and not is_bench_database(odoo, args.db):
        sys.exit('refusing to touch %s: it exists and was not made by bench/generate.py '
                 '(no %s parameter); drop it yourself or choose another --db'
                 % (args.db, MARKER))
    if not args.keep or not exists:
        if exists:
            odoo.service.db.exp_drop(args.db)
            clock('dropped the previous %s' % args.db)
        install(args, clock)
        with odoo.sql_db.db_connect(args.db).cursor() as cr:
            cr.execute("INSERT INTO ir_config_parameter (key, value) VALUES (%s, %s)",
                       (MARKER, 'bench/generate.py'))
    plant = Plant(args)
    registry = odoo.registry(args.db)
    with api.Environment.manage(), registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {
            'tz': 'Asia/Shanghai', 'tracking_disable': True, 'mail_create_nolog': True,
            'mail_notrack': True, 'no_reset_password': True})
        if args.keep and exists:
            # partners, products and users stay and are found again by their codes
            cr.execute('TRUNCATE env_gate_passage, env_gate_event, env_gate_weighing, '
                       'env_gate_correction, env_gate_vehicle, env_gate_machinery, '
                       'env_gate_transport_volume, env_gate_lane, env_gate_gate, '
                       'env_gate_cargo RESTART IDENTITY CASCADE')
            env['ir.sequence.date_range'].search([
                ('sequence_id.code', '=', 'env.gate.weighing')]).unlink()
            clock('emptied the generated ledgers (--keep)')
        plant.make_registers(env, clock)
        cr.commit()
        # the bulk load: no trigger-based foreign-key checks (the rows are consistent by
        # construction), secondary indexes rebuilt once at the end
        cr.execute('SET LOCAL session_replication_role = replica')
        cr.execute("SET LOCAL maintenance_work_mem = '512MB'")
        big = ('env_gate_passage', 'env_gate_weighing', 'env_gate_event', 'env_gate_correction')
        dropped = []
        for table in big:
            for name, definition in secondary_indexes(cr, table):
                cr.execute('DROP INDEX "%s"' % name)
                dropped.append((table, name, definition))
        plant.make_vehicles(cr, clock)
        plant.cursor_next = {}
        for table in ('env_gate_passage', 'env_gate_weighing', 'env_gate_event',
                      'env_gate_correction'):
            cr.execute("SELECT nextval('%s_id_seq')" % table)
            plant.cursor_next[table] = cr.fetchone()[0]
        plant._pending_tickets = []
        with tempfile.TemporaryFile('w+', encoding='utf-8', dir=os.path.join(ROOT, '.state'),
                                    prefix='bench-weighings-') as weighing_file:
            plant.weighing_file = weighing_file
            print('  %d days from %s to %s, about %d trucks a day'
                  % (args.days, _day(plant.first_day), _day(plant.today), args.trucks_per_day),
                  flush=True)
            copy_rows(cr, 'env_gate_passage', PASSAGE_COLUMNS, plant.traffic(weighing_file, clock))
            clock('passages: %d (COPY while generating)' % plant.stats['passages'])
            weighing_file.seek(0, io.SEEK_END)
            size = weighing_file.tell()
            copy_file(cr, 'env_gate_weighing', WEIGHING_COLUMNS, weighing_file)
            clock('weighbridge tickets: %d (%.0f MB of COPY text)'
                  % (plant.stats['weighings'], size / 1e6))
        copy_rows(cr, 'env_gate_correction', CORRECTION_COLUMNS,
                  plant.correction_lines(plant.cursor_next['env_gate_correction']))
        clock('corrections: %d' % len(plant.corrections))
        plant.heartbeats()
        copy_rows(cr, 'env_gate_event', EVENT_COLUMNS,
                  plant.event_lines(plant.cursor_next['env_gate_event']))
        clock('device events of the last %d days: %d' % (args.event_days, len(plant.events)))
        text, n_volumes = plant.volume_lines()
        copy_rows(cr, 'env_gate_transport_volume',
                  ('id', 'date', 'mode', 'cargo_id', 'direction', 'tonnage', 'reference',
                   'source', 'company_id', 'create_uid', 'create_date', 'write_uid',
                   'write_date'), [text])
        finish(cr, env, plant, dropped, n_volumes, clock)
        cr.commit()
    vacuum(odoo, args.db, clock)
    report(odoo, args.db, clock)


def finish(cr, env, plant, dropped, n_volumes, clock):
    for table, name, definition in dropped:
        started = time.perf_counter()
        cr.execute(definition)
        print('    index %-45s %.1f s' % (name, time.perf_counter() - started), flush=True)
    clock('rebuilt %d secondary indexes' % len(dropped))
    for table in ('env_gate_passage', 'env_gate_weighing', 'env_gate_event',
                  'env_gate_correction', 'env_gate_vehicle', 'env_gate_machinery',
                  'env_gate_transport_volume'):
        cr.execute("SELECT setval('%s_id_seq', GREATEST((SELECT max(id) FROM %s), 1))"
                   % (table, table))
    # vehicles remember their last device tare, as _complete() keeps it
    from psycopg2.extras import execute_values
    execute_values(cr._obj, """
        UPDATE env_gate_vehicle v SET stored_tare = d.tare::numeric,
               stored_tare_date = d.tare_date::timestamp
          FROM (VALUES %s) AS d(id, tare, tare_date) WHERE v.id = d.id""",
                   [(vid, tare, when) for vid, (tare, when) in plant.last_tare.items()],
                   page_size=2000)
    cr.execute('UPDATE env_gate_lane SET last_event_time = %s', (ts(plant.now),))
    # models may number their rows for the gate boxes' cache (env.gate.sync.mixin): its
    # init() numbers the rows that have no version yet, as after an upgrade
    for model in ('env.gate.vehicle', 'env.gate.lane'):
        if 'sync_version' in env[model]._fields:
            env[model].init()
    # the ticket sequence goes on from the last generated number of each year
    sequence = env['ir.sequence'].search([('code', '=', 'env.gate.weighing')], limit=1)
    for year, count in sorted(plant.weigh_years.items()):
        env['ir.sequence.date_range'].create({
            'sequence_id': sequence.id, 'date_from': '%s-01-01' % year,
            'date_to': '%s-12-31' % year, 'number_next': count + 1,
            'number_next_actual': count + 1})
    clock('id sequences, ticket sequence (%s), stored tares of %d vehicles, %d volumes'
          % (', '.join('%s: %d' % kv for kv in sorted(plant.weigh_years.items())),
             len(plant.last_tare), n_volumes))


def vacuum(odoo, db, clock):
    """VACUUM ANALYZE: statistics for the planner, and the visibility map that index-only
    scans need (autovacuum would get there on its own a while after a real load)."""
    with odoo.sql_db.db_connect(db).cursor() as cr:
        cr.autocommit(True)
        for table in ('env_gate_passage', 'env_gate_weighing', 'env_gate_event',
                      'env_gate_correction', 'env_gate_vehicle', 'env_gate_machinery',
                      'env_gate_transport_volume'):
            cr.execute('VACUUM ANALYZE %s' % table)
    clock('VACUUM ANALYZE')


def report(odoo, db, clock):
    with odoo.sql_db.db_connect(db).cursor() as cr:
        cr.execute("""
            SELECT c.relname, c.reltuples::bigint, pg_size_pretty(pg_table_size(c.oid)),
                   pg_size_pretty(pg_indexes_size(c.oid))
              FROM pg_class c WHERE c.relname IN ('env_gate_passage', 'env_gate_weighing',
                   'env_gate_event', 'env_gate_correction', 'env_gate_vehicle')
             ORDER BY pg_total_relation_size(c.oid) DESC""")
        for name, rows, table, indexes in cr.fetchall():
            print('    %-22s %10d rows  table %8s  indexes %8s' % (name, rows, table, indexes))
        cr.execute('SELECT pg_size_pretty(pg_database_size(%s))', (db,))
        size = cr.fetchone()[0]
    clock('done: database %s is %s' % (db, size))


if __name__ == '__main__':
    main()
