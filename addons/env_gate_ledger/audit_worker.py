"""The audit export's worker process: `python -m audit_worker`, run in this add-on's folder
by env.gate.audit.export (see hj1321/audit_rows.py for why). Reads a JSON job on stdin,
writes the passage rows and JSON Lines of its share of the passages to the files it names
and answers {"count", "errors"} on stdout. It imports no Odoo: hj1321 and psycopg2 only,
on a read-only connection of its own.
"""
import json
import sys

import psycopg2
import psycopg2.extensions as ext
import pytz

from hj1321 import audit_rows


def odoo_types(connection):
    """Make `connection` return what Odoo's cursor returns (odoo/sql_db.py): dates, times
    and timestamps as text, NUMERIC and floats as float, so a worker builds the very
    records the job would."""
    ext.register_type(ext.new_type((1082, 1083, 1114), 'ODOO_TEXT', lambda value, _c: value),
                      connection)
    ext.register_type(ext.new_type((700, 701, 1700), 'ODOO_FLOAT',
                                   lambda value, _c: None if value is None else float(value)),
                      connection)


def main():
    """job: dsn (psycopg2 connect keywords), ids, first_row, enterprise, tz (a zone name),
    with_files, sheet_path and json_path (None to skip)."""
    job = json.load(sys.stdin)
    connection = psycopg2.connect(**job['dsn'])
    try:
        odoo_types(connection)
        connection.set_session(readonly=True)
        sheet_out = open(job['sheet_path'], 'wb') if job.get('sheet_path') else None
        json_out = open(job['json_path'], 'wb') if job.get('json_path') else None
        try:
            with connection.cursor() as cursor:
                count, errors = audit_rows.write_passages(
                    cursor, job['ids'], job['first_row'], job['enterprise'],
                    pytz.timezone(job['tz']), job['with_files'], sheet_out, json_out)
        finally:
            for handle in (sheet_out, json_out):
                if handle is not None:
                    handle.close()
    finally:
        connection.close()
    json.dump({'count': count, 'errors': errors}, sys.stdout)


if __name__ == '__main__':
    main()
