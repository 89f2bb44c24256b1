"""The audit package (审计导出包): file names, sheet columns and the manifest that lets an
inspector check, years later and without our software, that no file was changed.

One ZIP holds the ledgers of a period as an XLSX workbook (one sheet per ledger, columns in
the order of HJ 1321's field lists, Chinese headers with an English second row, codes
explained as `5 国V`), the passage pictures named after their serials, a PDF summary, the
canonical JSON records (one JSON Lines file per ledger) and `manifest.json` + `SHA256SUMS`
with the SHA-256 and size of every other file. `verify_zip` re-reads a package and lists
what no longer matches; `sha256sum -c SHA256SUMS` in the unpacked folder does the same.
"""
import collections
import hashlib
import json
import re
import zipfile

from . import codes

FORMAT = 'env_gate.audit_package/1'
MANIFEST = 'manifest.json'
SUMS = 'SHA256SUMS'
XLSX = 'ledgers.xlsx'
PDF = 'summary.pdf'
PICTURES = 'pictures/'
JSON_DIR = 'json/'
CHUNK = 1 << 20

# Ledgers in the order the package and the wizard list them.
LEDGERS = ('passage', 'vehicle', 'in_plant_vehicle', 'machinery', 'weighing', 'correction')
# Ledgers that have a canonical JSON record (hj1321.canonical) and so a JSON Lines file.
CANONICAL = ('passage', 'vehicle', 'in_plant_vehicle', 'machinery')

Column = collections.namedtuple('Column', 'key zh en codes width')
Sheet = collections.namedtuple('Sheet', 'ledger name en columns')

SOURCES = {'device': '设备识别', 'manual': '人工补录'}
CATEGORIES = {'transport': '进出厂运输车辆', 'in_plant': '厂内运输车辆'}
MANUAL_REASONS = {'unreadable': '车牌无法识别', 'outage': '系统故障', 'paper': '纸质台账补录',
                  'other': '其他'}
WEIGHING_KINDS = {'in': '入厂（收货）', 'out': '出厂（发货）'}
WEIGHING_STATES = {'first': '待二次称重', 'done': '完成', 'cancel': '已取消'}
WEIGHING_SOURCES = {'device': '地磅', 'manual': '人工', 'stored': '存储皮重'}
CORRECTION_KINDS = {'confirm': '确认识别结果', 'plate': '更正车牌', 'cargo': '登记货物及数量',
                    'void': '作废（误触发）'}
FLAG_NAMES = {'unregistered': '未登记', 'low_confidence': '低置信度', 'no_entry': '无进厂记录',
              'unreadable': '车牌无法识别', 'bad_plate': '车牌格式不符'}
PICTURE_NAMES = {'front': '车头', 'body': '车身', 'plate': '车牌', 'list': '随车清单',
                 'license': '行驶证', 'nameplate': '整车(机)铭牌',
                 'engine_nameplate': '发动机铭牌', 'env_label': '机械环保信息标签'}
_EXTENSIONS = {'image/jpeg': 'jpg', 'image/png': 'png'}


def _c(key, zh, en, table=None, width=12):
    return Column(key, zh, en, table, width)


_VEHICLE = [
    _c('vehicle.vehicle_type', '车辆类型', 'Vehicle type', 'vehicle_type', 16),
    _c('vehicle.vin', '车辆识别代号(VIN)', 'VIN', None, 20),
    _c('vehicle.registration_date', '注册登记日期', 'Registration date', None, 12),
    _c('vehicle.brand_model', '车辆品牌型号', 'Brand / model', None, 18),
    _c('vehicle.engine_model', '发动机型号', 'Engine model', None, 14),
    _c('vehicle.engine_maker', '发动机生产厂', 'Engine manufacturer', None, 16),
    _c('vehicle.engine_no', '发动机号码', 'Engine no.', None, 14),
    _c('vehicle.fuel_type', '燃料类型', 'Fuel', 'fuel_type', 10),
    _c('vehicle.emission_stage', '排放阶段', 'Emission stage', 'emission_stage', 10),
    _c('vehicle.use_nature', '使用性质', 'Use nature', 'use_nature', 12),
    _c('vehicle.networked', '联网状态', 'OBD networked', 'networked', 10),
]

SHEETS = collections.OrderedDict((sheet.ledger, sheet) for sheet in (
    Sheet('passage', '进出厂记录', 'Passages', [
        _c('gate_code', '出入口编号', 'Gate no.', None, 8),
        _c('barrier_no', '道闸编号', 'Barrier no.', None, 10),
        _c('serial', '通行流水号', 'Serial no.', None, 20),
        _c('direction', '进出方向', 'Direction', 'direction', 8),
        _c('pass_time', '进/出厂时间', 'Time (plant local)', None, 19),
        _c('plate', '车牌号码', 'Plate', None, 11),
        _c('plate_color', '号牌颜色', 'Plate colour', 'plate_color', 9),
    ] + _VEHICLE + [
        _c('cargo.name', '运输货物名称', 'Cargo', None, 12),
        _c('cargo.quantity', '运输量', 'Quantity', None, 8),
        _c('cargo.unit', '单位', 'Unit', None, 5),
        _c('vehicle.fleet_name', '车队名称', 'Fleet / haulier', None, 20),
        _c('control_result', '管控结果', 'Control result', 'control_result', 12),
        _c('control_reason', '管控原因', 'Control reason', None, 20),
        _c('lift_mode', '抬杆方式', 'Lift mode', 'lift_mode', 10),
        _c('pictures', '进/出厂照片', 'Pictures (files in the package)', None, 40),
        _c('plate_raw', '识别车牌', 'Plate as read', None, 11),
        _c('confidence', '识别置信度', 'Read confidence', None, 8),
        _c('source', '记录来源', 'Source', SOURCES, 10),
        _c('manual_entry.reason_kind', '补录原因', 'Manual entry reason', MANUAL_REASONS, 12),
        _c('manual_entry.reason', '补录说明', 'Manual entry explanation', None, 20),
        _c('manual_entry.entered_by', '补录人', 'Entered by', None, 10),
        _c('entry_serial', '对应进厂流水号', 'Entry serial (for an exit)', None, 20),
        _c('exit_serial', '对应出厂流水号', 'Exit serial (for an entry)', None, 20),
        _c('vehicle.category', '车辆类别', 'Vehicle category', CATEGORIES, 12),
        _c('vehicle.registered', '已登记', 'Registered', None, 6),
        _c('vehicle.clean', '国五及以上/新能源', 'China V+ / new energy', None, 8),
        _c('flags', '异常标记', 'Flags', FLAG_NAMES, 14),
        _c('reviewed', '已复核', 'Reviewed', None, 6),
        _c('voided', '已作废', 'Voided', None, 6),
        _c('recorded_at', '入账时间', 'Recorded at', None, 19),
        _c('ledger_hash', '台账哈希', 'Ledger chain hash', None, 20),
        _c('record_id', '记录编号', 'Record id', None, 30),
    ]),
    Sheet('vehicle', '进出厂运输车辆', 'Transport vehicles', [
        _c('plate', '车牌号码', 'Plate', None, 11),
        _c('plate_color', '号牌颜色', 'Plate colour', 'plate_color', 9),
    ] + [c._replace(key=c.key[len('vehicle.'):]) for c in _VEHICLE] + [
        _c('pictures', '随车清单/行驶证', 'Emission list / driving licence', None, 16),
        _c('fleet_name', '车队名称', 'Fleet / haulier', None, 20),
        _c('owner', '所属人(单位)', 'Owner (unit)', None, 16),
        _c('clean', '国五及以上/新能源', 'China V+ / new energy', None, 8),
        _c('active', '在用', 'Active', None, 6),
        _c('record_id', '记录编号', 'Record id', None, 30),
    ]),
    Sheet('in_plant_vehicle', '厂内运输车辆', 'In-plant vehicles', [
        _c('internal_code', '环保登记编码/内部编号', 'Env. registration / internal no.', None, 16),
        _c('vin', '车辆识别代号(VIN)', 'VIN', None, 20),
        _c('production_date', '生产日期', 'Production date', None, 12),
        _c('plate', '车牌号码', 'Plate', None, 11),
        _c('registration_date', '注册登记日期', 'Registration date', None, 12),
        _c('brand_model', '车辆型号', 'Vehicle model', None, 18),
        _c('engine_model', '发动机型号', 'Engine model', None, 14),
        _c('engine_maker', '发动机生产厂', 'Engine manufacturer', None, 16),
        _c('engine_no', '发动机号码', 'Engine no.', None, 14),
        _c('fuel_type', '燃料类型', 'Fuel', 'fuel_type', 10),
        _c('emission_stage', '排放阶段', 'Emission stage', 'emission_stage', 10),
        _c('pictures', '随车清单/行驶证', 'Emission list / driving licence', None, 16),
        _c('owner', '所属人(单位)', 'Owner (unit)', None, 16),
        _c('clean', '国五及以上/新能源', 'China V+ / new energy', None, 8),
        _c('active', '在用', 'Active', None, 6),
        _c('record_id', '记录编号', 'Record id', None, 30),
    ]),
    Sheet('machinery', '非道路移动机械', 'Non-road machinery', [
        _c('registration_code', '环保登记编码', 'Env. registration code', None, 16),
        _c('production_date', '生产日期', 'Production date', None, 12),
        _c('plate', '车牌号码', 'Plate', None, 11),
        _c('emission_stage', '排放阶段', 'Emission stage', 'emission_stage', 10),
        _c('fuel_type', '燃料类型', 'Fuel', 'fuel_type', 10),
        _c('machinery_kind', '机械种类', 'Machinery kind', 'machinery_kind', 10),
        _c('pin', 'PIN(产品识别码)', 'PIN / product id', None, 18),
        _c('env_code', '机械环保代码', 'Machinery env. code', None, 18),
        _c('machine_model', '机械型号', 'Machine model', None, 14),
        _c('engine_model', '发动机型号', 'Engine model', None, 14),
        _c('engine_maker', '发动机生产厂', 'Engine manufacturer', None, 16),
        _c('engine_no', '发动机号码', 'Engine no.', None, 14),
        _c('pictures', '铭牌/环保标签照片', 'Nameplate / env. label pictures', None, 20),
        _c('owner', '所属人(单位)', 'Owner (unit)', None, 16),
        _c('clean', '国五及以上/新能源', 'China V+ / new energy', None, 8),
        _c('active', '在用', 'Active', None, 6),
        _c('record_id', '记录编号', 'Record id', None, 30),
    ]),
    Sheet('weighing', '过磅单', 'Weighbridge tickets', [
        _c('name', '磅单号', 'Ticket no.', None, 14),
        _c('plate', '车牌号码', 'Plate', None, 11),
        _c('kind', '类型', 'Kind', WEIGHING_KINDS, 12),
        _c('cargo', '货物名称', 'Cargo', None, 12),
        _c('partner', '供应商/客户', 'Supplier / customer', None, 18),
        _c('first_weight', '第一次称重(t)', 'First weight (t)', None, 10),
        _c('first_time', '第一次称重时间', 'First weighing', None, 19),
        _c('first_source', '第一次称重方式', 'First weighing by', WEIGHING_SOURCES, 8),
        _c('second_weight', '第二次称重(t)', 'Second weight (t)', None, 10),
        _c('second_time', '第二次称重时间', 'Second weighing', None, 19),
        _c('second_source', '第二次称重方式', 'Second weighing by', WEIGHING_SOURCES, 8),
        _c('gross', '毛重(t)', 'Gross (t)', None, 9),
        _c('tare', '皮重(t)', 'Tare (t)', None, 9),
        _c('net', '净重(t)', 'Net (t)', None, 9),
        _c('emission_stage', '排放阶段', 'Emission stage', 'emission_stage', 10),
        _c('fuel_type', '燃料类型', 'Fuel', 'fuel_type', 10),
        _c('state', '状态', 'Status', WEIGHING_STATES, 10),
        _c('barrier_no', '道闸编号', 'Barrier no.', None, 10),
        _c('entry_serial', '进厂流水号', 'Entry serial', None, 20),
        _c('picking', '入库/出库单', 'Receipt / delivery', None, 16),
        _c('operator', '司磅员', 'Operator', None, 10),
        _c('manual_reason', '人工称重说明', 'Manual weighing reason', None, 20),
    ]),
    Sheet('correction', '更正记录', 'Corrections', [
        _c('time', '更正时间', 'Time (plant local)', None, 19),
        _c('passage_serial', '通行流水号', 'Passage serial', None, 20),
        _c('kind', '更正类型', 'Correction', CORRECTION_KINDS, 14),
        _c('old_plate', '原车牌', 'Plate before', None, 11),
        _c('new_plate', '更正车牌', 'Correct plate', None, 11),
        _c('new_plate_color', '更正号牌颜色', 'Correct plate colour', 'plate_color', 9),
        _c('cargo', '货物名称', 'Cargo', None, 12),
        _c('quantity', '运输量', 'Quantity', None, 8),
        _c('reason', '更正原因', 'Reason', None, 30),
        _c('user', '操作人', 'By', None, 10),
        _c('ledger_hash', '台账哈希', 'Ledger chain hash', None, 20),
    ]),
))


# ---- names ---------------------------------------------------------------------------

_UNSAFE = re.compile(r'[^0-9A-Za-z_.\-\u4e00-\u9fff]')


def safe_name(text):
    """A file-name part: letters, digits, CJK, '_', '.', '-' kept, anything else '_'."""
    text = _UNSAFE.sub('_', str(text or '').strip()) or '_'
    return '_' + text if text.startswith('.') else text


def picture_name(serial, kind, mime='image/jpeg'):
    """'pictures/<serial>_<kind>.<ext>' for a passage's picture."""
    return '%s%s_%s.%s' % (PICTURES, safe_name(serial), safe_name(kind),
                           _EXTENSIONS.get(mime or '', 'jpg'))


def json_name(ledger):
    """The JSON Lines file of a ledger's canonical records."""
    return '%s%s.jsonl' % (JSON_DIR, ledger)


def package_name(enterprise_code, date_from, date_to):
    """'audit_<enterprise>_<from>_<to>.zip' (dates as 'YYYY-MM-DD' text or dates)."""
    return 'audit_%s_%s_%s.zip' % (safe_name(enterprise_code or 'plant'),
                                   str(date_from)[:10], str(date_to)[:10])


def json_line(record):
    """One JSON Lines line (UTF-8 bytes, sorted keys, Chinese kept)."""
    return (json.dumps(record, ensure_ascii=False, sort_keys=True) + '\n').encode('utf-8')


# ---- sheet rows ----------------------------------------------------------------------

def explain(table, code):
    """'<code> <Chinese name>' of a code: an HJ 1321 table name or a {code: name} dict."""
    if code is None or code is False or code == '':
        return ''
    key = (table if isinstance(table, str) else id(table), code)
    text = _EXPLAINED.get(key)
    if text is None:
        if isinstance(table, dict):
            name = table.get(code)
        else:
            entry = codes.get(table, code)
            name = entry and entry.name_zh
        text = _EXPLAINED[key] = '%s %s' % (code, name) if name else str(code)
    return text


_EXPLAINED = {}     # (table, code) -> text: a month's export explains the same codes a million times


def _pictures_cell(ledger, record, with_files):
    pictures = record.get('pictures') or []
    if ledger == 'passage':
        if not with_files:
            return ', '.join(PICTURE_NAMES.get(p['kind'], p['kind']) for p in pictures)
        return ', '.join(picture_name(record.get('serial'), p['kind'], p.get('mime'))
                         for p in pictures)
    return ', '.join(PICTURE_NAMES.get(p['kind'], p['kind']) for p in pictures)


def _plan(ledger):
    """Per column of the ledger's sheet: (key, its path, its code table), made once."""
    plan = _PLANS.get(ledger)
    if plan is None:
        plan = _PLANS[ledger] = [(column.key, tuple(column.key.split('.')), column.codes)
                                 for column in SHEETS[ledger].columns]
    return plan


_PLANS = {}


def sheet_row(ledger, record, with_files=True):
    """The cells of one record in the ledger's sheet: codes explained, booleans 是/否,
    lists joined, absent values ''. `record` is a canonical record (hj1321.canonical) for
    the canonical ledgers, a flat dict keyed as the column keys for the others.
    `with_files`: name the picture files of a passage (they are in the package)."""
    row = []
    append = row.append
    for key, path, table in _plan(ledger):
        if key == 'pictures':
            append(_pictures_cell(ledger, record, with_files))
            continue
        value = record.get(path[0])
        for part in path[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            append('')
        elif value is True or value is False:
            append('是' if value else '否')
        elif isinstance(value, (list, tuple)):
            append(', '.join(explain(table, v) if table else str(v) for v in value))
        elif table:
            append(explain(table, value))
        else:
            append(value)
    return row


# ---- manifest ------------------------------------------------------------------------

class Digest(object):
    """SHA-256 and size of a stream, fed as it is written."""

    def __init__(self):
        self._sha = hashlib.sha256()
        self.size = 0

    def update(self, data):
        self._sha.update(data)
        self.size += len(data)

    @property
    def sha256(self):
        return self._sha.hexdigest()

    def entry(self, name):
        return {'name': name, 'size': self.size, 'sha256': self.sha256}


def digest_bytes(name, data):
    """The manifest entry of a file given as bytes."""
    digest = Digest()
    digest.update(data)
    return digest.entry(name)


def digest_file(name, path):
    """The manifest entry of a file on disk, read in chunks."""
    digest = Digest()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b''):
            digest.update(chunk)
    return digest.entry(name)


def build_manifest(files, period, created_by, created_at, **extra):
    """The manifest: format, period {'from', 'to', 'time_zone'}, who and when, every file
    (sorted by name) with size and SHA-256, and any `extra` keys (counts, gates...)."""
    names = [entry['name'] for entry in files]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError('files named twice: %s' % ', '.join(duplicates))
    manifest = {'format': FORMAT, 'period': dict(period), 'created_by': created_by,
                'created_at': created_at,
                'files': sorted((dict(entry) for entry in files), key=lambda e: e['name'])}
    manifest.update(extra)
    return manifest


def manifest_bytes(manifest):
    """manifest.json as written in the package (UTF-8, indented, sorted keys)."""
    return json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1).encode('utf-8')


def sha256sums(manifest):
    """SHA256SUMS in the form `sha256sum -c` reads: '<hex>  <name>' per file."""
    return ''.join('%s  %s\n' % (entry['sha256'], entry['name'])
                   for entry in manifest['files']).encode('utf-8')


def verify_zip(source):
    """Problems found in a package (a path or a binary file object); [] when it verifies.

    Every file the manifest lists must be there with its size and SHA-256, no other file
    may be there (besides the manifest and SHA256SUMS), and SHA256SUMS must agree with
    the manifest. Each problem is a short English sentence naming the file.
    """
    problems = []
    try:
        package = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        return ['not a readable ZIP file: %s' % exc]
    with package:
        names = set(package.namelist())
        if MANIFEST not in names:
            return ['%s is missing' % MANIFEST]
        try:
            manifest = json.loads(package.read(MANIFEST).decode('utf-8'))
            listed = {entry['name']: entry for entry in manifest['files']}
        except (ValueError, KeyError, TypeError) as exc:
            return ['%s is not a valid manifest: %s' % (MANIFEST, exc)]
        if manifest.get('format') != FORMAT:
            problems.append('unknown package format %r' % manifest.get('format'))
        for name in sorted(listed):
            if name not in names:
                problems.append('%s is missing' % name)
                continue
            digest = Digest()
            with package.open(name) as handle:
                for chunk in iter(lambda: handle.read(CHUNK), b''):
                    digest.update(chunk)
            entry = listed[name]
            if digest.size != entry.get('size'):
                problems.append('%s has %d bytes, the manifest says %s'
                                % (name, digest.size, entry.get('size')))
            if digest.sha256 != entry.get('sha256'):
                problems.append('%s does not match its SHA-256' % name)
        for name in sorted(names - set(listed) - {MANIFEST, SUMS}):
            if not name.endswith('/'):
                problems.append('%s is not in the manifest' % name)
        if SUMS in names and package.read(SUMS) != sha256sums(manifest):
            problems.append('%s does not agree with %s' % (SUMS, MANIFEST))
    return problems
