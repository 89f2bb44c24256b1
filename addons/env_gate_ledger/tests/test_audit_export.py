"""The audit export: one verifiable ZIP of a period's ledgers, built by a background job."""
import base64
import datetime
import io
import json
import zipfile

import jsonschema
import xlrd

from odoo.exceptions import AccessError, UserError
from odoo.tests.common import SavepointCase

from unittest import mock

from ..hj1321 import audit_package as pkg, audit_rows, canonical
from ..models import env_gate_audit_export
from ..models.env_gate_upload_sources import stored_values


def _rewrite(data, name, content):
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, 'w') as target:
        for member in source.namelist():
            target.writestr(member, content if member == name else source.read(member))
    return out.getvalue()


class TestAuditExport(SavepointCase):

    @classmethod
    def setUpClass(cls):
        super(TestAuditExport, cls).setUpClass()
        cls.Export = cls.env['env.gate.audit.export']
        cls.company = cls.env.ref('base.main_company')
        # the demo traffic: the last 30 days before the install, in the plant's days
        cls.env.cr.execute("SELECT max(pass_date) FROM env_gate_passage WHERE company_id = %s",
                           (cls.company.id,))
        last = cls.env.cr.fetchone()[0]
        cls.date_to = last
        cls.date_from = str(datetime.date(*map(int, last.split('-'))) - datetime.timedelta(days=30))
        cls.export = cls.Export.create({'date_from': cls.date_from, 'date_to': cls.date_to,
                                        'company_id': cls.company.id})
        cls.export._run()
        cls.data = base64.b64decode(cls.export.attachment_id.datas)
        cls.zip = zipfile.ZipFile(io.BytesIO(cls.data))
        cls.manifest = json.loads(cls.zip.read(pkg.MANIFEST).decode('utf-8'))
        cls.passages = cls.env['env.gate.passage'].search([
            ('company_id', '=', cls.company.id), ('pass_date', '>=', cls.date_from),
            ('pass_date', '<=', cls.date_to)])

    def test_package_is_attached_and_verifies(self):
        export = self.export
        self.assertEqual(export.state, 'done', export.message)
        self.assertEqual(export.progress, 100.0)
        self.assertGreater(len(self.passages), 100)
        self.assertEqual(export.attachment_id.res_model, 'env.gate.audit.export')
        self.assertEqual(export.attachment_id.res_id, export.id)
        self.assertEqual(pkg.verify_zip(io.BytesIO(self.data)), [])
        self.assertEqual(export.package_sha256, pkg.digest_bytes('p', self.data)['sha256'])
        self.assertEqual(export.manifest_sha256,
                         pkg.digest_bytes('m', self.zip.read(pkg.MANIFEST))['sha256'])
        self.assertEqual(self.manifest['period']['from'], self.date_from)
        self.assertEqual(self.manifest['period']['to'], self.date_to)
        self.assertEqual(self.manifest['counts']['passage'], len(self.passages))
        self.assertTrue(self.manifest['chain']['ok'], self.manifest['chain'])
        self.assertGreaterEqual(self.manifest['chain']['checked'], len(self.passages))
        self.assertTrue(self.zip.read(pkg.PDF).startswith(b'%PDF'))
        summary = json.loads(export.summary_json)
        self.assertEqual(summary['refusals'],
                         len(self.passages.filtered(lambda p: p.decision == '2')))
        self.assertEqual(summary['entries'], len(self.passages.filtered(
            lambda p: p.direction == '1' and not p.voided)))

    def test_a_tampered_file_fails_verification(self):
        name = pkg.json_name('passage')
        content = self.zip.read(name).replace(b'"direction": "1"', b'"direction": "2"', 1)
        self.assertNotEqual(content, self.zip.read(name))
        problems = pkg.verify_zip(io.BytesIO(_rewrite(self.data, name, content)))
        self.assertEqual(problems, ['%s does not match its SHA-256' % name])

    def test_workbook_has_a_sheet_per_ledger_with_headers_and_rows(self):
        book = xlrd.open_workbook(file_contents=self.zip.read(pkg.XLSX))
        self.assertEqual(book.sheet_names(), [s.name for s in pkg.SHEETS.values()])
        counts = {
            'passage': len(self.passages),
            'vehicle': self.env['env.gate.vehicle'].with_context(active_test=False)
            .search_count([('category', '=', 'transport'), ('company_id', '=', self.company.id)]),
            'in_plant_vehicle': self.env['env.gate.vehicle'].with_context(active_test=False)
            .search_count([('category', '=', 'in_plant'), ('company_id', '=', self.company.id)]),
            'machinery': self.env['env.gate.machinery'].with_context(active_test=False)
            .search_count([('company_id', '=', self.company.id)]),
            'weighing': self.env['env.gate.weighing'].search_count([
                ('company_id', '=', self.company.id), ('weigh_date', '>=', self.date_from),
                ('weigh_date', '<=', self.date_to)]),
        }
        for ledger, sheet in pkg.SHEETS.items():
            rows = book.sheet_by_name(sheet.name)
            self.assertEqual(rows.row_values(0), [c.zh for c in sheet.columns])
            self.assertEqual(rows.row_values(1), [c.en for c in sheet.columns])
            self.assertEqual(rows.nrows - 2, self.manifest['counts'][ledger], ledger)
            if ledger in counts:
                self.assertEqual(rows.nrows - 2, counts[ledger], ledger)
        self.assertGreater(counts['weighing'], 0)
        # codes explained, times in the plant's local time, in pass-time order
        passages = book.sheet_by_name(pkg.SHEETS['passage'].name)
        keys = [c.key for c in pkg.SHEETS['passage'].columns]
        first = self.passages.sorted(lambda p: (p.pass_time, p.id))[0]
        row = dict(zip(keys, passages.row_values(2)))
        self.assertEqual(row['serial'], first.name)
        local = canonical.build('passage', {'name': 'x', 'direction': '1', 'decision': '1',
                                            'barrier_no': 'x', 'pass_time': first.pass_time},
                                enterprise={'code': 'x'})['pass_time']
        self.assertEqual(row['pass_time'], local)
        self.assertNotEqual(row['pass_time'], first.pass_time)     # not UTC
        self.assertEqual(row['direction'], '1 进厂' if first.direction == '1' else '2 出厂')
        stages = set(passages.col_values(keys.index('vehicle.emission_stage'), 2))
        self.assertIn('6 国VI', stages)
        self.assertIn('B 柴油', set(passages.col_values(keys.index('vehicle.fuel_type'), 2)))

    def test_pictures_are_named_after_their_passages(self):
        self.env.cr.execute("""
            SELECT p.name, a.res_field FROM ir_attachment a
              JOIN env_gate_passage p ON p.id = a.res_id
             WHERE a.res_model = 'env.gate.passage' AND a.res_field LIKE 'picture_%%'
               AND p.id = ANY(%s)""", (self.passages.ids,))
        expected = {pkg.picture_name(serial, field[len('picture_'):])
                    for serial, field in self.env.cr.fetchall()}
        self.assertTrue(expected)
        names = {n for n in self.zip.namelist() if n.startswith(pkg.PICTURES)}
        self.assertEqual(names, expected)
        name = sorted(names)[0]
        self.assertTrue(self.zip.read(name).startswith(b'\xff\xd8\xff'))    # a JPEG

    def test_json_records_validate_against_their_schemas(self):
        for ledger in pkg.CANONICAL:
            lines = self.zip.read(pkg.json_name(ledger)).decode('utf-8').splitlines()
            self.assertEqual(len(lines), self.manifest['counts'][ledger], ledger)
            validator = jsonschema.Draft7Validator(canonical.load_schema(ledger))
            for line in lines:
                record = json.loads(line)
                errors = list(validator.iter_errors(record))
                self.assertFalse(errors, (ledger, record.get('record_id'), errors[:1]))
        serials = {json.loads(line)['serial'] for line in
                   self.zip.read(pkg.json_name('passage')).decode('utf-8').splitlines()}
        self.assertEqual(serials, set(self.passages.mapped('name')))

    def test_sql_values_make_the_records_the_upload_path_makes(self):
        tz = self.env['env.gate.passage']._plant_tz()
        enterprise = {'code': self.company.env_gate_enterprise_code, 'name': self.company.name}
        # a sample with exits, manual lifts, refusals and pictures
        sample = (self.passages.filtered(lambda p: p.direction == '2')[:20]
                  | self.passages.filtered(lambda p: p.decision in ('2', '3'))[:20]
                  | self.passages.filtered(lambda p: p.picture_digests)[:10])
        mine = audit_rows.passage_values(self.env.cr, sample.ids, {})
        theirs = sample.with_context(prefetch_fields=False)._upload_values(False)
        for pid in sample.ids:
            self.assertEqual(
                canonical.build('passage', mine[pid], enterprise=enterprise, tz=tz),
                canonical.build('passage', theirs[pid], enterprise=enterprise, tz=tz))

    def test_register_values_by_sql_make_the_records_the_orm_makes(self):
        enterprise = {'code': self.company.env_gate_enterprise_code, 'name': self.company.name}
        for model, ledger, domain in (
                ('env.gate.vehicle', 'vehicle', [('category', '=', 'transport')]),
                ('env.gate.vehicle', 'in_plant_vehicle', [('category', '=', 'in_plant')]),
                ('env.gate.machinery', 'machinery', [])):
            records = self.env[model].search(domain, limit=30)
            self.assertTrue(records, model)
            mine = stored_values(self.env[model], records.ids)
            theirs = records._upload_values(False)
            for rid in records.ids:
                self.assertEqual(canonical.build(ledger, mine[rid], enterprise=enterprise),
                                 canonical.build(ledger, theirs[rid], enterprise=enterprise))

    def test_worker_processes_write_what_the_job_writes(self):
        """A big month's passages are built by two worker processes on connections of their
        own (they read committed data: the demo traffic is): the same sheet rows, in the
        same order, and the same JSON records as the job makes itself."""
        export = self.Export.create({'date_from': self.date_from, 'date_to': self.date_to,
                                     'company_id': self.company.id, 'include_pdf': False})
        with mock.patch.object(env_gate_audit_export, 'PARALLEL_FROM', 1):
            export._run()
        self.assertEqual(export.state, 'done', export.message)
        package = zipfile.ZipFile(io.BytesIO(base64.b64decode(export.attachment_id.datas)))
        self.assertEqual(pkg.verify_zip(io.BytesIO(base64.b64decode(export.attachment_id.datas))),
                         [])

        def passage_sheet(archive):
            book = xlrd.open_workbook(file_contents=archive.read(pkg.XLSX))
            self.assertEqual(book.sheet_names()[0], pkg.SHEETS['passage'].name)
            sheet = book.sheet_by_index(0)
            return [sheet.row_values(n) for n in range(sheet.nrows)]
        mine, theirs = passage_sheet(package), passage_sheet(self.zip)
        self.assertEqual(len(mine), len(self.passages) + 2)
        self.assertEqual(mine, theirs)
        name = pkg.json_name('passage')
        self.assertEqual(package.read(name), self.zip.read(name))

    def test_a_failure_sets_failed_with_a_message(self):
        export = self.Export.create({'date_from': self.date_from, 'date_to': self.date_to,
                                     'include_pdf': False})
        self.company.env_gate_enterprise_code = False
        self.assertFalse(export._run())
        self.assertEqual(export.state, 'failed')
        self.assertIn('enterprise code', export.message)
        self.assertFalse(export.attachment_id)

    def test_start_queues_and_the_cron_builds_it(self):
        export = self.Export.create({
            'date_from': self.date_from, 'date_to': self.date_to, 'ledger_passage': False,
            'ledger_weighing': False, 'ledger_correction': False, 'include_pdf': False,
            'gate_ids': [(6, 0, self.env['env.gate.gate'].search([], limit=1).ids)]})
        export.action_start()
        self.assertEqual(export.state, 'queued')
        with self.assertRaises(UserError):
            export.action_start()
        self.assertIn(export, self.Export._cron_run())
        self.assertEqual(export.state, 'done', export.message)
        package = zipfile.ZipFile(io.BytesIO(base64.b64decode(export.attachment_id.datas)))
        self.assertNotIn(pkg.json_name('passage'), package.namelist())
        self.assertEqual(json.loads(package.read(pkg.MANIFEST).decode())['ledgers'],
                         ['vehicle', 'in_plant_vehicle', 'machinery'])

    def test_an_interrupted_export_is_marked_failed(self):
        export = self.Export.create({'date_from': self.date_from, 'date_to': self.date_to})
        self.env.cr.execute("UPDATE env_gate_audit_export SET state = 'running', "
                            "write_date = now() at time zone 'UTC' - interval '2 hours' "
                            "WHERE id = %s", (export.id,))
        export.invalidate_cache()
        self.Export._cron_run()
        self.assertEqual(export.state, 'failed')
        self.assertTrue(export.message)

    def test_default_period_is_last_month_in_plant_time(self):
        defaults = self.Export.default_get(['date_from', 'date_to'])
        today = datetime.datetime.now(self.env['env.gate.passage']._plant_tz()).date()
        last = today.replace(day=1) - datetime.timedelta(days=1)
        self.assertEqual(defaults['date_from'], str(last.replace(day=1)))
        self.assertEqual(defaults['date_to'], str(last))

    def test_only_auditors_and_managers_read_the_package(self):
        auditor = self.env['res.users'].search([('login', '=', 'auditor')])
        clerk = self.env['res.users'].search([('login', '=', 'clerk')])
        self.assertTrue(auditor and clerk)
        mine = self.Export.sudo(auditor).create({
            'date_from': self.date_from, 'date_to': self.date_to, 'ledger_passage': False,
            'ledger_weighing': False, 'ledger_correction': False, 'include_pdf': False})
        mine.action_run_now()
        self.assertEqual(mine.state, 'done', mine.message)
        self.assertTrue(mine.attachment_id.sudo(auditor).datas)
        attachment = self.export.attachment_id
        with self.assertRaises(AccessError):
            attachment.sudo(clerk).read(['datas'])
        with self.assertRaises(AccessError):
            self.Export.sudo(clerk).search([])
