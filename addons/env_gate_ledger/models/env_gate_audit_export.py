"""The audit export (审计导出): a period's ledgers as one verifiable ZIP package.

An inspector asks for "last month's gate ledger": the XLSX the people read, the pictures,
a PDF summary, the canonical JSON records a machine reads and a manifest of SHA-256 sums
(hj1321.audit_package) so the package can be checked later. A large plant's month is
~180,000 passages, far beyond a browser request, so an export is a stored record that
"Start" queues and the cron "Audit exports: run" builds in the background (no queue_job
here). The job reads the ledgers in chunks with the prefetch off, streams the workbook
(hj1321.xlsx, a streaming writer), the JSON Lines and the pictures to temporary files and
commits the package as an attachment of the export. Its progress is written through a
cursor of its own, so the form shows it while the job's transaction is still open.
"""
import base64
import datetime
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

import psycopg2

import odoo
from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..hj1321 import audit_package as pkg, audit_rows, canonical, chain, codes, xlsx
from ..hj1321.errors import Hj1321Error
from .common import bilingual
from .env_gate_upload_sources import stored_values

_logger = logging.getLogger(__name__)

CHUNK = 2000                 # passages read, built and written per round
RUN_NOW_LIMIT = 20000        # "Run now" (in the browser's request) up to this many passages
STALE_MINUTES = 30           # a running export without progress this long was interrupted
PARALLEL_FROM = 20000        # passages from which two worker processes build them
ADDON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRESS_SECONDS = 1.0       # progress written at most this often
PICTURE_FIELDS = ['picture_%s' % kind for kind in canonical.PASSAGE_PICTURES]
LEDGER_FIELDS = {'passage': 'ledger_passage', 'vehicle': 'ledger_vehicle',
                 'in_plant_vehicle': 'ledger_in_plant_vehicle', 'machinery': 'ledger_machinery',
                 'weighing': 'ledger_weighing', 'correction': 'ledger_correction'}
CLEAN = ('5', '6', 'D')


def _pct(part, whole):
    return round(100.0 * part / whole, 2) if whole else 0.0


class EnvGateAuditExport(models.Model):
    _name = 'env.gate.audit.export'
    _description = 'Audit Export'
    _order = 'id desc'

    def _plant_today(self):
        tz = self.env['env.gate.passage']._plant_tz()
        return datetime.datetime.now(tz).date()

    def _default_date_from(self):
        last = self._plant_today().replace(day=1) - datetime.timedelta(days=1)
        return fields.Date.to_string(last.replace(day=1))

    def _default_date_to(self):
        return fields.Date.to_string(
            self._plant_today().replace(day=1) - datetime.timedelta(days=1))

    name = fields.Char('Export', compute='_compute_name', store=True)
    company_id = fields.Many2one('res.company', 'Company', required=True, readonly=True,
                                 states={'draft': [('readonly', False)]},
                                 default=lambda self: self.env.user.company_id)
    date_from = fields.Date('From', required=True, default=_default_date_from, readonly=True,
                            states={'draft': [('readonly', False)]},
                            help='First day of the period, in the plant\'s time zone.')
    date_to = fields.Date('To', required=True, default=_default_date_to, readonly=True,
                          states={'draft': [('readonly', False)]},
                          help='Last day of the period (included), in the plant\'s time zone.')
    gate_ids = fields.Many2many('env.gate.gate', string='Gates', readonly=True,
                                states={'draft': [('readonly', False)]},
                                help='Leave empty for every gate.')
    ledger_passage = fields.Boolean('Passages', default=True, readonly=True,
                                    states={'draft': [('readonly', False)]})
    ledger_vehicle = fields.Boolean('Transport Vehicles', default=True, readonly=True,
                                    states={'draft': [('readonly', False)]})
    ledger_in_plant_vehicle = fields.Boolean('In-plant Vehicles', default=True, readonly=True,
                                             states={'draft': [('readonly', False)]})
    ledger_machinery = fields.Boolean('Non-road Machinery', default=True, readonly=True,
                                      states={'draft': [('readonly', False)]})
    ledger_weighing = fields.Boolean('Weighbridge Tickets', default=True, readonly=True,
                                     states={'draft': [('readonly', False)]})
    ledger_correction = fields.Boolean('Corrections', default=True, readonly=True,
                                       states={'draft': [('readonly', False)]})
    include_xlsx = fields.Boolean('XLSX Workbook', default=True, readonly=True,
                                  states={'draft': [('readonly', False)]})
    include_pictures = fields.Boolean('Pictures', default=True, readonly=True,
                                      states={'draft': [('readonly', False)]})
    include_pdf = fields.Boolean('PDF Summary', default=True, readonly=True,
                                 states={'draft': [('readonly', False)]})
    include_json = fields.Boolean('Canonical JSON', default=True, readonly=True,
                                  states={'draft': [('readonly', False)]})
    state = fields.Selection([('draft', 'Draft'), ('queued', 'Queued'), ('running', 'Running'),
                              ('done', 'Done'), ('failed', 'Failed')], 'Status',
                             default='draft', required=True, readonly=True, index=True)
    progress = fields.Float('Progress (%)', readonly=True)
    message = fields.Text('Message', readonly=True)
    user_id = fields.Many2one('res.users', 'Requested By', readonly=True,
                              default=lambda self: self.env.user)
    started_at = fields.Datetime('Started', readonly=True)
    finished_at = fields.Datetime('Finished', readonly=True)
    duration = fields.Float('Duration (s)', digits=(12, 1), readonly=True)
    attachment_id = fields.Many2one('ir.attachment', 'Package', readonly=True,
                                    ondelete='set null')
    package_size = fields.Integer('Package Size (bytes)', readonly=True)
    package_sha256 = fields.Char('Package SHA-256', readonly=True,
                                 help='Keep it apart from the package: a copy whose SHA-256 '
                                      'differs was changed, manifest included.')
    manifest_sha256 = fields.Char('Manifest SHA-256', readonly=True)
    summary_json = fields.Text('Summary', readonly=True)

    @api.depends('date_from', 'date_to')
    def _compute_name(self):
        for export in self:
            export.name = '%s – %s' % (export.date_from or '', export.date_to or '')

    @api.constrains('date_from', 'date_to')
    def _check_dates(self):
        for export in self:
            if export.date_from and export.date_to and export.date_from > export.date_to:
                raise UserError(_('The period ends before it starts.'))

    # ---- actions ----------------------------------------------------------------------

    def _check_startable(self):
        if self.state in ('queued', 'running'):
            raise UserError(_('This export is already queued or running.'))
        if not any(self[name] for name in LEDGER_FIELDS.values()):
            raise UserError(_('Choose at least one ledger.'))
        if not (self.include_xlsx or self.include_pictures or self.include_pdf
                or self.include_json):
            raise UserError(_('Choose at least one kind of file to include.'))
        if not self.company_id.env_gate_enterprise_code:
            raise UserError(_('The company has no enterprise code (Settings -> Gate Ledger).'))

    @api.multi
    def action_start(self):
        """Queue the export; the cron "Audit exports: run" builds it within a minute."""
        self.ensure_one()
        self._check_startable()
        self.write({'state': 'queued', 'progress': 0.0, 'user_id': self.env.uid,
                    'message': _('Queued: the export starts within a minute. Reload this '
                                 'page to follow its progress.')})
        return True

    @api.multi
    def action_run_now(self):
        """Build the package in this request: for small exports only."""
        self.ensure_one()
        self._check_startable()
        count = self._passage_count() if self.ledger_passage else 0
        if count > RUN_NOW_LIMIT:
            raise UserError(_('%d passages are too many to export while you wait: use '
                              'Start, the export then runs in the background.') % count)
        self.write({'state': 'running', 'progress': 0.0, 'user_id': self.env.uid,
                    'started_at': fields.Datetime.now(), 'message': False})
        self._run()
        return True

    @api.multi
    def action_reset(self):
        """Back to draft, to change the choices and export again."""
        for export in self:
            if export.state == 'running':
                raise UserError(_('A running export cannot be changed.'))
        self.write({'state': 'draft', 'progress': 0.0, 'message': False})
        return True

    @api.multi
    def action_refresh(self):
        return True

    @api.multi
    def action_download(self):
        self.ensure_one()
        if not self.attachment_id:
            raise UserError(_('This export has no package yet.'))
        return {'type': 'ir.actions.act_url', 'target': 'self',
                'url': '/web/content/%d?download=true' % self.attachment_id.id}

    # ---- the background job -----------------------------------------------------------

    @api.model
    def _cron_run(self):
        """Called by the cron "Audit exports: run" every minute: marks exports interrupted
        by a restart as failed, then builds the queued ones one by one, each committed
        on its own (except under tests, where everything stays in the test's transaction)."""
        auto_commit = not getattr(threading.currentThread(), 'testing', False)
        cr = self.env.cr
        cr.execute("""
            UPDATE env_gate_audit_export SET state = 'failed', progress = 0,
                   message = %s, write_date = now() at time zone 'UTC'
             WHERE state = 'running'
               AND write_date < now() at time zone 'UTC' - %s * interval '1 minute'""",
                   (_('Interrupted (the server stopped?): start it again.'), STALE_MINUTES))
        done = self.browse()
        while True:
            cr.execute("""
                UPDATE env_gate_audit_export SET state = 'running', progress = 0,
                       message = NULL, started_at = now() at time zone 'UTC',
                       write_date = now() at time zone 'UTC'
                 WHERE id = (SELECT id FROM env_gate_audit_export WHERE state = 'queued'
                              ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id""")
            row = cr.fetchone()
            if not row:
                break
            export = self.browse(row[0])
            export.invalidate_cache(ids=[export.id])
            if auto_commit:
                cr.commit()    # the claim is kept even if the job dies
            export.with_context(audit_export_own_cursor=auto_commit)._run(commit=auto_commit)
            done |= export
        return done

    def _set_status(self, **vals):
        """Write state/progress/result. In the background job the export row is written
        through a cursor of its own, committed at once: the form sees the progress, and
        the job's transaction never touches (nor locks) the row."""
        if not self.env.context.get('audit_export_own_cursor'):
            self.sudo().write(vals)
            return
        with odoo.registry(self.env.cr.dbname).cursor() as cr:
            self.with_env(self.env(cr=cr)).sudo().write(vals)

    def _run(self, commit=False):
        """Build the package and record the outcome; returns True when done. A failure
        leaves nothing of the attempt but the state 'failed' and its message."""
        self.ensure_one()
        started = time.monotonic()
        workdir = tempfile.mkdtemp(prefix='env_gate_audit_')
        try:
            with self.env.cr.savepoint():
                result = self._build(workdir)
        except (Hj1321Error, odoo.exceptions.except_orm, psycopg2.Error, OSError, ValueError,
                zipfile.BadZipFile) as exc:
            if isinstance(exc, Hj1321Error):
                text = bilingual(exc.message_zh, exc.message_en, self.env.lang)
            else:
                text = getattr(exc, 'name', None) or str(exc)
            _logger.warning('audit export %s failed: %s', self.id, text)
            self._set_status(state='failed', progress=0.0, finished_at=fields.Datetime.now(),
                             message=_('The export failed: %s') % text)
            return False
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if commit:
            self.env.cr.commit()    # the attachment, before the row points at it
        result.update(state='done', progress=100.0, finished_at=fields.Datetime.now(),
                      duration=round(time.monotonic() - started, 1))
        self._set_status(**result)
        return True

    def _build(self, workdir):
        """Write the package into `workdir`, attach it; return the values for the row."""
        self = self.sudo().with_context(prefetch_fields=False, active_test=False,
                                        lang=self.user_id.lang or self.env.lang)
        company = self.company_id
        enterprise = {'code': company.env_gate_enterprise_code, 'name': company.name}
        if not enterprise['code']:
            raise UserError(_('The company has no enterprise code (Settings -> Gate Ledger).'))
        tz = self.env['env.gate.passage']._plant_tz()
        ledgers = [ledger for ledger in pkg.LEDGERS if self[LEDGER_FIELDS[ledger]]]
        job = _Job(self, workdir, tz, enterprise, ledgers)
        job.run()
        summary = self._summary(tz, job)
        if self.include_pdf:
            job.add_bytes(pkg.PDF, self._render_pdf(summary))
        manifest = pkg.build_manifest(
            job.entries,
            {'from': self.date_from, 'to': self.date_to, 'time_zone': str(tz)},
            '%s (%s)' % (self.user_id.name, self.user_id.login),
            datetime.datetime.now(tz).strftime(canonical.TIME_FORMAT),
            enterprise_code=enterprise['code'], enterprise_name=enterprise['name'],
            gates=summary['gates'], ledgers=ledgers, counts=job.counts,
            record_errors=job.errors[:1000], missing_pictures=job.missing[:1000],
            chain=summary['chain'])
        manifest_data = pkg.manifest_bytes(manifest)
        job.package.writestr(pkg.MANIFEST, manifest_data)
        job.package.writestr(pkg.SUMS, pkg.sha256sums(manifest))
        job.package.close()
        name = pkg.package_name(enterprise['code'], self.date_from, self.date_to)
        package_entry = pkg.digest_file(name, job.zip_path)
        with open(job.zip_path, 'rb') as handle:
            data = base64.b64encode(handle.read())
        attachment = self.env['ir.attachment'].create({
            'name': name, 'datas_fname': name, 'datas': data, 'mimetype': 'application/zip',
            'res_model': self._name, 'res_id': self.id,
        })
        return {'attachment_id': attachment.id, 'package_size': package_entry['size'],
                'package_sha256': package_entry['sha256'],
                'manifest_sha256': pkg.digest_bytes(pkg.MANIFEST, manifest_data)['sha256'],
                'summary_json': json.dumps(summary, ensure_ascii=False, sort_keys=True),
                'message': _('%s records, %s pictures in the package.') % (
                    sum(job.counts.values()), job.picture_count)
                + ('\n' + _('%d records could not be built as canonical records (listed '
                            'in the manifest).') % len(job.errors) if job.errors else '')
                + ('\n' + _('%d pictures were missing from the file store (listed in the '
                            'manifest).') % len(job.missing) if job.missing else '')}

    # ---- what is exported -------------------------------------------------------------

    def _utc_bounds(self, tz):
        """The period as naive UTC datetimes [start, end) of the plant's days."""
        start = tz.localize(datetime.datetime.combine(
            fields.Date.from_string(self.date_from), datetime.time.min))
        end = tz.localize(datetime.datetime.combine(
            fields.Date.from_string(self.date_to) + datetime.timedelta(days=1),
            datetime.time.min))
        return tuple(t.astimezone(datetime.timezone.utc).replace(tzinfo=None)
                     for t in (start, end))

    def _passage_filter(self, alias='p'):
        """SQL condition and parameters selecting the period's passages."""
        where = ('{0}.company_id = %(company)s AND {0}.pass_date BETWEEN %(date_from)s '
                 'AND %(date_to)s').format(alias)
        params = {'company': self.company_id.id, 'date_from': self.date_from,
                  'date_to': self.date_to, 'gates': self.gate_ids.ids}
        if self.gate_ids:
            where += ' AND {0}.gate_id = ANY(%(gates)s)'.format(alias)
        return where, params

    def _passage_count(self):
        where, params = self._passage_filter()
        self.env.cr.execute('SELECT count(*) FROM env_gate_passage p WHERE ' + where, params)
        return self.env.cr.fetchone()[0]

    def _summary(self, tz, job):
        """The figures of the PDF summary, as a JSON-ready dict."""
        cr = self.env.cr
        where, params = self._passage_filter()
        cr.execute("""
            SELECT CASE WHEN p.fuel_type IN ('C', 'P') THEN 'D'
                        ELSE coalesce(p.emission_stage, 'X') END, count(*)
              FROM env_gate_passage p
             WHERE """ + where + """ AND p.direction = '1' AND NOT coalesce(p.voided, false)
             GROUP BY 1""", params)
        stages = dict(cr.fetchall())
        entries = sum(stages.values())
        clean = sum(n for stage, n in stages.items() if stage in CLEAN)
        cr.execute("""
            SELECT count(*) FILTER (WHERE p.decision = '2'),
                   count(*) FILTER (WHERE p.decision = '3'),
                   count(*) FILTER (WHERE p.source = 'manual'),
                   count(*) FILTER (WHERE p.voided)
              FROM env_gate_passage p WHERE """ + where, params)
        refusals, lifts, manual, voided = cr.fetchone()
        cr.execute("""
            SELECT count(*), count(*) FILTER (WHERE u.state IN ('sent', 'duplicate'))
              FROM env_gate_upload u JOIN env_gate_passage p ON p.id = u.passage_id
             WHERE """ + where, params)
        uploads, delivered = cr.fetchone()
        lang = self.env.lang
        return {
            'period': {'from': self.date_from, 'to': self.date_to, 'time_zone': str(tz)},
            'company': self.company_id.name,
            'enterprise_code': self.company_id.env_gate_enterprise_code,
            'gates': ['%s %s' % (g.code, g.name) for g in self.gate_ids]
            or [_('All gates')],
            'counts': [{'ledger': ledger, 'name': pkg.SHEETS[ledger].name,
                        'name_en': pkg.SHEETS[ledger].en, 'count': job.counts[ledger]}
                       for ledger in job.ledgers],
            'entries': entries,
            'entries_by_stage': [
                {'code': entry.code, 'name': codes.label('emission_stage', entry.code, lang),
                 'count': stages.get(entry.code, 0),
                 'share': _pct(stages.get(entry.code, 0), entries)}
                for entry in codes.table('emission_stage') if stages.get(entry.code)],
            'clean_entries': clean, 'clean_share': _pct(clean, entries),
            'refusals': refusals, 'manual_lifts': lifts, 'manual_entries': manual,
            'voided': voided, 'uploads': uploads, 'uploads_delivered': delivered,
            'upload_share': _pct(delivered, uploads),
            'pictures': job.picture_count, 'missing_pictures': len(job.missing),
            'record_errors': len(job.errors),
            'chain': self._verify_chain(),
            'created_at': datetime.datetime.now(tz).strftime(canonical.TIME_FORMAT),
            'created_by': self.user_id.name,
        }

    def _verify_chain(self):
        """Recompute the passage chain over the stretch that holds the period's passages
        (from the first to the last of them in chain order, other days' records in
        between included, linked to the record before the stretch)."""
        cr = self.env.cr
        where, params = self._passage_filter()
        cr.execute('SELECT min(chain_seq), max(chain_seq) FROM env_gate_passage p WHERE '
                   + where, params)
        first, last = cr.fetchone()
        if first is None:
            return {'ok': True, 'checked': 0, 'message_zh': '期间内没有通行记录',
                    'message_en': 'no passages in the period'}
        company = self.company_id.id
        cr.execute('SELECT chain_hash FROM env_gate_passage WHERE company_id = %s '
                   'AND chain_seq = %s', (company, first - 1))
        row = cr.fetchone()
        found = self.env['env.gate.passage'].sudo()._chain_check(
            company, until_seq=last, after=(first - 1, row[0] if row else chain.GENESIS))
        checked = found['checked']
        if found['break']:
            return {'ok': False, 'checked': checked, 'record_id': found['broken_id'],
                    'message_zh': found['break'].message_zh,
                    'message_en': found['break'].message_en}
        return {'ok': True, 'checked': checked,
                'message_zh': '全部 %d 条记录与哈希链一致' % checked,
                'message_en': 'all %d records match their chain' % checked}

    def _render_pdf(self, summary):
        """The summary through wkhtmltopdf. Not render_qweb_pdf: that one commits the
        transaction when it builds the report's assets (and gives HTML under tests)."""
        report = self.env.ref('env_gate_ledger.report_env_gate_audit_export_summary')
        report = report.with_context(debug=False)
        html = report.render_qweb_html(self.ids, data={'summary': summary})[0]
        bodies, _ids, header, footer, paper = report._prepare_html(html.decode('utf-8'))
        return report._run_wkhtmltopdf(bodies, header=header, footer=footer,
                                       specific_paperformat_args=paper)


class _Job(object):
    """One run of an export: the ZIP being written, the workbook, the JSON Lines files,
    the manifest entries and the counts. Reads the ledgers chunk by chunk."""

    def __init__(self, export, workdir, tz, enterprise, ledgers):
        self.export, self.env, self.cr = export, export.env, export.env.cr
        self.workdir, self.tz, self.enterprise, self.ledgers = workdir, tz, enterprise, ledgers
        self.zip_path = os.path.join(workdir, 'package.zip')
        # level 1: the JSON Lines of a month are hundreds of MB; level 6 triples the time
        self.package = zipfile.ZipFile(self.zip_path, 'w', zipfile.ZIP_DEFLATED,
                                       allowZip64=True, compresslevel=1)
        self.entries, self.errors, self.missing = [], [], []
        self.counts = dict.fromkeys(ledgers, 0)
        self.picture_count = 0
        self.book = self.sheet = None
        self._done, self._total, self._last_progress = 0, 1, 0.0

    # -- files --

    def add_bytes(self, name, data, compress=zipfile.ZIP_DEFLATED):
        self.package.writestr(zipfile.ZipInfo(name, self._zip_time()), data,
                              compress_type=compress)
        self.entries.append(pkg.digest_bytes(name, data))

    def add_file(self, name, path, compress=zipfile.ZIP_DEFLATED):
        self.package.write(path, name, compress_type=compress)
        self.entries.append(pkg.digest_file(name, path))

    def _zip_time(self):
        return datetime.datetime.now(self.tz).timetuple()[:6]

    # -- progress --

    def _progress(self, done):
        self._done += done
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_SECONDS:
            self._last_progress = now
            self.export._set_status(progress=min(99.0, round(
                95.0 * self._done / max(self._total, 1), 1)))

    # -- the run --

    def run(self):
        export = self.export
        passage_ids = self._passage_ids() if 'passage' in self.ledgers else []
        self._total = len(passage_ids) + 1
        if export.include_xlsx:
            self.xlsx_path = os.path.join(self.workdir, pkg.XLSX)
            self.book = xlsx.Workbook(self.xlsx_path)
        # a big month's passages go to worker processes first; the other ledgers are
        # written while they work, the passage sheet (first among the tabs) last
        workers = self._start_workers(passage_ids) \
            if len(passage_ids) >= PARALLEL_FROM else None
        for ledger in self.ledgers:
            if ledger == 'passage':
                continue
            self._open(ledger)
            if ledger in ('vehicle', 'in_plant_vehicle', 'machinery'):
                self._register(ledger)
            elif ledger == 'weighing':
                self._weighings()
            else:
                self._corrections()
            self._close(ledger)
        if 'passage' in self.ledgers:
            self._open('passage', position=0)
            parts = self._finish_workers(workers) if workers is not None \
                else [self._passages_here(passage_ids)]
            for part in parts:
                self._add_part(part)
            self._close('passage')
            if self.export.include_pictures:
                for start in range(0, len(passage_ids), CHUNK):
                    self._pictures(passage_ids[start:start + CHUNK])
        if self.book is not None:
            self.book.close()
            self.add_file(pkg.XLSX, self.xlsx_path, zipfile.ZIP_STORED)   # a ZIP already

    def _open(self, ledger, position=None):
        sheet = pkg.SHEETS[ledger]
        self.json = None
        if self.export.include_json and ledger in pkg.CANONICAL:
            self.json_path = os.path.join(self.workdir, '%s.jsonl' % ledger)
            self.json = open(self.json_path, 'wb')
        if self.book is None:
            return
        self.sheet = self.book.add_sheet(
            sheet.name, widths=[column.width for column in sheet.columns],
            headers=[[column.zh for column in sheet.columns],
                     [column.en for column in sheet.columns]], position=position)

    def _close(self, ledger):
        if self.json is not None:
            self.json.close()
            self.add_file(pkg.json_name(ledger), self.json_path)

    def _write(self, ledger, record):
        """One record of a register, ticket or correction sheet (passages are written in
        parts, see _add_part); the JSON file is open only for canonical ledgers."""
        self.counts[ledger] += 1
        if self.json is not None:
            self.json.write(pkg.json_line(record))
        if self.sheet is not None:
            self.sheet.write_row(pkg.sheet_row(ledger, record))

    def _local(self, value):
        return canonical.local_time(value, self.tz)

    # -- ledgers --

    def _passage_ids(self):
        where, params = self.export._passage_filter()
        self.cr.execute('SELECT p.id FROM env_gate_passage p WHERE ' + where
                        + ' ORDER BY p.pass_time, p.id', params)
        return [row[0] for row in self.cr.fetchall()]

    def _part_paths(self, number):
        sheet = os.path.join(self.workdir, 'passages-%d.xml' % number) \
            if self.book is not None else None
        json_path = os.path.join(self.workdir, 'passages-%d.jsonl' % number) \
            if self.export.include_json else None
        return sheet, json_path

    def _passages_here(self, ids):
        """The passages in this process (a small export): the same rows as the workers'."""
        sheet_path, json_path = self._part_paths(0)
        sheet_out = open(sheet_path, 'wb') if sheet_path else None
        json_out = open(json_path, 'wb') if json_path else None
        try:
            count, errors = audit_rows.write_passages(
                self.cr, ids, 3, self.enterprise, self.tz, self.export.include_pictures,
                sheet_out, json_out, progress=self._progress)
        finally:
            for handle in (sheet_out, json_out):
                if handle is not None:
                    handle.close()
        return {'count': count, 'errors': errors, 'sheet': sheet_path, 'json': json_path}

    def _start_workers(self, ids):
        """Two processes (python -m audit_worker) for the two halves of `ids`, each on a
        read-only connection of its own."""
        _db, dsn = odoo.sql_db.connection_info_for(self.cr.dbname)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [ADDON_DIR] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
        half = (len(ids) + 1) // 2
        workers = []
        for number, (first, part) in enumerate(((0, ids[:half]), (half, ids[half:])), 1):
            sheet_path, json_path = self._part_paths(number)
            job = {'dsn': dsn, 'ids': part, 'first_row': 3 + first,
                   'enterprise': self.enterprise, 'tz': self.tz.zone,
                   'with_files': self.export.include_pictures,
                   'sheet_path': sheet_path, 'json_path': json_path}
            process = subprocess.Popen(
                [sys.executable, '-m', 'audit_worker'], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ADDON_DIR)
            # the job (and the database password in it) goes through a pipe, never argv
            process.stdin.write(json.dumps(job).encode('utf-8'))
            process.stdin.close()
            workers.append((process, len(part), sheet_path, json_path))
        return workers

    def _finish_workers(self, workers):
        parts = []
        for process, size, sheet_path, json_path in workers:
            out = process.stdout.read()
            err = process.stderr.read()
            if process.wait() != 0:
                raise UserError(_('A passage worker failed: %s')
                                % err.decode('utf-8', 'replace')[-2000:])
            result = json.loads(out.decode('utf-8'))
            parts.append({'count': result['count'], 'errors': result['errors'],
                          'sheet': sheet_path, 'json': json_path})
            self._progress(size)
        return parts

    def _add_part(self, part):
        self.counts['passage'] += part['count']
        self.errors.extend(part['errors'])
        if part['sheet'] and self.sheet is not None:
            with open(part['sheet'], 'rb') as source:
                self.sheet.write_rows_xml(source, part['count'])
        if part['json'] and self.json is not None:
            with open(part['json'], 'rb') as source:
                shutil.copyfileobj(source, self.json, 1 << 20)

    def _pictures(self, ids):
        """Copy these passages' pictures from the file store into pictures/."""
        if not ids:
            return
        Attachment = self.env['ir.attachment']
        self.cr.execute("""
            SELECT p.name, a.res_field, a.store_fname, a.db_datas, a.mimetype
              FROM ir_attachment a JOIN env_gate_passage p ON p.id = a.res_id
             WHERE a.res_model = 'env.gate.passage' AND a.res_id = ANY(%s)
               AND a.res_field = ANY(%s) ORDER BY p.pass_time, p.id, a.res_field""",
                        (list(ids), PICTURE_FIELDS))
        for serial, field, store_fname, db_datas, mimetype in self.cr.fetchall():
            name = pkg.picture_name(serial, field[len('picture_'):], mimetype)
            try:
                if store_fname:
                    with open(Attachment._full_path(store_fname), 'rb') as handle:
                        data = handle.read()
                else:
                    data = base64.b64decode(bytes(db_datas or b''))
            except OSError:
                self.missing.append(name)
                continue
            self.add_bytes(name, data, zipfile.ZIP_STORED)   # JPEGs do not shrink
            self.picture_count += 1

    def _register(self, ledger):
        if ledger == 'machinery':
            model, domain = 'env.gate.machinery', []
        else:
            model = 'env.gate.vehicle'
            domain = [('category', '=', 'in_plant' if ledger == 'in_plant_vehicle'
                       else 'transport')]
        Model = self.env[model]
        ids = Model.search(domain + [('company_id', '=', self.export.company_id.id)]).ids
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            values = stored_values(Model, chunk)
            for rid in chunk:
                try:
                    record = canonical.build(ledger, values[rid], enterprise=self.enterprise)
                except Hj1321Error as exc:
                    self.errors.append({'ledger': ledger, 'id': rid, 'code': exc.code,
                                        'message': exc.message_en})
                    continue
                self._write(ledger, record)
            Model.invalidate_cache()

    def _weighings(self):
        export = self.export
        params = {'company': export.company_id.id, 'date_from': export.date_from,
                  'date_to': export.date_to, 'gates': export.gate_ids.ids}
        gates = ' AND l.gate_id = ANY(%(gates)s)' if export.gate_ids else ''
        self.cr.execute("""
            SELECT w.name, w.plate_key AS plate, w.kind, c.name AS cargo,
                   rp.name AS partner, w.first_weight, w.first_time, w.first_source,
                   w.second_weight, w.second_time, w.second_source, w.gross, w.tare, w.net,
                   w.emission_stage, w.fuel_type, w.state, l.barrier_no,
                   p.name AS entry_serial, sp.name AS picking, op.name AS operator,
                   w.manual_reason
              FROM env_gate_weighing w
              LEFT JOIN env_gate_lane l ON l.id = w.lane_id
              LEFT JOIN env_gate_cargo c ON c.id = w.cargo_id
              LEFT JOIN res_partner rp ON rp.id = w.partner_id
              LEFT JOIN env_gate_passage p ON p.id = w.entry_passage_id
              LEFT JOIN stock_picking sp ON sp.id = w.picking_id
              LEFT JOIN res_users u ON u.id = w.operator_id
              LEFT JOIN res_partner op ON op.id = u.partner_id
             WHERE w.company_id = %(company)s
               AND w.weigh_date BETWEEN %(date_from)s AND %(date_to)s""" + gates + """
             ORDER BY w.first_time, w.id""", params)
        for row in self.cr.dictfetchall():
            row['first_time'] = self._local(row['first_time'])
            row['second_time'] = self._local(row['second_time'])
            for key in ('first_weight', 'second_weight', 'gross', 'tare', 'net'):
                row[key] = float(row[key]) if row[key] is not None else None
            self._write('weighing', row)

    def _corrections(self):
        export = self.export
        start, end = export._utc_bounds(self.tz)
        params = {'company': export.company_id.id, 'start': start, 'end': end,
                  'gates': export.gate_ids.ids}
        gates = ' AND p.gate_id = ANY(%(gates)s)' if export.gate_ids else ''
        self.cr.execute("""
            SELECT k.create_date AS time, p.name AS passage_serial, k.kind, k.old_plate,
                   k.new_plate, k.new_plate_color, c.name AS cargo, k.new_quantity AS quantity,
                   k.reason, rp.name AS user, k.chain_hash AS ledger_hash
              FROM env_gate_correction k
              JOIN env_gate_passage p ON p.id = k.passage_id
              LEFT JOIN env_gate_cargo c ON c.id = k.new_cargo_id
              LEFT JOIN res_users u ON u.id = k.user_id
              LEFT JOIN res_partner rp ON rp.id = u.partner_id
             WHERE k.company_id = %(company)s AND k.create_date >= %(start)s
               AND k.create_date < %(end)s""" + gates + """
             ORDER BY k.create_date, k.id""", params)
        for row in self.cr.dictfetchall():
            row['time'] = self._local(row['time'])
            if row['kind'] != 'cargo':
                row['quantity'] = None
            elif row['quantity'] is not None:
                row['quantity'] = float(row['quantity'])
            self._write('correction', row)


class AuditExportSummaryReport(models.AbstractModel):
    """The PDF summary: the figures come with the rendering (the job computes them) or,
    printed again later, from the summary kept on the export."""
    _name = 'report.env_gate_ledger.report_audit_export_summary'
    _description = 'Audit Export Summary'

    @api.model
    def get_report_values(self, docids, data=None):
        docs = self.env['env.gate.audit.export'].browse(docids)
        summaries = {}
        for doc in docs:
            if data and data.get('summary'):
                summaries[doc.id] = data['summary']
            else:
                summaries[doc.id] = json.loads(doc.summary_json or '{}')
        return {'doc_ids': docids, 'doc_model': 'env.gate.audit.export', 'docs': docs,
                'summaries': summaries}
