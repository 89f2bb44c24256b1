#!/usr/bin/env python3
"""Time to build the audit export (审计导出) of one month on a database.

Runs the export job (`env.gate.audit.export._run`, what the cron "Audit exports: run"
calls) for the given month, every ledger and every kind of file unless told otherwise,
then verifies the package (hj1321.audit_package.verify_zip) and prints the figures: rows
per ledger, pictures, package size, seconds, and the cost per passage, from which a large
plant's month (~180,000 passages) is extrapolated. Everything happens in one transaction
that is rolled back, so the database is left as it was.

    .venv/bin/python bench/audit_export.py -d wt_export -c /work/wt/export.conf --month 2026-11
    .venv/bin/python bench/audit_export.py              # env_gate_scale, last month
"""
import argparse
import base64
import datetime
import io
import os
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
LARGE_MONTH = 180000


def _month(text, today):
    if text:
        first = datetime.datetime.strptime(text, '%Y-%m').date()
    else:
        first = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    last = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) \
        - datetime.timedelta(days=1)
    return str(first), str(last)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-d', '--db', default='env_gate_scale')
    parser.add_argument('-c', '--config', default=os.path.join(ROOT, '.state', 'odoo.conf'))
    parser.add_argument('--month', help='YYYY-MM (default: last month in the plant\'s time)')
    parser.add_argument('--no-pictures', action='store_true')
    parser.add_argument('--no-pdf', action='store_true')
    parser.add_argument('--no-xlsx', action='store_true')
    parser.add_argument('--no-json', action='store_true')
    args = parser.parse_args()

    import odoo
    from odoo import api
    odoo.tools.config.parse_config(['-c', args.config, '-d', args.db, '--log-level=warn'])
    from odoo.addons.env_gate_ledger.hj1321 import audit_package as pkg
    registry = odoo.registry(args.db)
    with api.Environment.manage(), registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {'lang': 'zh_CN', 'tz': 'Asia/Shanghai'})
        today = datetime.datetime.now(env['env.gate.passage']._plant_tz()).date()
        date_from, date_to = _month(args.month, today)
        company = env.user.company_id
        if not company.env_gate_enterprise_code:
            # bench/generate.py's database has none; rolled back with the rest
            company.env_gate_enterprise_code = '1302030001'
        export = env['env.gate.audit.export'].create({
            'date_from': date_from, 'date_to': date_to,
            'include_pictures': not args.no_pictures, 'include_pdf': not args.no_pdf,
            'include_xlsx': not args.no_xlsx, 'include_json': not args.no_json})
        passages = export._passage_count()
        started = time.perf_counter()
        export._run()
        seconds = time.perf_counter() - started
        if export.state != 'done':
            cr.rollback()
            raise SystemExit('export failed: %s' % export.message)
        data = base64.b64decode(export.attachment_id.datas)
        verify_started = time.perf_counter()
        problems = pkg.verify_zip(io.BytesIO(data))
        verify_seconds = time.perf_counter() - verify_started
        import json
        import zipfile
        manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read(pkg.MANIFEST))
        cr.rollback()
    print('database %s, period %s .. %s' % (args.db, date_from, date_to))
    for ledger, count in sorted(manifest['counts'].items()):
        print('  %-18s %8d rows' % (ledger, count))
    print('  %-18s %8d' % ('pictures', sum(1 for f in manifest['files']
                                          if f['name'].startswith(pkg.PICTURES))))
    print('package: %.1f MB, %d files; built in %.1f s; verified in %.1f s (%s)' % (
        len(data) / 1e6, len(manifest['files']), seconds, verify_seconds,
        'ok' if not problems else '; '.join(problems[:3])))
    if passages:
        per = seconds / passages
        print('%.2f ms per passage (all files included); a %d-passage month at this rate: '
              '%.0f s' % (per * 1000, LARGE_MONTH, per * LARGE_MONTH))


if __name__ == '__main__':
    main()
