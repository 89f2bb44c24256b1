"""The canonical JSON record of each ledger: what every regulator adapter maps from.

No official JSON keys exist for HJ 1321 (REGULATOR_PROTOCOLS.md, A), so the product
defines one record per ledger, published as schemas/canonical_<kind>.schema.json:

* `passage`           one vehicle in or out through one lane (进出厂记录)
* `vehicle`           the transport-vehicle register (进出厂运输车辆)
* `in_plant_vehicle`  the in-plant vehicle register (厂内运输车辆)
* `machinery`         the non-road mobile machinery register (非道路移动机械)
* `gate`              the gate registry with its lanes (出入口 / 道闸)
* `gate_status`       one lane's online status at a moment (道闸在线状态, heartbeat)

The builders take plain dicts of the ERP's field values (names as the Odoo models name
them; Odoo's False means absent) and return plain dicts ready for `json.dumps`. Codes are
the HJ 1321 tables (codes/*.csv) and are checked; times are the plant's local time as
`yyyy-MM-dd HH:mm:ss` (China Standard Time unless `tz` says otherwise) with the UTC time
next to them; pictures are referenced by SHA-256 and carry their bytes as base64 only when
`embed_pictures=True` (the adapters that need the bytes ask for them, see
regulators.needs_picture_bytes).

`record_id` is the idempotency key a platform sees: sending the same record again must
never make two records. A passage is sealed, so its id is its serial (enterprise code +
barrier no. + A/B + yyMMddHHmmss). A register entry can be edited; its id carries the
`revision` (a digest of its content), so an edited entry is a new record to send while the
same content re-sent is the same record. `revision` is on every record, so a caller can
also tell that a passage changed after it was delivered (a corrected plate, cargo added).
"""
import base64
import binascii
import datetime
import hashlib

from . import chain, codes
from .errors import Hj1321Error

SCHEMA_VERSION = 1
KINDS = ('passage', 'vehicle', 'in_plant_vehicle', 'machinery', 'gate', 'gate_status')
CST = datetime.timezone(datetime.timedelta(hours=8), 'CST')
TIME_FORMAT = '%Y-%m-%d %H:%M:%S'

PASSAGE_PICTURES = ('front', 'body', 'plate')                 # 车头, 车身, 车牌
VEHICLE_PICTURES = ('list', 'license')                        # 随车清单, 行驶证
MACHINERY_PICTURES = ('nameplate', 'engine_nameplate', 'env_label')   # 铭牌, 发动机铭牌, 环保标签
FLAGS = ('unregistered', 'low_confidence', 'no_entry', 'unreadable', 'bad_plate')
DECISION_CODES = {'pass': '1', 'refuse': '2', 'manual': '3', 'unrecognised': '4'}
UNITS = ('t', 'L', 'm3')
_EMPTY = (None, False, '')
_OCTETS = 'application/octet-stream'


def _error(code, zh, en, **params):
    return Hj1321Error(code, zh, en, **params)


def _v(values, key):
    """A value, with Odoo's False and empty strings read as absent (None)."""
    value = values.get(key)
    if value in _EMPTY or (isinstance(value, (list, tuple, dict)) and not value):
        return None
    return value


def _text(values, key, limit=None):
    value = _v(values, key)
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:     # an Odoo many2one pair
        value = value[1]
    value = str(value).strip()
    if limit and len(value) > limit:
        raise _error('canonical.too_long',
                     '字段 %s 超长（%d 个字符，最多 %d）' % (key, len(value), limit),
                     'field %s is too long (%d characters, at most %d)' % (key, len(value), limit),
                     field=key, value=value)
    return value or None


def _code(values, key, table, required=False):
    value = _v(values, key)
    if value is None:
        if required:
            raise _error('canonical.missing', '缺少字段 %s' % key, 'field %s is missing' % key,
                         field=key)
        return None
    value = str(value)
    if not codes.is_valid(table, value):
        allowed = ', '.join(c.code for c in codes.table(table))
        raise _error('canonical.code',
                     '字段 %s：代码表“%s”中没有代码 %r（可用：%s）' % (key, table, value, allowed),
                     'field %s: %r is not in the %s table (allowed: %s)'
                     % (key, value, table, allowed), field=key, value=value, table=table)
    return value


def _required(values, key, limit=None):
    value = _text(values, key, limit)
    if value is None:
        raise _error('canonical.missing', '缺少字段 %s' % key, 'field %s is missing' % key,
                     field=key)
    return value


def _float(values, key, digits):
    value = _v(values, key)
    if value is None:
        return None
    try:
        # + 0.0: -0.0 becomes 0.0, as chain.canonical_json writes it (see revision())
        return round(float(value), digits) + 0.0
    except (TypeError, ValueError):
        raise _error('canonical.number', '字段 %s 不是数字：%r' % (key, value),
                     'field %s is not a number: %r' % (key, value), field=key, value=value)


def _bool(values, key):
    return bool(values.get(key))


def _utc(value, key):
    """A naive UTC datetime from a datetime (naive = UTC, as Odoo keeps it; aware is
    converted) or Odoo's 'YYYY-MM-DD HH:MM:SS' text (UTC)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.replace(microsecond=0)
    if isinstance(value, str):
        text = value.strip().replace('T', ' ')
        if len(text) >= 19 and text[4] == '-' and text[7] == '-' and text[13] == ':' \
                and text[16] == ':' and text[:4].isdigit():
            # Odoo's own 'YYYY-MM-DD HH:MM:SS[.ffffff]': 10 times faster than strptime
            try:
                return datetime.datetime(int(text[:4]), int(text[5:7]), int(text[8:10]),
                                         int(text[11:13]), int(text[14:16]), int(text[17:19]))
            except ValueError:
                pass
        for fmt in (TIME_FORMAT, '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M'):
            try:
                return datetime.datetime.strptime(text, fmt).replace(microsecond=0)
            except ValueError:
                continue
    raise _error('canonical.time', '字段 %s 不是时间：%r' % (key, value),
                 'field %s is not a time: %r' % (key, value), field=key, value=value)


def _times(values, key, tz, required=True):
    """(local 'yyyy-MM-dd HH:mm:ss', UTC 'yyyy-MM-ddTHH:mm:ssZ') of a time field."""
    value = _v(values, key)
    if value is None:
        if required:
            raise _error('canonical.missing', '缺少字段 %s' % key, 'field %s is missing' % key,
                         field=key)
        return None, None
    utc = _utc(value, key)
    local = utc.replace(tzinfo=datetime.timezone.utc).astimezone(tz)
    # formatted by hand: strftime is the slower half of this on 180,000 passages
    return (_LOCAL % (local.year, local.month, local.day, local.hour, local.minute,
                      local.second),
            _UTC % (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second))


_LOCAL = '%04d-%02d-%02d %02d:%02d:%02d'     # TIME_FORMAT


def local_time(value, tz=CST):
    """The plant's local 'yyyy-MM-dd HH:mm:ss' of a UTC time (as _utc takes it), or None."""
    return _times({'time': value}, 'time', tz, required=False)[0]
_UTC = '%04d-%02d-%02dT%02d:%02d:%02dZ'


def _date(values, key):
    value = _v(values, key)
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.strftime('%Y-%m-%d')
    if isinstance(value, datetime.date):
        return value.strftime('%Y-%m-%d')
    text = str(value).strip()[:10]
    try:
        if len(text) == 10 and text[4] == text[7] == '-':
            return datetime.date(int(text[:4]), int(text[5:7]), int(text[8:])).isoformat()
        return datetime.datetime.strptime(text, '%Y-%m-%d').strftime('%Y-%m-%d')
    except ValueError:
        raise _error('canonical.date', '字段 %s 不是日期：%r' % (key, value),
                     'field %s is not a date: %r' % (key, value), field=key, value=value)


def _offset(tz):
    offset = _OFFSETS.get(tz)
    if offset is None:
        offset = _OFFSETS[tz] = _compute_offset(tz)
    return offset


_OFFSETS = {}


def _compute_offset(tz):
    delta = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc).astimezone(tz).utcoffset()
    minutes = int(delta.total_seconds() // 60)
    sign = '+' if minutes >= 0 else '-'
    return '%s%02d:%02d' % (sign, abs(minutes) // 60, abs(minutes) % 60)


def _mime(data):
    if data[:3] == b'\xff\xd8\xff':
        return 'image/jpeg'
    if data[:8] == b'\x89PNG\r\n\x1a\n':
        return 'image/png'
    return _OCTETS


def picture(kind, value, embed=False):
    """One picture reference: {kind, sha256, size, mime, url, base64} (absent keys left out).

    `value` is the raw bytes, or a dict with any of `data` (bytes), `base64` (text, as
    Odoo's Binary fields give it), `sha256`, `size`, `mime`, `url`. Returns None for no
    picture. `embed` adds the bytes as base64 when they are known.
    """
    if value in _EMPTY:
        return None
    if isinstance(value, (bytes, bytearray)):
        value = {'data': bytes(value)}
    elif not isinstance(value, dict):
        raise _error('canonical.picture', '照片 %s 的格式不对' % kind,
                     'picture %s has an unknown form' % kind, field=kind)
    data = value.get('data')
    if data in _EMPTY and value.get('base64') not in _EMPTY:
        encoded = value['base64']
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise _error('canonical.picture', '照片 %s 不是有效的 base64' % kind,
                         'picture %s is not valid base64' % kind, field=kind)
    entry = {'kind': kind}
    if data not in _EMPTY:
        data = bytes(data)
        entry['sha256'] = hashlib.sha256(data).hexdigest()
        entry['size'] = len(data)
        entry['mime'] = _mime(data)
    else:
        digest = (value.get('sha256') or '').lower()
        if len(digest) != 64 or any(c not in '0123456789abcdef' for c in digest):
            raise _error('canonical.picture', '照片 %s 既没有内容也没有 SHA-256' % kind,
                         'picture %s has neither bytes nor a SHA-256' % kind, field=kind)
        entry['sha256'] = digest
        if value.get('size') not in _EMPTY:
            entry['size'] = int(value['size'])
        entry['mime'] = value.get('mime') or 'image/jpeg'
    if value.get('url') not in _EMPTY:
        entry['url'] = str(value['url'])
    if embed and data not in _EMPTY:
        entry['base64'] = base64.b64encode(data).decode('ascii')
    return entry


def _pictures(values, kinds, embed, field_prefix='picture_'):
    """Pictures from `values['pictures']` ({kind: bytes or dict}), the Odoo-style fields
    `picture_<kind>` and, for passages, the sealed `picture_digests` ('kind:hex,...')."""
    given = dict(values.get('pictures') or {})
    for kind in kinds:
        if kind not in given and values.get(field_prefix + kind) not in _EMPTY:
            raw = values[field_prefix + kind]
            # Odoo Binary fields read as base64 text (bytes or str); raw picture bytes
            # (JPEG / PNG magic) are taken as they are
            if isinstance(raw, (bytes, bytearray)) and _mime(bytes(raw)) != _OCTETS:
                given[kind] = {'data': bytes(raw)}
            elif isinstance(raw, (str, bytes, bytearray)):
                given[kind] = {'base64': raw}
            else:
                given[kind] = raw
    digests = _v(values, 'picture_digests')
    if digests:
        for part in str(digests).split(','):
            kind, _sep, digest = part.partition(':')
            if kind in kinds and kind not in given and digest:
                given[kind] = {'sha256': digest}
    unknown = sorted(set(given) - set(kinds))
    if unknown:
        raise _error('canonical.picture', '未知的照片类型：%s' % ', '.join(unknown),
                     'unknown picture kinds: %s' % ', '.join(unknown), kinds=unknown)
    result = []
    for kind in kinds:
        entry = picture(kind, given.get(kind), embed)
        if entry:
            result.append(entry)
    return result


def _enterprise(values, enterprise):
    enterprise = enterprise or {}
    code = enterprise.get('code') or _v(values, 'enterprise_code')
    name = enterprise.get('name') or _v(values, 'enterprise_name')
    if not code:
        raise _error('canonical.enterprise', '缺少企业编码（系统设置 → 门禁台账）',
                     'the enterprise code is missing (Settings -> Gate Ledger)',
                     field='enterprise_code')
    return str(code).strip(), (str(name).strip() if name else None)


def revision(record):
    """Digest of a record's content (without record_id, revision and picture bytes).

    The text hashed is chain.canonical_json's. A record this module built holds only JSON
    types and floats _float rounded (to at most chain.FLOAT_DECIMALS places, never -0.0),
    which canonical_json would leave as they are: its generic normalisation is skipped
    (a third of building a passage record) unless pictures are embedded."""
    content = {k: v for k, v in record.items() if k not in ('record_id', 'revision')}
    if _has_bytes(content):
        text = chain.canonical_json(_without_bytes(content))
    else:
        text = chain.plain_json(content)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]


def _has_bytes(value):
    """True when picture bytes are embedded (a 'base64' key in a picture entry)."""
    for picture_list in (value.get('pictures'), (value.get('vehicle') or {}).get('pictures')):
        if picture_list and any('base64' in entry for entry in picture_list):
            return True
    return False


def _without_bytes(value):
    if isinstance(value, dict):
        return {k: _without_bytes(v) for k, v in value.items() if k != 'base64'}
    if isinstance(value, list):
        return [_without_bytes(v) for v in value]
    return value


def _finish(record, identity, versioned, revised=True):
    record['revision'] = revision(record) if revised or versioned else None
    record['record_id'] = '%s/%s/%s%s' % (
        record['kind'], record['enterprise_code'], identity,
        '@' + record['revision'] if versioned else '')
    return record


def _head(kind, values, enterprise):
    code, name = _enterprise(values, enterprise)
    return {'schema': 'env_gate.%s/%d' % (kind, SCHEMA_VERSION), 'kind': kind,
            'record_id': None, 'revision': None,
            'enterprise_code': code, 'enterprise_name': name}


def strip_pictures(record):
    """A copy of a record without picture bytes (for dumps, logs and revision checks)."""
    return _without_bytes(record)


# ---- registers -------------------------------------------------------------------------

def _vehicle_core(values, embed):
    """Fields shared by the transport register, in-plant vehicles and a passage's vehicle."""
    plate = _text(values, 'plate', 16)
    return {
        'plate': plate,
        'plate_color': _code(values, 'plate_color', 'plate_color'),
        'vin': _text(values, 'vin', 17),
        'vehicle_type': _code(values, 'vehicle_type', 'vehicle_type'),
        'registration_date': _date(values, 'registration_date'),
        'brand_model': _text(values, 'brand_model', 100),
        'engine_model': _text(values, 'engine_model', 32),
        'engine_maker': _text(values, 'engine_maker', 32),
        'engine_no': _text(values, 'engine_no', 32),
        'fuel_type': _code(values, 'fuel_type', 'fuel_type'),
        'emission_stage': _code(values, 'emission_stage', 'emission_stage'),
        'use_nature': _code(values, 'use_nature', 'use_nature'),
        'networked': _code(values, 'networked', 'networked'),
        'fleet_name': _text(values, 'fleet_name', 100),
        'owner': _text(values, 'owner', 100),
        'clean': codes.is_v_plus_or_new_energy(values.get('emission_stage') or None,
                                               values.get('fuel_type') or None),
        'pictures': _pictures(values, VEHICLE_PICTURES, embed),
    }


def canonical_vehicle(values, enterprise=None, embed_pictures=False):
    """The canonical record of one transport vehicle (category 'transport').

    values: env.gate.vehicle fields: plate (required), plate_color, vin, vehicle_type,
    registration_date, brand_model, engine_model, engine_maker, engine_no, fuel_type,
    emission_stage, use_nature, networked, fleet_name, owner, active, picture_list and
    picture_license (base64 as Odoo reads them) or pictures={'list'|'license': bytes};
    enterprise_code / enterprise_name unless `enterprise` = {'code', 'name'} is given.
    """
    record = _head('vehicle', values, enterprise)
    core = _vehicle_core(values, embed_pictures)
    if not core['plate']:
        raise _error('canonical.missing', '运输车辆缺少车牌号', 'a transport vehicle needs a plate',
                     field='plate')
    record.update(core)
    record['active'] = values.get('active', True) is not False
    return _finish(record, core['plate'], versioned=True)


def canonical_in_plant_vehicle(values, enterprise=None, embed_pictures=False):
    """The canonical record of one in-plant vehicle (category 'in_plant').

    values: as canonical_vehicle plus internal_code (环保登记编码 or internal no.) and
    production_date; a plate is optional, but internal_code, plate or VIN is required.
    """
    record = _head('in_plant_vehicle', values, enterprise)
    core = _vehicle_core(values, embed_pictures)
    internal = _text(values, 'internal_code', 32)
    identity = internal or core['plate'] or core['vin']
    if not identity:
        raise _error('canonical.missing', '厂内车辆须有环保登记编码/内部编号、车牌号或 VIN',
                     'an in-plant vehicle needs an internal number, a plate or a VIN',
                     field='internal_code')
    record['internal_code'] = internal
    record['production_date'] = _date(values, 'production_date')
    record.update(core)
    record['active'] = values.get('active', True) is not False
    return _finish(record, identity, versioned=True)


def canonical_machinery(values, enterprise=None, embed_pictures=False):
    """The canonical record of one non-road mobile machine.

    values: env.gate.machinery fields: registration_code (required), kind (machinery kind
    code, required), production_date, plate, emission_stage (required; 'X' none/unknown),
    fuel_type, pin, env_code, machine_model, engine_model, engine_maker, engine_no, owner,
    active, picture_nameplate / picture_engine_nameplate / picture_env_label or pictures.
    """
    record = _head('machinery', values, enterprise)
    registration = _required(values, 'registration_code', 32)
    record.update({
        'registration_code': registration,
        'machinery_kind': _code(values, 'kind', 'machinery_kind', required=True),
        'production_date': _date(values, 'production_date'),
        'plate': _text(values, 'plate', 16),
        'emission_stage': _code(values, 'emission_stage', 'emission_stage', required=True),
        'fuel_type': _code(values, 'fuel_type', 'fuel_type'),
        'pin': _text(values, 'pin', 64),
        'env_code': _text(values, 'env_code', 64),
        'machine_model': _text(values, 'machine_model', 100),
        'engine_model': _text(values, 'engine_model', 32),
        'engine_maker': _text(values, 'engine_maker', 32),
        'engine_no': _text(values, 'engine_no', 32),
        'owner': _text(values, 'owner', 100),
        'clean': codes.is_v_plus_or_new_energy(values.get('emission_stage') or None,
                                               values.get('fuel_type') or None),
        'pictures': _pictures(values, MACHINERY_PICTURES, embed_pictures),
        'active': values.get('active', True) is not False,
    })
    return _finish(record, registration, versioned=True)


def canonical_gate(values, enterprise=None, embed_pictures=False):
    """The canonical record of one gate (出入口) and its lanes (道闸). (It has no
    pictures: embed_pictures is accepted so that build() treats every kind alike.)

    values: env.gate.gate fields: code (required), name (required), address, longitude,
    latitude, manager_name, manager_phone, maintainer, maintainer_contact, active, and
    lanes: [env.gate.lane fields: code, name, barrier_no, direction ('1', '2', 'both'),
    camera_model, camera_address, video_camera, display_board, active].
    """
    record = _head('gate', values, enterprise)
    code = _required(values, 'code', 32)
    lanes = []
    for lane in values.get('lanes') or ():
        direction = _v(lane, 'direction') or 'both'
        if direction not in ('1', '2', 'both'):
            raise _error('canonical.code', '车道方向 %r 无效' % direction,
                         'lane direction %r is not 1, 2 or both' % direction,
                         field='direction', value=direction)
        lanes.append({
            'lane_code': _required(lane, 'code', 32),
            'name': _text(lane, 'name', 100),
            'barrier_no': _required(lane, 'barrier_no', 32),
            'direction': direction,
            'camera_model': _text(lane, 'camera_model', 100),
            'camera_address': _text(lane, 'camera_address', 100),
            'video_camera': _text(lane, 'video_camera', 100),
            'display_board': _text(lane, 'display_board', 100),
            'active': lane.get('active', True) is not False,
        })
    record.update({
        'gate_code': code,
        'name': _required(values, 'name', 100),
        'address': _text(values, 'address', 200),
        'longitude': _float(values, 'longitude', 6),
        'latitude': _float(values, 'latitude', 6),
        'manager_name': _text(values, 'manager_name', 50),
        'manager_phone': _text(values, 'manager_phone', 30),
        'maintainer': _text(values, 'maintainer', 100),
        'maintainer_contact': _text(values, 'maintainer_contact', 100),
        'lanes': lanes,
        'active': values.get('active', True) is not False,
    })
    return _finish(record, code, versioned=True)


def canonical_gate_status(values, enterprise=None, tz=CST, embed_pictures=False):
    """The canonical record of one lane's status at one moment (heartbeat). (No
    pictures: embed_pictures as in canonical_gate.)

    values: gate_code, barrier_no (required), lane_code, time (required; datetime or
    Odoo UTC text), online (bool, required), barrier_ok, camera_ok (bool or None =
    unknown), last_event_time, message.
    """
    record = _head('gate_status', values, enterprise)
    local, utc = _times(values, 'time', tz)
    last_local, _last_utc = _times(values, 'last_event_time', tz, required=False)
    if 'online' not in values:
        raise _error('canonical.missing', '缺少字段 online', 'field online is missing',
                     field='online')

    def _status(key):
        value = values.get(key)
        return None if value is None else bool(value)

    barrier = _required(values, 'barrier_no', 32)
    record.update({
        'gate_code': _text(values, 'gate_code', 32),
        'barrier_no': barrier,
        'lane_code': _text(values, 'lane_code', 32),
        'time': local,
        'time_utc': utc,
        'time_zone': _offset(tz),
        'online': bool(values['online']),
        'barrier_ok': _status('barrier_ok'),
        'camera_ok': _status('camera_ok'),
        'last_event_time': last_local,
        'message': _text(values, 'message', 200),
    })
    return _finish(record, '%s/%s' % (barrier, utc.replace('-', '').replace(':', '')),
                   versioned=False)


# ---- passages --------------------------------------------------------------------------

def _passage_vehicle(values, embed):
    """The vehicle as the passage saw it: the passage's sealed snapshot wins, the register
    entry (values['vehicle']) adds what the snapshot does not keep."""
    register = dict(values.get('vehicle') or {})
    merged = dict(register)
    for key in ('emission_stage', 'fuel_type', 'vin', 'vehicle_type', 'use_nature',
                'networked', 'fleet_name'):
        if _v(values, key) is not None:
            merged[key] = values[key]
    core = _vehicle_core(merged, embed)
    for key in ('plate', 'plate_color'):
        core.pop(key)
    category = _v(values, 'category') or _v(register, 'category')
    if category not in (None, 'transport', 'in_plant'):
        raise _error('canonical.code', '车辆类别 %r 无效' % category,
                     'vehicle category %r is not transport or in_plant' % category,
                     field='category', value=category)
    core['category'] = category
    core['registered'] = bool(register) or _v(values, 'vehicle_id') is not None
    return core


def canonical_passage(values, enterprise=None, embed_pictures=False, tz=CST, revised=True):
    """The canonical record of one passage.

    revised=False leaves `revision` None: a passage's record_id does not depend on it, and
    the audit spreadsheet, which does not show it, saves its digest on every row.

    values (env.gate.passage fields, many2ones flattened):
      name (serial, required), direction ('1'/'2', required), pass_time (required),
      decision (control result code '1'-'4' or pass/refuse/manual/unrecognised,
      required), barrier_no (required), gate_code, lane_code, camera_no;
      plate_raw, plate_key, corrected_plate, plate_color, confidence, source
      ('device'/'manual'), reason, lift_mode, manual_reason_kind, manual_reason,
      manual_user; the snapshot emission_stage, fuel_type, vin, vehicle_type,
      use_nature, networked, fleet_name, category, clean; vehicle (the register entry's
      fields, as canonical_vehicle takes them); cargo_name, quantity, uom ('t', 'L',
      'm3'); entry_name (for an exit: the serial of the entry it closed), exit_name;
      flag_* booleans, reviewed, voided; hash (the ledger chain hash), create_date;
      pictures {'front'|'body'|'plate': bytes or dict} and/or picture_front/... (base64)
      and/or picture_digests ('front:<sha256>,...').
    enterprise: {'code', 'name'} (else values' enterprise_code / enterprise_name).
    """
    record = _head('passage', values, enterprise)
    serial = _required(values, 'name', 40)
    direction = _code(values, 'direction', 'direction', required=True)
    decision = _v(values, 'decision')
    decision = DECISION_CODES.get(decision, decision)
    decision = _code({'decision': decision}, 'decision', 'control_result', required=True)
    local, utc = _times(values, 'pass_time', tz)
    recorded, _rec_utc = _times(values, 'create_date', tz, required=False)
    plate_key = _text(values, 'plate_key', 16)
    plate = _text(values, 'corrected_plate', 16) or plate_key
    unit = _v(values, 'uom')
    if unit is not None and unit not in UNITS:
        raise _error('canonical.code', '单位 %r 无效' % unit, 'unit %r is not t, L or m3' % unit,
                     field='uom', value=unit)
    cargo_name = _text(values, 'cargo_name', 32)
    quantity = _float(values, 'quantity', 1)
    cargo = None
    if cargo_name or quantity:
        cargo = {'name': cargo_name, 'quantity': quantity, 'unit': unit or 't'}
    manual = None
    if _v(values, 'source') == 'manual' or _v(values, 'manual_reason'):
        manual = {'reason_kind': _text(values, 'manual_reason_kind', 32),
                  'reason': _text(values, 'manual_reason', 500),
                  'entered_by': _text(values, 'manual_user', 100)}
    confidence = _float(values, 'confidence', 1)
    entry_serial = _text(values, 'entry_name', 40)
    source = _v(values, 'source') or 'device'
    if source not in ('device', 'manual'):
        raise _error('canonical.code', '来源 %r 无效' % source,
                     'source %r is not device or manual' % source, field='source', value=source)
    record.update({
        'serial': serial,
        'platform_serial': record['enterprise_code'] + serial,
        'gate_code': _text(values, 'gate_code', 32),
        'barrier_no': _required(values, 'barrier_no', 32),
        'lane_code': _text(values, 'lane_code', 32),
        'camera_no': _text(values, 'camera_no', 32),
        'direction': direction,
        'pass_time': local,
        'pass_time_utc': utc,
        'time_zone': _offset(tz),
        'recorded_at': recorded,
        'plate': plate,
        'plate_raw': _text(values, 'plate_raw', 32),
        'plate_color': _code(values, 'plate_color', 'plate_color'),
        'confidence': confidence,
        'source': source,
        'control_result': decision,
        'control_reason': _text(values, 'reason', 200),
        'lift_mode': _code(values, 'lift_mode', 'lift_mode'),
        'manual_entry': manual,
        'vehicle': _passage_vehicle(values, embed_pictures),
        'cargo': cargo,
        'entry_serial': entry_serial if direction == '2' else None,
        'entry_record_id': ('passage/%s/%s' % (record['enterprise_code'], entry_serial)
                            if entry_serial and direction == '2' else None),
        'exit_serial': _text(values, 'exit_name', 40) if direction == '1' else None,
        'flags': [flag for flag in FLAGS if _bool(values, 'flag_' + flag)],
        'reviewed': _bool(values, 'reviewed'),
        'voided': _bool(values, 'voided'),
        'ledger_hash': _text(values, 'hash', 64),
        'pictures': _pictures(values, PASSAGE_PICTURES, embed_pictures),
    })
    return _finish(record, serial, versioned=False, revised=revised)


BUILDERS = {
    'passage': canonical_passage,
    'vehicle': canonical_vehicle,
    'in_plant_vehicle': canonical_in_plant_vehicle,
    'machinery': canonical_machinery,
    'gate': canonical_gate,
    'gate_status': canonical_gate_status,
}


def build(kind, values, **options):
    """canonical_<kind>(values, **options) for a kind named at run time."""
    try:
        builder = BUILDERS[kind]
    except KeyError:
        raise _error('canonical.kind', '未知的记录类型 %r' % kind,
                     'unknown record kind %r (known: %s)' % (kind, ', '.join(KINDS)), kind=kind)
    return builder(values, **options)


def schema_name(kind):
    """The file name (without .schema.json) of a kind's JSON Schema."""
    return 'canonical_' + kind


def load_schema(kind):
    """The published JSON Schema of a kind (a dict), from schemas/canonical_<kind>.schema.json."""
    from .events import load_schema as _load
    return _load(schema_name(kind))
