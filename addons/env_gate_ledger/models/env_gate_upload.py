"""Uploads: one row per ledger record and regulator platform, and every attempt made.

Delivery is an ir.cron every minute rather than OCA queue_job (not installed here, and not
needed): the durable queue is this table itself (state + next_try, indexed), a run takes
due rows with SELECT ... FOR UPDATE SKIP LOCKED in batches and commits after each batch,
so several workers (or a manual run next to the cron) never take the same row and a
crash loses at most the batch in flight, which the next run sends again under the same
record_id (the platform answers "duplicate", counted as delivered). queue_job would add
one job row per record on top of the upload row; retry patterns, pausing a platform and
the probe are platform-level decisions a per-record job could not take.
"""
import datetime
import logging
import threading
import time

from psycopg2.extras import execute_values

from odoo import _, api, fields, models

from ..hj1321 import canonical, regulators as wire
from ..hj1321.errors import Hj1321Error

_logger = logging.getLogger(__name__)

STATES = [('pending', 'Pending'), ('sent', 'Delivered'), ('duplicate', 'Delivered (duplicate)'),
          ('rejected', 'Rejected'), ('failed', 'Failed, waiting to retry')]
DELIVERED = ('sent', 'duplicate')
KINDS = [('passage', 'Passage'), ('vehicle', 'Transport Vehicle'),
         ('in_plant_vehicle', 'In-plant Vehicle'), ('machinery', 'Non-road Machinery'),
         ('gate_status', 'Gate Status')]
SOURCE_MODELS = {'passage': 'env.gate.passage', 'vehicle': 'env.gate.vehicle',
                 'in_plant_vehicle': 'env.gate.vehicle', 'machinery': 'env.gate.machinery',
                 'gate_status': 'env.gate.lane.status'}
BATCH = 100
RUN_SECONDS = 240            # a cron run stops taking batches after this (cron: every minute)
WAIT_FOR_ENTRY = 60          # a Hebei exit whose entry is not delivered looks again after


class EnvGateUpload(models.Model):
    _name = 'env.gate.upload'
    _description = 'Regulator Upload'
    _order = 'id desc'

    regulator_id = fields.Many2one('env.gate.regulator', 'Platform', required=True,
                                   readonly=True, ondelete='cascade', index=True)
    company_id = fields.Many2one('res.company', 'Company', required=True, readonly=True,
                                 index=True)
    res_model = fields.Char('Ledger Model', required=True, readonly=True)
    res_id = fields.Integer('Ledger Record ID', required=True, readonly=True)
    record_ref = fields.Reference(
        [('env.gate.passage', 'Passage'), ('env.gate.vehicle', 'Vehicle'),
         ('env.gate.machinery', 'Machinery'), ('env.gate.lane.status', 'Lane Status')],
        'Ledger Record', compute='_compute_record_ref')
    passage_id = fields.Many2one('env.gate.passage', 'Passage', readonly=True, index=True)
    kind = fields.Selection(KINDS, 'Kind', required=True, readonly=True)
    record_id = fields.Char('Record ID', readonly=True,
                            help='The canonical record_id: the platform deduplicates by it.')
    state = fields.Selection(STATES, 'State', required=True, default='pending', readonly=True,
                             index=True)
    next_try = fields.Datetime('Next Try', readonly=True, index=True)
    attempt_count = fields.Integer('Attempts', readonly=True)
    failures = fields.Integer('Consecutive Failures', readonly=True)
    platform_id = fields.Char('Platform ID', readonly=True, help='e.g. the Hebei throughId.')
    message_zh = fields.Char('Message (zh)', readonly=True)
    message_en = fields.Char('Message (en)', readonly=True)
    message = fields.Char('Message', compute='_compute_message')
    deadline = fields.Datetime('Deadline', readonly=True, index=True)
    delivered_at = fields.Datetime('Delivered At', readonly=True)
    overdue = fields.Boolean('Overdue', compute='_compute_overdue', search='_search_overdue')
    attempt_ids = fields.One2many('env.gate.upload.attempt', 'upload_id', 'Attempts',
                                  readonly=True)

    _sql_constraints = [
        ('record_regulator_uniq', 'unique(res_model, res_id, regulator_id)',
         'A ledger record has one upload per platform.'),
    ]

    def _compute_record_ref(self):
        for upload in self:
            upload.record_ref = '%s,%s' % (upload.res_model, upload.res_id)

    def _compute_message(self):
        zh = (self.env.lang or '').startswith('zh')
        for upload in self:
            upload.message = (upload.message_zh if zh else upload.message_en) \
                or upload.message_en or upload.message_zh

    def _compute_overdue(self):
        now = fields.Datetime.now()
        for upload in self:
            upload.overdue = upload.state not in DELIVERED and bool(upload.deadline) \
                and upload.deadline < now

    def _search_overdue(self, operator, value):
        domain = ['&', ('state', 'not in', list(DELIVERED)),
                  ('deadline', '<', fields.Datetime.now())]
        if (operator == '=') == bool(value):
            return domain
        return ['|', ('state', 'in', list(DELIVERED)), ('deadline', '>=', fields.Datetime.now())]

    # -- actions ---------------------------------------------------------------------

    @api.multi
    def action_requeue(self):
        """Send again (same row, same record_id: the platform never gets two records)."""
        self._requeue()
        return True

    # -- queueing --------------------------------------------------------------------

    @api.model
    def _enqueue(self, res_model, ids, kinds, requeue=False):
        """Upload rows for ledger records just created or changed, for every active
        platform that wants their kind and can carry it: one INSERT ... SELECT per kind.

        kinds: a kind for all ids, or {id: kind}. requeue: rows that exist already go
        back to pending (a register entry was edited: its new revision must be sent)."""
        if not ids:
            return
        by_kind = {}
        if isinstance(kinds, dict):
            for rid, kind in kinds.items():
                by_kind.setdefault(kind, []).append(rid)
        else:
            by_kind[kinds] = list(ids)
        table = self.env[res_model]._table
        cr = self.env.cr
        now = fields.Datetime.now()
        for kind, kind_ids in by_kind.items():
            adapters = [a for a in wire.ADAPTERS if wire.supports(a, kind)]
            flag = self.env['env.gate.regulator']._fields.get(
                {'passage': 'send_passages', 'vehicle': 'send_vehicles',
                 'in_plant_vehicle': 'send_in_plant_vehicles', 'machinery': 'send_machinery',
                 'gate_status': 'send_gate_status'}[kind])
            conflict = ("DO UPDATE SET state = 'pending', next_try = EXCLUDED.next_try, "
                        "failures = 0, deadline = EXCLUDED.deadline, write_date = EXCLUDED.write_date"
                        if requeue else 'DO NOTHING')
            # table and flag names come from the registry, never from input
            cr.execute("""
                INSERT INTO env_gate_upload (regulator_id, company_id, res_model, res_id,
                       passage_id, kind, state, next_try, deadline, attempt_count, failures,
                       create_uid, create_date, write_uid, write_date)
                SELECT r.id, r.company_id, %%(model)s, t.id, CASE WHEN %%(passage)s THEN t.id END,
                       %%(kind)s, 'pending',
                       %%(now)s, %%(now)s::timestamp + r.deadline_minutes * interval '1 minute',
                       0, 0, %%(uid)s, %%(now)s, %%(uid)s, %%(now)s
                  FROM "%s" t
                  JOIN env_gate_regulator r ON r.company_id = t.company_id
                 WHERE t.id = ANY(%%(ids)s) AND r.active AND r."%s"
                   AND r.adapter = ANY(%%(adapters)s)
                 ORDER BY t.id, r.id
                ON CONFLICT (res_model, res_id, regulator_id) %s
                """ % (table, flag.name, conflict),
                {'model': res_model, 'kind': kind, 'now': now, 'uid': self.env.uid,
                 'ids': kind_ids, 'adapters': adapters,
                 'passage': res_model == 'env.gate.passage'})
        self._invalidate_upload_cache()

    @api.model
    def _invalidate_upload_cache(self):
        """Forget cached upload values after SQL writes, and nothing else: the ingestion
        path calls this per batch, a whole-cache invalidation would make it re-read the
        passages it is working on."""
        self.invalidate_cache(fnames=list(self._fields))
        attempts = self.env['env.gate.upload.attempt']
        attempts.invalidate_cache(fnames=list(attempts._fields))
        self.env['env.gate.passage'].invalidate_cache(
            fnames=['upload_ids', 'upload_state', 'upload_count'])
        self.env['env.gate.regulator'].invalidate_cache(fnames=['upload_ids'])

    @api.multi
    def _requeue(self):
        """Back to pending now; delivered rows too (the platform dedups by record_id)."""
        if not self:
            return
        self.env.cr.execute(
            "UPDATE env_gate_upload SET state = 'pending', next_try = %s, failures = 0, "
            "write_date = %s WHERE id = ANY(%s)",
            (fields.Datetime.now(), fields.Datetime.now(), self.ids))
        self.invalidate_cache(ids=self.ids)

    # -- delivery --------------------------------------------------------------------

    @api.model
    def _cron_deliver(self):
        """Called by the cron "Regulator uploads: deliver" every minute. Like mail's queue
        (mail.mail.process_email_queue) it commits per batch, except under tests."""
        return self._deliver(auto_commit=not getattr(threading.currentThread(), 'testing',
                                                     False))

    @api.model
    def _deliver(self, auto_commit=False, batch=BATCH, budget=RUN_SECONDS, regulators=None):
        """Deliver due uploads of every active platform. Returns {regulator id: count of
        attempts made}. auto_commit=False (tests, benches) keeps everything in the caller's
        transaction; the cron commits after each batch so that the attempts made (calls
        already sent to the platform) are kept and the rows' SKIP LOCKED locks released
        even when a later batch fails."""
        regulators = regulators or self.env['env.gate.regulator'].sudo().search([])
        started = time.monotonic()
        done = {}
        for regulator in regulators:
            done[regulator.id] = self.sudo()._deliver_regulator(
                regulator, auto_commit, batch, started + budget)
        return done

    def _deliver_regulator(self, regulator, auto_commit, batch, until):
        if regulator.state != 'ok':
            # down: one probe per run instead of every record's retry
            regulator._probe()
            if auto_commit:
                self.env.cr.commit()   # see _deliver
            if regulator.state != 'ok':
                return 0
        client = regulator._client()
        count = 0
        while time.monotonic() < until:
            self.env.cr.execute("""
                SELECT id FROM env_gate_upload
                 WHERE regulator_id = %s AND state IN ('pending', 'failed') AND next_try <= %s
                 ORDER BY next_try, id LIMIT %s
                   FOR UPDATE SKIP LOCKED""", (regulator.id, fields.Datetime.now(), batch))
            ids = [row[0] for row in self.env.cr.fetchall()]
            if not ids:
                break
            uploads = self.browse(ids)
            paused = uploads._send_batch(regulator, client)
            count += len(ids)
            if auto_commit:
                self.env.cr.commit()   # see _deliver
            if paused:
                break
        return count

    def _send_batch(self, regulator, client):
        """Send these uploads (locked by the caller) and record the results in a few
        queries. Returns True when the platform was paused on the way."""
        records = self._canonical_records(regulator)
        entries = self._entry_uploads(regulator, records)
        now_dt = datetime.datetime.utcnow().replace(microsecond=0)   # as Datetime.now()
        updates, attempts = [], []
        paused = False
        lang = self.env.lang
        for upload in self:
            record = records.get(upload.id)
            if isinstance(record, Hj1321Error):
                outcome = dict(outcome=wire.REJECTED, message_zh=record.message_zh,
                               message_en=record.message_en, request='', response='',
                               duration=0.0, platform_id=None, retry_after=None,
                               unreachable=False, code=record.code)
                record = None
            else:
                through_id, unpaired = None, False
                dependency = wire.dependency(regulator.adapter, upload.kind, record)
                if dependency:
                    entry = entries.get(dependency)
                    if entry is None or entry['state'] == 'rejected':
                        unpaired = True          # its entry will never reach the platform
                    elif entry['state'] in DELIVERED:
                        through_id = entry['platform_id']
                    else:
                        # waits for its entry: no attempt, no failure counted
                        updates.append((upload.id, 'pending', upload.record_id or record['record_id'],
                                        now_dt + datetime.timedelta(seconds=WAIT_FOR_ENTRY),
                                        upload.attempt_count, upload.failures,
                                        upload.platform_id or None,
                                        _('waiting for the entry to be delivered'),
                                        'waiting for the entry to be delivered',
                                        upload.delivered_at or None))
                        continue
                attempt = client.send(upload.kind, record, through_id=through_id,
                                      unpaired=unpaired)
                outcome = attempt.as_dict()
            state, failures, next_try, delivered_at = upload.state, upload.failures, None, \
                upload.delivered_at or None
            kind = outcome['outcome']
            if kind in wire.DELIVERED:
                state = 'sent' if kind == wire.OK else 'duplicate'
                failures = 0
                delivered_at = now_dt
            elif kind == wire.REJECTED:
                state = 'rejected'
            else:
                state = 'failed'
                failures += 1
                next_try = now_dt + datetime.timedelta(
                    seconds=wire.retry_delay(failures, outcome.get('retry_after')))
                if outcome.get('unreachable') or kind == wire.AUTH:
                    # the platform, not this record: do not count it against the record
                    failures -= 1
                    next_try = now_dt
                    paused = True
            updates.append((upload.id, state,
                            record['record_id'] if record else (upload.record_id or None),
                            next_try, upload.attempt_count + 1, failures,
                            outcome.get('platform_id') or upload.platform_id or None,
                            (outcome.get('message_zh') or '')[:500],
                            (outcome.get('message_en') or '')[:500], delivered_at))
            attempts.append((upload.id, outcome.get('started_at') or now_dt,
                             outcome.get('duration') or 0.0, kind, outcome.get('code'),
                             outcome.get('request') or '', outcome.get('response') or '',
                             (outcome.get('message_zh') or '')[:500],
                             (outcome.get('message_en') or '')[:500],
                             self.env.uid, now_dt, self.env.uid, now_dt))
            if record and upload.kind == 'passage' and kind in wire.DELIVERED:
                # an exit later in this batch may be waiting for this entry
                entries[record['record_id']] = {'state': state,
                                                'platform_id': outcome.get('platform_id')}
            if paused:
                regulator._set_state('auth' if kind == wire.AUTH else 'paused',
                                     outcome.get('message_zh') if (lang or '').startswith('zh')
                                     else outcome.get('message_en'))
                break
        cr = self.env.cr
        if updates:
            execute_values(cr._obj, """
                UPDATE env_gate_upload u SET state = v.state, record_id = v.record_id,
                       next_try = v.next_try, attempt_count = v.attempt_count,
                       failures = v.failures, platform_id = v.platform_id,
                       message_zh = v.message_zh, message_en = v.message_en,
                       delivered_at = v.delivered_at, write_date = now() at time zone 'UTC'
                  FROM (VALUES %s) AS v(id, state, record_id, next_try, attempt_count,
                        failures, platform_id, message_zh, message_en, delivered_at)
                 WHERE u.id = v.id""", updates,
                template='(%s, %s, %s, %s::timestamp, %s, %s, %s, %s, %s, %s::timestamp)',
                page_size=500)
        if attempts:
            execute_values(cr._obj, """
                INSERT INTO env_gate_upload_attempt (upload_id, started_at, duration, outcome,
                       code, request, response, message_zh, message_en,
                       create_uid, create_date, write_uid, write_date) VALUES %s""",
                attempts, page_size=500)
        self._invalidate_upload_cache()
        return paused

    def _canonical_records(self, regulator):
        """{upload id: canonical record or the Hj1321Error that prevented it}, built now
        from the ledger (a register entry's edits are in the record sent)."""
        embed = wire.needs_picture_bytes(regulator.adapter)
        enterprise = {'code': regulator.enterprise_code, 'name': regulator.company_id.name}
        result = {}
        by_model = {}
        for upload in self:
            by_model.setdefault(upload.res_model, []).append(upload)
        for model, uploads in by_model.items():
            sources = self.env[model].sudo().with_context(prefetch_fields=False).browse(
                [u.res_id for u in uploads])
            values = sources._upload_values(embed)
            for upload in uploads:
                try:
                    if upload.res_id not in values:
                        raise Hj1321Error('upload.missing', '台账记录不存在',
                                          'the ledger record does not exist')
                    result[upload.id] = canonical.build(
                        upload.kind, values[upload.res_id], enterprise=enterprise,
                        embed_pictures=embed)
                except Hj1321Error as exc:
                    result[upload.id] = exc
        return result

    def _entry_uploads(self, regulator, records):
        """{entry record_id: {'state', 'platform_id'}} for the exits of this batch whose
        platform pairs exits with entries (Hebei)."""
        wanted = {}
        for upload in self:
            record = records.get(upload.id)
            if isinstance(record, dict) and wire.dependency(regulator.adapter, upload.kind,
                                                            record):
                wanted[upload.passage_id.entry_id.id] = record['entry_record_id']
        if not wanted:
            return {}
        self.env.cr.execute("""
            SELECT res_id, state, platform_id FROM env_gate_upload
             WHERE regulator_id = %s AND res_model = 'env.gate.passage' AND res_id = ANY(%s)
            """, (regulator.id, list(wanted)))
        return {wanted[res_id]: {'state': state, 'platform_id': platform_id}
                for res_id, state, platform_id in self.env.cr.fetchall()}


class EnvGateUploadAttempt(models.Model):
    _name = 'env.gate.upload.attempt'
    _description = 'Regulator Upload Attempt'
    _order = 'id desc'

    upload_id = fields.Many2one('env.gate.upload', 'Upload', required=True, readonly=True,
                                ondelete='cascade', index=True)
    started_at = fields.Datetime('Time', readonly=True)
    duration = fields.Float('Duration (s)', digits=(12, 3), readonly=True)
    outcome = fields.Selection([(o, o) for o in wire.OUTCOMES], 'Outcome', readonly=True)
    code = fields.Char('Code', readonly=True)
    request = fields.Text('Request (masked)', readonly=True)
    response = fields.Text('Response', readonly=True)
    message_zh = fields.Char('Message (zh)', readonly=True)
    message_en = fields.Char('Message (en)', readonly=True)
