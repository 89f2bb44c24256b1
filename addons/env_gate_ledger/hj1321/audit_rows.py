"""The passages of an audit export, read, built and written as spreadsheet rows and JSON
Lines, by the export job itself or by worker processes.

A large plant's month is ~190,000 passages; reading, building the canonical record, the
sheet row and its XML costs ~0.45 ms a passage in Python, 85 s in one process, against the
one minute the audit export has. The rows of a passage are independent, so the job hands
two halves of a big month to two processes (`python -m audit_worker` in the add-on's
folder: this package and psycopg2, no Odoo) and writes the other ledgers meanwhile; each
worker writes the sheet rows (XML, numbered from its first row) and the JSON Lines of its
half to files the job then copies into the package in order. Small exports run the same
function in the job's own cursor.

Nothing here imports Odoo: `cursor` is any DB-API cursor on the plant's database.
"""
from . import audit_package as pkg, canonical, xlsx
from .errors import Hj1321Error

PASSAGE_SQL = """
    SELECT p.id, p.name, p.direction, p.pass_time, p.decision, p.plate_raw,
           p.plate_key, p.corrected_plate, p.plate_color, p.confidence, p.source,
           p.reason, p.lift_mode, p.manual_reason_kind, p.manual_reason,
           mp.name AS manual_user, p.emission_stage, p.fuel_type, p.vin,
           p.vehicle_type, p.use_nature, p.networked, p.fleet_name, p.category,
           p.clean, p.vehicle_id, p.quantity, c.name AS cargo_name, c.uom,
           e.name AS entry_name, x.name AS exit_name, p.flag_unregistered,
           p.flag_low_confidence, p.flag_no_entry, p.flag_unreadable,
           p.flag_bad_plate, p.reviewed, p.voided, p.chain_hash AS hash,
           p.create_date, p.picture_digests, l.barrier_no, l.code AS lane_code,
           g.code AS gate_code
      FROM env_gate_passage p
      JOIN env_gate_lane l ON l.id = p.lane_id
      LEFT JOIN env_gate_gate g ON g.id = p.gate_id
      LEFT JOIN env_gate_cargo c ON c.id = p.cargo_id
      LEFT JOIN env_gate_passage e ON e.id = p.entry_id
      LEFT JOIN env_gate_passage x ON x.id = p.exit_id
      LEFT JOIN res_users mu ON mu.id = p.manual_user_id
      LEFT JOIN res_partner mp ON mp.id = mu.partner_id
     WHERE p.id = ANY(%s)"""

VEHICLE_SQL = """
    SELECT id, category, plate, plate_color, vin, vehicle_type, registration_date,
           brand_model, engine_model, engine_maker, engine_no, fuel_type,
           emission_stage, use_nature, networked, fleet_name, owner
      FROM env_gate_vehicle WHERE id = ANY(%s)"""

CHUNK = 2000


def _dicts(cursor):
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def passage_values(cursor, ids, vehicles):
    """{id: values for canonical.canonical_passage} of these passages, in two queries (the
    same values as env.gate.passage._upload_values: a test holds them equal). `vehicles`
    caches register entries between calls."""
    cursor.execute(PASSAGE_SQL, (list(ids),))
    values = {row['id']: row for row in _dicts(cursor)}
    missing = list({row['vehicle_id'] for row in values.values() if row['vehicle_id']}
                   - set(vehicles))
    if missing:
        cursor.execute(VEHICLE_SQL, (missing,))
        vehicles.update((row['id'], row) for row in _dicts(cursor))
    for row in values.values():
        row['vehicle'] = vehicles.get(row['vehicle_id'])
    return values


def write_passages(cursor, ids, first_row, enterprise, tz, with_files, sheet_out=None,
                   json_out=None, progress=None):
    """Build the passages `ids` (in this order) and write their sheet rows, numbered from
    `first_row`, as XML to `sheet_out` and their canonical records as JSON Lines to
    `json_out` (binary files; either may be None). Returns (rows written, errors: one
    dict per passage whose record could not be built)."""
    vehicles, errors, count = {}, [], 0
    row_number = first_row
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        values = passage_values(cursor, chunk, vehicles)
        xml = []
        for pid in chunk:
            try:
                record = canonical.canonical_passage(values[pid], enterprise=enterprise,
                                                     tz=tz, revised=json_out is not None)
            except Hj1321Error as exc:
                errors.append({'ledger': 'passage', 'id': pid,
                               'serial': values[pid].get('name'), 'code': exc.code,
                               'message': exc.message_en})
                continue
            count += 1
            if json_out is not None:
                json_out.write(pkg.json_line(record))
            if sheet_out is not None:
                xml.append(xlsx.row_xml(row_number, pkg.sheet_row('passage', record,
                                                                  with_files)))
                row_number += 1
        if sheet_out is not None:
            sheet_out.write(''.join(xml).encode('utf-8'))
        if progress:
            progress(len(chunk))
    return count, errors
