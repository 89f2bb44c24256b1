"""The gate box's local register cache, synced from the ERP and kept on disk.

The box decides from this cache alone (gatebox.decision), so the barrier keeps working
when the ERP is unreachable. It holds the vehicle register summary, the blacklist, the
emergency strategies and the lane policies; `Syncer` keeps it up to date by version.

Sync wire format (the ERP implements the endpoint)
==================================================

Request::

    GET /env_gate/api/v1/sync?since=<version>
    Authorization: Bearer <lane token>
    Accept: application/json

`since` is the version the box holds (0: it holds nothing, send everything).

Reply 200, application/json (UTF-8)::

    {
      "version": 57,
      "since": 41,
      "full": false,
      "server_time": "2026-11-28 00:00:05",
      "vehicles": [
        {"id": 12, "plate_key": "冀B12345", "plate_color": "1", "stage": "5", "fuel": "B",
         "category": "transport", "vehicle_type": "Q11", "owner": "某某物流",
         "flags": ["hazardous"], "deleted": false},
        {"id": 13, "deleted": true}
      ],
      "blacklist": [
        {"id": 3, "plate_key": "冀B54321", "source": "石家庄市生态环境局",
         "reason": "超标排放", "valid_from": "2026-11-01 00:00:00", "valid_to": null,
         "deleted": false}
      ],
      "strategies": [
        {"id": 7, "name": "2026-11 橙色预警", "level": "orange",
         "date_start": "2026-11-27 16:00:00", "date_end": "2026-11-30 16:00:00",
         "rules": [{"max_stage": "4", "fuels": null, "vehicle_classes": ["H1", "Q1"],
                    "categories": null, "action": "refuse"}],
         "exempt_flags": ["special", "hazardous"], "exempt_plates": ["冀B11111"],
         "deleted": false}
      ],
      "lanes": [
        {"code": "E-IN", "direction": "in", "unregistered": "hold",
         "low_confidence": "hold", "min_confidence": 90, "no_plate": "hold",
         "blacklist_exit": "hold", "require_clean": false}
      ]
    }

Fields and rules:

* version (int >= 0, required): the ERP's change counter after the rows of this reply;
  the box sends it back as `since` next time.
* full (bool, default false): true = a complete snapshot that replaces everything the box
  holds (missing lists mean "none"). The ERP answers full when since is 0, when it cannot
  produce the changes since that version (tombstones purged, database restored), or
  whenever it prefers. A full reply is applied even with a version lower than the box's
  (a restored ERP database is still the authority); the result says `went_back`.
* since (int, optional but recommended on incremental replies): the version the changes
  start from. An incremental reply whose since differs from the box's version is refused
  (`sync.gap`: changes would be lost) and so is an incremental reply with a version
  below the box's (`sync.stale`); the Syncer then asks for a full snapshot (since=0).
* server_time (optional): the ERP's clock, for the status page's clock-skew figure.
* Times: UTC "YYYY-MM-DD HH:MM:SS" (Odoo's Datetime string) or ISO 8601 with an offset
  ("2026-11-28T08:00:00+08:00", "...Z"). Dates alone are refused (which midnight?): the
  ERP turns a date field into a datetime itself. null = open bound.
* vehicles, blacklist, strategies: rows keyed by "id" (the ERP record id, int). On an
  incremental reply a row replaces the row with the same id, and {"id": N,
  "deleted": true} (or "active": false) removes it; rows not mentioned stay. A missing
  list or [] means no change. A plate change is just the row with its new plate_key (the
  box drops the old key of that id). A vehicle without plate_key is dropped (a camera
  cannot match it).
* vehicles: plate_key (normalised again with hj1321 normalize_plate), plate_color,
  stage (emission_stage code), fuel (fuel_type code), vehicle_type (public-security code),
  category ("transport" / "in_plant"), owner, flags (list of strings: "special",
  "hazardous", "livelihood"...). Unknown stage/fuel/type may be null: the decision treats
  them as unknown (hold when a rule needs them), never as clean.
* blacklist: plate_key, source, reason, valid_from / valid_to (from inclusive, to
  exclusive). Expired rows may stay; they do not count.
* strategies: level "yellow" / "orange" / "red" (or the alert_level codes "1".."3"),
  date_start inclusive / date_end exclusive, rules (null: decision.DEFAULT_RULES of the
  level; [] stops nothing). A rule: max_stage "0".."6" or null (every stage), fuels /
  vehicle_classes (type-code prefixes) / categories as lists (null or [] = any), action
  "refuse" (default) or "hold". exempt_flags (null: ["special", "hazardous"]),
  exempt_plates.
* lanes: keyed by "code"; each row replaces that lane's policy, {"code": ..., "deleted":
  true} removes it; a lane the box does not know gets decision.DEFAULT_LANE. Fields and
  defaults as decision.LanePolicy: direction in/out/both, unregistered / low_confidence /
  no_plate pass/hold/refuse, min_confidence 0-100, blacklist_exit hold/pass,
  require_clean bool.

Any malformed field refuses the whole reply (`SyncError` 'sync.bad_payload' naming the
list, row and field); the cache is left as it was.

On disk
=======
One JSON file (`path`), written atomically: temp file, fsync, the current good file
renamed to `path + '.prev'`, the temp file renamed over `path`, directory fsync. Its first
line is a header {"format", "format_version", "version", "saved_at", "length", "crc32"};
the rest is the body: each vehicle as an array in the order of its "vehicle_fields" list
(arrays parse about twice as fast as objects), the other lists as wire rows. Loading checks length and CRC-32; a corrupted
or partial file is renamed to `path + '.corrupt'`, the error is kept in `load_error`, and
`path + '.prev'` is loaded instead; with neither the cache starts empty at version 0 and
the Syncer fetches a full snapshot. Loading never raises for a bad file.

Why JSON and not SQLite (`bench/gate_decision.py --compare-storage`: 2-core build
machine shared with other work, Python 3.7, 100,000 vehicles, medians of 5-9 runs):
loading the vehicles into the lookup dicts took 0.37-0.46 s from this file and 0.37-0.44 s
from an indexed SQLite table, a tie within the noise (earlier layouts: JSON objects per
row 0.93 s; namedtuple rows 0.43 s JSON / 0.67 s SQLite). With load time even, JSON wins
on integrity: the CRC-32 catches any flipped byte, where SQLite (no page checksums in the
standard library) would silently read a flipped stage '4' as '5' and let a banned truck
in; and the whole-file atomic replace keeps a previous good file for free. The price:
every change rewrites the whole file (8.4 MB, about 0.2 s in the syncer thread, encoded
in chunks of 2,000 rows so the decision thread is never blocked for long); a reply that
changes nothing writes nothing. Should register churn make that write volume a problem
for the box's flash, SQLite with per-row updates is the alternative.

Threads: lookups read one immutable snapshot (`_State`) without a lock; `apply` builds a
new snapshot (copy-on-write), writes it, then swaps it in, under a lock.
"""
import collections
import datetime
import json
import operator
import os
import re
import threading
import zlib

from hj1321 import plates
from hj1321.errors import BilingualError, Hj1321Error

from . import decision
from .decision import BlacklistEntry, LanePolicy, Rule, Strategy, Vehicle
from .outbox import fsync_dir

FORMAT = 'env_gate_hw.cache'
FORMAT_VERSION = 1
SYNC_PATH = '/env_gate/api/v1/sync'

# order of Vehicle fields in the file's column arrays (the namedtuple's own order)
VEHICLE_FIELDS = Vehicle._fields
_FLAGS_INDEX = VEHICLE_FIELDS.index('flags')
_ID_INDEX = VEHICLE_FIELDS.index('id')
_KEY_INDEX = VEHICLE_FIELDS.index('plate_key')
_as_vehicle = tuple.__new__        # _as_vehicle(Vehicle, row): a stored row as a Vehicle
_CHUNK = 2000                      # vehicles per json.dumps call when writing

ApplyResult = collections.namedtuple('ApplyResult', (
    'version previous_version full written went_back changes server_time'))
ApplyResult.__doc__ = """What `Cache.apply` did.

written: the file was rewritten (False when the reply changed nothing). went_back: a full
snapshot with a version below the previous one was accepted. changes: {'vehicles':
(upserted, deleted), 'blacklist': (...), 'strategies': (...), 'lanes': (...)}.
server_time: the ERP's clock (naive UTC) or None."""


class CacheError(BilingualError):
    """Base of the cache's errors: a stable `code` and messages in both languages."""


class SyncError(CacheError):
    """A sync reply the cache refused ('sync.bad_payload', 'sync.gap', 'sync.stale'), a
    failed write ('sync.write_failed'), a failed fetch ('sync.fetch_failed') or an
    unexpected failure in Syncer.run ('sync.internal')."""


class CacheFileError(CacheError):
    """A cache file that cannot be used ('cache.unreadable', 'cache.format',
    'cache.corrupt')."""


# ---------------------------------------------------------------------------------------
# Times
# ---------------------------------------------------------------------------------------

_TIME = re.compile(
    r'\A([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})'
    r'(?:\.([0-9]{1,6}))?(Z|[+-][0-9]{2}:?[0-9]{2})?\Z', re.I)


def parse_time(value):
    """Naive UTC datetime of a wire time, None for null; raises ValueError otherwise."""
    if value is None:
        return None
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError('expected "YYYY-MM-DD HH:MM:SS" (UTC) or ISO 8601 with an offset')
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    when = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute),
                             int(second), int((fraction or '0').ljust(6, '0')))
    if zone and zone.upper() != 'Z':
        digits = zone[1:].replace(':', '')
        offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        when = when - offset if zone[0] == '+' else when + offset
    return when


def format_time(value):
    """The wire form of a naive UTC datetime (None for None)."""
    if value is None:
        return None
    return value.isoformat(' ')


# ---------------------------------------------------------------------------------------
# Wire rows -> decision types (validation)
# ---------------------------------------------------------------------------------------

def _bad(kind, index, field, zh, en, value=None):
    where = '%s[%s]' % (kind, index)
    return SyncError('sync.bad_payload', '同步数据 %s.%s %s' % (where, field, zh),
                     'sync reply %s.%s %s' % (where, field, en),
                     list=kind, index=index, field=field, value=value)


def _row_id(row, kind, index):
    if not isinstance(row, dict):
        raise _bad(kind, index, '', '须为对象', 'must be an object')
    value = row.get('id')
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(kind, index, 'id', '须为整数', 'must be an integer', value)
    return value


def _removed(row):
    return row.get('deleted') is True or row.get('active') is False


def _opt_str(row, field, kind, index, default=None):
    value = row.get(field)
    if value is None or value is False:         # Odoo sends False for an empty field
        return default
    if not isinstance(value, str):
        raise _bad(kind, index, field, '须为字符串或 null', 'must be a string or null', value)
    return value or default


def _str_list(row, field, kind, index):
    """A list of strings, or None for null / [] / absent."""
    value = row.get(field)
    if value is None or value is False or value == []:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(kind, index, field, '须为字符串列表或 null', 'must be a list of strings or null',
                   value)
    return value


def _time(row, field, kind, index):
    value = row.get(field)
    if value is False:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise _bad(kind, index, field, '须为 "YYYY-MM-DD HH:MM:SS"（UTC）或带时区的 ISO 8601 时间',
                   str(exc), value)


def _key(row, field, kind, index, required):
    value = row.get(field)
    if value is None or value is False or value == '':
        if required:
            raise _bad(kind, index, field, '缺失', 'is missing')
        return ''
    if not isinstance(value, str):
        raise _bad(kind, index, field, '须为字符串', 'must be a string', value)
    try:
        return plates.normalize_plate(value)
    except Hj1321Error:
        if required:
            raise _bad(kind, index, field, '为空', 'is empty', value)
        return ''


class _Interner(object):
    """Shares one sorted flag tuple per distinct combination (100k vehicles, few
    combinations)."""

    def __init__(self):
        self._known = {}

    def __call__(self, flags):
        if not flags:
            return ()
        key = tuple(flags)
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = tuple(sorted(set(key)))
        return found


def parse_vehicle(row, index=0, intern=None):
    """(id, Vehicle or None) of a wire vehicle row; None = remove this id."""
    kind = 'vehicles'
    vid = _row_id(row, kind, index)
    if _removed(row):
        return vid, None
    key = _key(row, 'plate_key', kind, index, required=False)
    if not key:
        return vid, None
    flags = _str_list(row, 'flags', kind, index) or ()
    intern = intern or _Interner()
    return vid, Vehicle(
        key, _opt_str(row, 'stage', kind, index), _opt_str(row, 'fuel', kind, index),
        _opt_str(row, 'vehicle_type', kind, index), _opt_str(row, 'category', kind, index),
        intern(flags), _opt_str(row, 'plate_color', kind, index),
        _opt_str(row, 'owner', kind, index, ''), vid)


def parse_blacklist(row, index=0):
    """(id, BlacklistEntry or None) of a wire blacklist row; None = remove this id."""
    kind = 'blacklist'
    bid = _row_id(row, kind, index)
    if _removed(row):
        return bid, None
    return bid, BlacklistEntry(
        _key(row, 'plate_key', kind, index, required=True),
        _opt_str(row, 'source', kind, index, ''), _opt_str(row, 'reason', kind, index, ''),
        _time(row, 'valid_from', kind, index), _time(row, 'valid_to', kind, index), bid)


def _parse_rule(rule, kind, index, number):
    where = '%s].rules[%d' % (index, number)
    if not isinstance(rule, dict):
        raise _bad(kind, where, '', '须为对象', 'must be an object')
    max_stage = rule.get('max_stage')
    if max_stage is not None and max_stage not in decision.STAGES_ORDERED:
        raise _bad(kind, where, 'max_stage', '须为 "0".."6" 或 null', 'must be "0".."6" or null',
                   max_stage)
    action = rule.get('action') or decision.REFUSE
    if action not in (decision.REFUSE, decision.HOLD):
        raise _bad(kind, where, 'action', '须为 refuse 或 hold', 'must be refuse or hold', action)
    fuels = _str_list(rule, 'fuels', kind, where)
    classes = _str_list(rule, 'vehicle_classes', kind, where)
    categories = _str_list(rule, 'categories', kind, where)
    return Rule(max_stage, frozenset(fuels) if fuels is not None else None,
                tuple(classes) if classes is not None else None,
                frozenset(categories) if categories is not None else None, action)


def parse_strategy(row, index=0):
    """(id, Strategy or None) of a wire strategy row; None = remove this id."""
    kind = 'strategies'
    sid = _row_id(row, kind, index)
    if _removed(row):
        return sid, None
    try:
        level = decision.level_name(row.get('level'))
    except ValueError as exc:
        raise _bad(kind, index, 'level', '须为 yellow、orange、red 或 1、2、3', str(exc),
                   row.get('level'))
    rules = row.get('rules')
    if rules is not None:
        if not isinstance(rules, list):
            raise _bad(kind, index, 'rules', '须为列表或 null', 'must be a list or null', rules)
        rules = tuple(_parse_rule(rule, kind, index, n) for n, rule in enumerate(rules))
    flags = row.get('exempt_flags')
    if flags is None:
        exempt_flags = decision.DEFAULT_EXEMPT_FLAGS
    else:
        exempt_flags = frozenset(_str_list(row, 'exempt_flags', kind, index) or ())
    exempt_plates = set()
    for plate in _str_list(row, 'exempt_plates', kind, index) or ():
        try:
            exempt_plates.add(plates.normalize_plate(plate))
        except Hj1321Error:
            raise _bad(kind, index, 'exempt_plates', '含空车牌', 'holds an empty plate', plate)
    return sid, Strategy(level, _time(row, 'date_start', kind, index),
                         _time(row, 'date_end', kind, index), rules, exempt_flags,
                         frozenset(exempt_plates), sid, _opt_str(row, 'name', kind, index, ''))


def parse_lane(row, index=0):
    """(code, LanePolicy or None) of a wire lane row; None = remove this lane."""
    kind = 'lanes'
    if not isinstance(row, dict):
        raise _bad(kind, index, '', '须为对象', 'must be an object')
    code = row.get('code')
    if not isinstance(code, str) or not code:
        raise _bad(kind, index, 'code', '须为非空字符串', 'must be a non-empty string', code)
    if _removed(row):
        return code, None
    default = decision.DEFAULT_LANE
    values = {'code': code}
    choices = {'direction': (decision.IN, decision.OUT, decision.BOTH),
               'unregistered': decision.POLICY_VALUES, 'low_confidence': decision.POLICY_VALUES,
               'no_plate': decision.POLICY_VALUES,
               'blacklist_exit': (decision.HOLD, decision.PASS)}
    for field, allowed in choices.items():
        value = row.get(field)
        if value is None:
            value = getattr(default, field)
        elif value not in allowed:
            raise _bad(kind, index, field, '须为 %s 之一' % '、'.join(allowed),
                       'must be one of %s' % ', '.join(allowed), value)
        values[field] = value
    confidence = row.get('min_confidence')
    if confidence is None:
        confidence = default.min_confidence
    elif isinstance(confidence, bool) or not isinstance(confidence, (int, float)) \
            or not 0 <= confidence <= 100:
        raise _bad(kind, index, 'min_confidence', '须为 0-100 的数', 'must be a number 0-100',
                   confidence)
    values['min_confidence'] = float(confidence)
    clean = row.get('require_clean', default.require_clean)
    if not isinstance(clean, bool):
        raise _bad(kind, index, 'require_clean', '须为 true 或 false', 'must be true or false',
                   clean)
    values['require_clean'] = clean
    return code, LanePolicy(**values)


# decision types -> wire rows (for the file; read back with the parse_* functions)

def _blacklist_row(entry):
    return {'id': entry.id, 'plate_key': entry.plate_key, 'source': entry.source,
            'reason': entry.reason, 'valid_from': format_time(entry.valid_from),
            'valid_to': format_time(entry.valid_to)}


def _sorted_or_none(values):
    return sorted(values) if values is not None else None


def _strategy_row(strategy):
    rules = None
    if strategy.rules is not None:
        rules = [{'max_stage': r.max_stage, 'fuels': _sorted_or_none(r.fuels),
                  'vehicle_classes': list(r.vehicle_classes) if r.vehicle_classes is not None
                  else None,
                  'categories': _sorted_or_none(r.categories), 'action': r.action}
                 for r in strategy.rules]
    return {'id': strategy.id, 'name': strategy.name, 'level': strategy.level,
            'date_start': format_time(strategy.date_start),
            'date_end': format_time(strategy.date_end), 'rules': rules,
            'exempt_flags': sorted(strategy.exempt_flags),
            'exempt_plates': sorted(strategy.exempt_plates)}


def _lane_row(lane):
    return dict(zip(LanePolicy._fields, lane))


# ---------------------------------------------------------------------------------------
# The snapshot
# ---------------------------------------------------------------------------------------

class _State(object):
    """One immutable snapshot of the cache (never changed once published)."""

    __slots__ = ('version', 'vehicles', 'vehicle_ids', 'blacklist_rows', 'blacklist',
                 'strategy_rows', 'strategies', 'lanes', 'saved_at', 'server_time')

    def __init__(self, version=0, vehicles=None, vehicle_ids=None, blacklist_rows=None,
                 strategy_rows=None, lanes=None, saved_at=None, server_time=None):
        self.version = version
        # key -> plain tuple in Vehicle field order. Plain tuples of strings are untracked
        # by the garbage collector (namedtuple instances never are): 100,000 of them would
        # otherwise add ~20 ms to every full collection, i.e. to some barrier replies.
        self.vehicles = vehicles if vehicles is not None else {}
        self.vehicle_ids = vehicle_ids if vehicle_ids is not None else {}  # id -> key
        self.blacklist_rows = blacklist_rows if blacklist_rows is not None else {}
        self.strategy_rows = strategy_rows if strategy_rows is not None else {}
        self.lanes = lanes if lanes is not None else {}                  # code -> LanePolicy
        self.saved_at = saved_at
        self.server_time = server_time
        index = {}
        for entry in self.blacklist_rows.values():
            index.setdefault(entry.plate_key, []).append(entry)
        self.blacklist = {key: tuple(sorted(entries, key=lambda e: e.id))
                          for key, entries in index.items()}
        self.strategies = tuple(self.strategy_rows[sid] for sid in sorted(self.strategy_rows))


def _upsert_vehicle(vehicles, vehicle_ids, vid, vehicle):
    """Apply one vehicle row to the (copied) dicts; True when something changed."""
    old_key = vehicle_ids.get(vid)
    if old_key is not None and (vehicle is None or old_key != vehicle.plate_key):
        del vehicle_ids[vid]
        current = vehicles.get(old_key)
        if current is not None and current[_ID_INDEX] == vid:
            del vehicles[old_key]
    if vehicle is None:
        return old_key is not None
    displaced = vehicles.get(vehicle.plate_key)
    if displaced is not None and displaced[_ID_INDEX] != vid:
        # the ERP keeps plates unique; should two ids share one, the newest row wins
        vehicle_ids.pop(displaced[_ID_INDEX], None)
    vehicles[vehicle.plate_key] = tuple(vehicle)
    vehicle_ids[vid] = vehicle.plate_key
    return True


# ---------------------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------------------

class Cache(object):
    """The register cache of one gate box, backed by the JSON file at `path`.

    Construction loads the file (see the module docstring; never raises for a bad file:
    `load_error` and `loaded_from` tell what happened). `clock` returns naive UTC now.
    """

    def __init__(self, path, clock=None, load=True):
        self.path = path
        self.prev_path = path + '.prev'
        self.clock = clock or datetime.datetime.utcnow
        self.load_error = None          # CacheFileError of the last load, or None
        self.loaded_from = None         # 'main', 'previous' or None (started empty)
        self.load_seconds = None
        self._main_good = False         # `path` holds a file this cache loaded or wrote
        self._lock = threading.Lock()
        self._state = _State()
        if load:
            self.load()

    # -- lookups (lock-free: one snapshot per call) ---------------------------------------
    @property
    def version(self):
        """The ERP version the cache holds (0: nothing yet)."""
        return self._state.version

    def vehicle(self, plate_key):
        """The register entry of a plate key, or None."""
        row = self._state.vehicles.get(plate_key)
        return _as_vehicle(Vehicle, row) if row is not None else None

    def blacklist_entries(self, plate_key):
        """All blacklist rows of a plate key (valid or not), a tuple."""
        return self._state.blacklist.get(plate_key, ())

    def blacklisted(self, plate_key, now=None):
        """The blacklist entry of a plate key valid at `now`, or None."""
        now = now or self.clock()
        for entry in self._state.blacklist.get(plate_key, ()):
            if decision.blacklist_valid(entry, now):
                return entry
        return None

    def strategies(self):
        """Every strategy held, active or not, by id."""
        return self._state.strategies

    def active_strategies(self, now=None):
        """The strategies whose period holds `now`."""
        now = now or self.clock()
        return tuple(s for s in self._state.strategies if decision.strategy_active(s, now))

    def lane(self, code):
        """The policy of a lane (DEFAULT_LANE with that code when the ERP sent none)."""
        policy = self._state.lanes.get(code)
        if policy is None:
            return decision.DEFAULT_LANE._replace(code=code or '')
        return policy

    def lanes(self):
        """{code: LanePolicy} of the lanes the ERP sent."""
        return dict(self._state.lanes)

    def decide(self, read, lane_code=None, now=None):
        """decision.decide for a read on a lane, with this cache's data at `now`."""
        state = self._state
        now = now or self.clock()
        key = getattr(read, 'plate_key', '') or ''
        policy = state.lanes.get(lane_code)
        if policy is None:
            policy = decision.DEFAULT_LANE._replace(code=lane_code or '')
        row = state.vehicles.get(key) if key else None
        return decision.decide(read, _as_vehicle(Vehicle, row) if row is not None else None,
                               state.blacklist.get(key), state.strategies, policy, now)

    def stats(self):
        """Counts and file facts for the status page."""
        state = self._state
        return {'version': state.version, 'vehicles': len(state.vehicles),
                'blacklist': len(state.blacklist_rows), 'strategies': len(state.strategies),
                'lanes': len(state.lanes), 'saved_at': state.saved_at,
                'server_time': state.server_time, 'path': self.path,
                'loaded_from': self.loaded_from, 'load_seconds': self.load_seconds,
                'load_error': self.load_error.message_en if self.load_error else None}

    # -- sync -----------------------------------------------------------------------------
    def apply(self, payload):
        """Merge one sync reply (a decoded JSON dict, wire format in the module docstring).

        Validates everything first, writes the new file, and only then publishes the new
        snapshot and version. Raises SyncError ('sync.bad_payload', 'sync.gap',
        'sync.stale', 'sync.write_failed'); the cache is then unchanged.
        """
        if not isinstance(payload, dict):
            raise SyncError('sync.bad_payload', '同步数据须为 JSON 对象',
                            'the sync reply must be a JSON object')
        version = payload.get('version')
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise _bad('reply', '-', 'version', '须为非负整数', 'must be an integer >= 0', version)
        full = payload.get('full', False)
        if not isinstance(full, bool):
            raise _bad('reply', '-', 'full', '须为 true 或 false', 'must be true or false', full)
        since = payload.get('since')
        if since is not None and (isinstance(since, bool) or not isinstance(since, int)):
            raise _bad('reply', '-', 'since', '须为整数', 'must be an integer', since)
        try:
            server_time = parse_time(payload.get('server_time'))
        except ValueError as exc:
            raise _bad('reply', '-', 'server_time', '时间格式错误', str(exc),
                       payload.get('server_time'))
        lists = {}
        for name in ('vehicles', 'blacklist', 'strategies', 'lanes'):
            rows = payload.get(name)
            if rows is None:
                rows = []
            if not isinstance(rows, list):
                raise _bad(name, '-', '', '须为列表', 'must be a list')
            lists[name] = rows

        with self._lock:
            old = self._state
            if not full:
                if since is not None and since != old.version:
                    raise SyncError(
                        'sync.gap', '增量同步从版本 %s 开始，本机为版本 %s：需要全量同步'
                        % (since, old.version),
                        'incremental reply starts at version %s but the box holds %s: a full '
                        'sync is needed' % (since, old.version), since=since, held=old.version)
                if version < old.version:
                    raise SyncError(
                        'sync.stale', '增量同步版本 %s 低于本机版本 %s' % (version, old.version),
                        'incremental reply version %s is below the box\'s %s'
                        % (version, old.version), version=version, held=old.version)
            state, changes = self._merged(old, lists, full, version, server_time)
            changed = full or version != old.version or any(
                sum(counts) for counts in changes.values())
            if changed:
                state.saved_at = self.clock()
                self._write(state)
                self._state = state
            return ApplyResult(version, old.version, full, changed,
                               full and version < old.version, changes, server_time)

    def _merged(self, old, lists, full, version, server_time):
        """A new _State: `old` (copied; empty when full) with the reply's rows applied."""
        intern = _Interner()
        parsed_vehicles = [parse_vehicle(row, n, intern) for n, row in enumerate(lists['vehicles'])]
        parsed_blacklist = [parse_blacklist(row, n) for n, row in enumerate(lists['blacklist'])]
        parsed_strategies = [parse_strategy(row, n) for n, row in enumerate(lists['strategies'])]
        parsed_lanes = [parse_lane(row, n) for n, row in enumerate(lists['lanes'])]

        # Copy-on-write: a published snapshot is never modified, so an incremental reply
        # copies only the dicts it changes (a 100k-vehicle dict copy costs milliseconds).
        if full:
            vehicles, vehicle_ids, blacklist_rows, strategy_rows, lanes = {}, {}, {}, {}, {}
        else:
            vehicles, vehicle_ids = ((dict(old.vehicles), dict(old.vehicle_ids))
                                     if parsed_vehicles else (old.vehicles, old.vehicle_ids))
            blacklist_rows = dict(old.blacklist_rows) if parsed_blacklist else old.blacklist_rows
            strategy_rows = dict(old.strategy_rows) if parsed_strategies else old.strategy_rows
            lanes = dict(old.lanes) if parsed_lanes else old.lanes
        changes = {}
        upserted = deleted = 0
        for vid, vehicle in parsed_vehicles:
            if _upsert_vehicle(vehicles, vehicle_ids, vid, vehicle):
                if vehicle is None:
                    deleted += 1
                else:
                    upserted += 1
        changes['vehicles'] = (upserted, deleted)
        for name, rows, parsed in (('blacklist', blacklist_rows, parsed_blacklist),
                                   ('strategies', strategy_rows, parsed_strategies),
                                   ('lanes', lanes, parsed_lanes)):
            upserted = deleted = 0
            for ident, value in parsed:
                if value is None:
                    if rows.pop(ident, None) is not None:
                        deleted += 1
                else:
                    rows[ident] = value
                    upserted += 1
            changes[name] = (upserted, deleted)
        state = _State(version, vehicles, vehicle_ids, blacklist_rows, strategy_rows, lanes,
                       server_time=server_time or old.server_time)
        return state, changes

    # -- disk -----------------------------------------------------------------------------
    def _encode(self, state):
        """The file's bytes: header line + body."""
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(',', ':')).encode
        rows = list(state.vehicles.values())        # tuples encode as arrays
        chunks = [dumps(rows[start:start + _CHUNK])[1:-1]
                  for start in range(0, len(rows), _CHUNK)]
        body = ''.join([
            '{"vehicle_fields":', dumps(list(VEHICLE_FIELDS)),
            ',"vehicles":[', ','.join(chunk for chunk in chunks if chunk), ']',
            ',"blacklist":', dumps([_blacklist_row(e) for _i, e in
                                    sorted(state.blacklist_rows.items())]),
            ',"strategies":', dumps([_strategy_row(s) for s in state.strategies]),
            ',"lanes":', dumps([_lane_row(lane) for _c, lane in sorted(state.lanes.items())]),
            ',"server_time":', dumps(format_time(state.server_time)), '}']).encode('utf-8')
        header = json.dumps({'format': FORMAT, 'format_version': FORMAT_VERSION,
                             'version': state.version, 'saved_at': format_time(state.saved_at),
                             'length': len(body), 'crc32': zlib.crc32(body)},
                            separators=(',', ':')).encode('ascii')
        return header + b'\n' + body

    def _write(self, state):
        data = self._encode(state)
        directory = os.path.dirname(os.path.abspath(self.path))
        tmp = self.path + '.tmp'
        try:
            os.makedirs(directory, exist_ok=True)
            with open(tmp, 'wb') as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if self._main_good and os.path.exists(self.path):
                os.replace(self.path, self.prev_path)
            os.replace(tmp, self.path)
            fsync_dir(directory)
        except OSError as exc:
            raise SyncError('sync.write_failed', '缓存文件 %s 写入失败：%s' % (self.path, exc),
                            'could not write the cache file %s: %s' % (self.path, exc),
                            path=self.path)
        self._main_good = True

    def load(self):
        """(Re)load from disk: `path`, else `path + '.prev'`, else empty. Never raises for
        a bad file; returns the version loaded."""
        started = datetime.datetime.utcnow()
        self.load_error = None
        self.loaded_from = None
        self._main_good = False
        state = None
        for which, path in (('main', self.path), ('previous', self.prev_path)):
            if not os.path.exists(path):
                continue
            try:
                state = read_file(path)
            except CacheFileError as exc:
                if self.load_error is None:
                    self.load_error = exc
                if which == 'main':
                    _set_aside(path)
                continue
            self.loaded_from = which
            self._main_good = which == 'main'
            break
        with self._lock:
            self._state = state or _State()
        self.load_seconds = (datetime.datetime.utcnow() - started).total_seconds()
        return self._state.version


def _set_aside(path):
    """Keep a corrupted file for inspection instead of letting a rotation overwrite it."""
    try:
        os.replace(path, path + '.corrupt')
    except OSError:
        pass


def _corrupt(path, zh, en):
    return CacheFileError('cache.corrupt', '缓存文件 %s 已损坏：%s' % (path, zh),
                          'cache file %s is corrupted: %s' % (path, en), path=path)


def read_file(path):
    """The _State stored in a cache file; raises CacheFileError."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except OSError as exc:
        raise CacheFileError('cache.unreadable', '无法读取缓存文件 %s：%s' % (path, exc),
                             'cannot read the cache file %s: %s' % (path, exc), path=path)
    newline = data.find(b'\n')
    try:
        header = json.loads(data[:newline].decode('ascii')) if newline > 0 else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get('format') != FORMAT:
        raise _corrupt(path, '文件头缺失或无法解析', 'no readable header line')
    if header.get('format_version') != FORMAT_VERSION:
        raise CacheFileError('cache.format', '缓存文件 %s 的格式版本 %r 不受支持'
                             % (path, header.get('format_version')),
                             'cache file %s has unsupported format version %r'
                             % (path, header.get('format_version')), path=path)
    body = data[newline + 1:]
    if len(body) != header.get('length'):
        raise _corrupt(path, '长度 %d 与文件头 %r 不符（写入不完整？）' % (len(body), header.get('length')),
                       'length %d differs from the header\'s %r (partial write?)'
                       % (len(body), header.get('length')))
    if zlib.crc32(body) != header.get('crc32'):
        raise _corrupt(path, 'CRC-32 校验失败', 'CRC-32 mismatch')
    version = header.get('version')
    try:
        content = json.loads(body.decode('utf-8'))
        if content['vehicle_fields'] != list(VEHICLE_FIELDS):
            raise CacheFileError('cache.format', '缓存文件 %s 的车辆字段不受支持' % path,
                                 'cache file %s has unsupported vehicle fields' % path,
                                 path=path)
        rows = content['vehicles']
        width = len(VEHICLE_FIELDS)
        if any(len(row) != width for row in rows):
            raise ValueError('a vehicle row does not have %d columns' % width)
        intern = _Interner()
        for row in rows:
            flags = row[_FLAGS_INDEX]
            row[_FLAGS_INDEX] = intern(flags) if flags else ()
        # built by C loops (map/zip/dict): this is most of the load time otherwise
        rows = list(map(tuple, rows))
        key_of, id_of = operator.itemgetter(_KEY_INDEX), operator.itemgetter(_ID_INDEX)
        vehicles = dict(zip(map(key_of, rows), rows))
        vehicle_ids = dict(zip(map(id_of, rows), map(key_of, rows)))
        blacklist_rows = dict(parse_blacklist(row, n)
                              for n, row in enumerate(content['blacklist']))
        strategy_rows = dict(parse_strategy(row, n)
                             for n, row in enumerate(content['strategies']))
        lanes = dict(parse_lane(row, n) for n, row in enumerate(content['lanes']))
        return _State(version, vehicles, vehicle_ids, blacklist_rows, strategy_rows, lanes,
                      saved_at=parse_time(header.get('saved_at')),
                      server_time=parse_time(content.get('server_time')))
    except CacheFileError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, SyncError) as exc:
        raise _corrupt(path, '内容无法解析：%s' % exc, 'content cannot be read: %s' % exc)


# ---------------------------------------------------------------------------------------
# Syncer
# ---------------------------------------------------------------------------------------

class Syncer(object):
    """Pulls sync replies with `fetch(since) -> dict` and applies them to `cache`.

    A failure (network, HTTP, bad reply, disk) keeps the old cache and is recorded for
    the status page; the box goes on deciding. After 'sync.gap' or 'sync.stale' the next
    fetch asks for a full snapshot (since=0). `run` loops in a thread with a delay that
    doubles per consecutive failure up to `max_interval`.
    """

    def __init__(self, cache, fetch, clock=None, interval=30.0, max_interval=600.0):
        self.cache = cache
        self.fetch = fetch
        self.clock = clock or datetime.datetime.utcnow
        self.interval = interval
        self.max_interval = max_interval
        self.last_attempt = None
        self.last_success = None
        self.last_error = None          # CacheError of the last failed attempt, kept
        self.last_error_at = None
        self.last_result = None
        self.failures = 0               # consecutive
        self.clock_skew = None          # seconds the box is ahead of the ERP
        self._want_full = False
        self._lock = threading.Lock()

    def sync_once(self):
        """One fetch and apply; the ApplyResult, or None when it failed (never raises
        for a fetch or sync failure)."""
        with self._lock:
            since = 0 if self._want_full else self.cache.version
            self.last_attempt = self.clock()
            try:
                payload = self.fetch(since)
            except Exception as exc:    # any fetch failure must leave the box deciding
                return self._failed(SyncError(
                    'sync.fetch_failed', '从 ERP 获取同步数据失败：%s' % exc,
                    'fetching the sync reply from the ERP failed: %s: %s'
                    % (type(exc).__name__, exc), since=since))
            try:
                result = self.cache.apply(payload)
            except SyncError as exc:
                if exc.code in ('sync.gap', 'sync.stale'):
                    self._want_full = True
                return self._failed(exc)
            self._want_full = False
            self.failures = 0
            self.last_success = self.clock()
            self.last_result = result
            if result.server_time is not None:
                self.clock_skew = (self.last_success - result.server_time).total_seconds()
            return result

    def _failed(self, error):
        self.failures += 1
        self.last_error = error
        self.last_error_at = self.clock()
        return None

    def next_delay(self):
        """Seconds to wait before the next attempt."""
        if not self.failures:
            return self.interval
        return min(self.max_interval, self.interval * (2 ** min(self.failures, 16)))

    def run(self, stop):
        """Sync until the threading.Event `stop` is set (the body of a daemon thread)."""
        while not stop.is_set():
            try:
                self.sync_once()
            except Exception as exc:    # a bug must not end syncing for good: record it
                self._failed(SyncError('sync.internal', '同步出错：%r' % exc,
                                       'sync failed unexpectedly: %r' % exc))
            stop.wait(self.next_delay())

    def status(self):
        """A dict for the status page (times naive UTC; error messages in both languages)."""
        error = self.last_error
        status = dict(self.cache.stats())
        status.update({
            'state': 'error' if self.failures else ('ok' if self.last_success else 'never'),
            'last_attempt': self.last_attempt, 'last_success': self.last_success,
            'last_error_code': error.code if error else None,
            'last_error': error.message_en if error else None,
            'last_error_zh': error.message_zh if error else None,
            'last_error_at': self.last_error_at, 'consecutive_failures': self.failures,
            'clock_skew_seconds': self.clock_skew,
        })
        return status


def http_fetcher(base_url, token, timeout=10.0):
    """A `fetch(since)` for Syncer that GETs base_url + SYNC_PATH with the lane token.

    Standard library (urllib) only; raises on any HTTP status other than 200 and on a
    body that is not JSON (Syncer records it).
    """
    import urllib.parse
    import urllib.request

    def fetch(since):
        url = '%s%s?%s' % (base_url.rstrip('/'), SYNC_PATH,
                           urllib.parse.urlencode({'since': int(since)}))
        request = urllib.request.Request(url, headers={
            'Authorization': 'Bearer ' + token, 'Accept': 'application/json'})
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return json.loads(reply.read().decode('utf-8'))
    return fetch
