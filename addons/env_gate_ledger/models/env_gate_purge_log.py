"""Retention: remove what is older than the company's retention periods, and say so.

HJ 1321 asks for the e-ledger to be kept at least 24 months and the pictures at least 12
(the company's settings may keep them longer). The daily purge removes pictures of older
passages and events, then the ledger records themselves: only a contiguous prefix of each
hash chain, only records older than the cut-off, and only after checking that prefix is
intact; an anchor (env.gate.chain.anchor) keeps the last purged record's hash so the rest
of the chain still verifies. Ledger rows are deleted by SQL here and nowhere else: the
ORM refuses to unlink them (env.gate.chain.mixin).
"""
import logging
import time

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models

from .res_company import MIN_LEDGER_MONTHS, MIN_PICTURE_MONTHS

_logger = logging.getLogger(__name__)

PICTURE_MODELS = ('env.gate.passage', 'env.gate.event')
KEPT = '(%(alias)s.chain_seq IS NULL OR %(alias)s.company_id <> %%(company)s ' \
       'OR %(alias)s.chain_seq > %%(%(end)s)s)'


def _kept(alias, end):
    """SQL: the row `alias` stays (it is not in the prefix ending at the parameter `end`)."""
    return KEPT % {'alias': alias, 'end': end}


class EnvGatePurgeLog(models.Model):
    _name = 'env.gate.purge.log'
    _description = 'Retention Purge'
    _order = 'date desc, id desc'
    _rec_name = 'date'

    date = fields.Datetime('Run At', required=True, readonly=True, default=fields.Datetime.now)
    company_id = fields.Many2one('res.company', 'Company', required=True, readonly=True)
    ledger_cutoff = fields.Datetime('Ledger Cut-off', readonly=True,
                                    help='Ledger records older than this were removed.')
    picture_cutoff = fields.Datetime('Picture Cut-off', readonly=True,
                                     help='Pictures of records older than this were removed.')
    pictures = fields.Integer('Pictures', readonly=True)
    events = fields.Integer('Device Events', readonly=True)
    passages = fields.Integer('Passages', readonly=True)
    corrections = fields.Integer('Corrections', readonly=True)
    weighings = fields.Integer('Weighbridge Tickets', readonly=True)
    uploads = fields.Integer('Regulator Uploads', readonly=True)
    note = fields.Text('Notes', readonly=True)
    duration = fields.Float('Duration (s)', digits=(12, 3), readonly=True)
    anchor_ids = fields.One2many('env.gate.chain.anchor', 'purge_log_id', 'Chain Anchors',
                                 readonly=True)

    @api.model
    def _cron_purge(self):
        """Called by the cron "Gate ledger: retention purge" (daily), for every company."""
        logs = self.browse()
        for company in self.env['res.company'].sudo().search([]):
            logs |= self.sudo()._purge(company)
        return logs

    @api.model
    def _purge(self, company, now=None):
        """Remove company's pictures and ledger records older than its retention periods,
        counted from `now` (a UTC datetime or its text; the current time by default)."""
        started = time.monotonic()
        now = now or fields.Datetime.now()
        if isinstance(now, str):
            now = fields.Datetime.from_string(now)
        # the regulation's minimum holds even if the setting was lowered behind the form
        ledger_cutoff = fields.Datetime.to_string(now - relativedelta(
            months=max(company.env_gate_ledger_months, MIN_LEDGER_MONTHS)))
        picture_cutoff = fields.Datetime.to_string(now - relativedelta(
            months=max(company.env_gate_picture_months, MIN_PICTURE_MONTHS)))
        log = self.create({'company_id': company.id, 'ledger_cutoff': ledger_cutoff,
                           'picture_cutoff': picture_cutoff})
        notes = []
        counts = {'pictures': log._purge_pictures(picture_cutoff)}
        bounds = log._prefixes(ledger_cutoff, notes)
        counts['uploads'] = 0
        for model, key in (('env.gate.event', 'events'), ('env.gate.correction', 'corrections')):
            counts[key], uploads = log._purge_prefix(model, bounds)
            counts['uploads'] += uploads
        # tickets before their entry passages: which go depends on the passages' prefix
        counts['weighings'] = log._purge_weighings(ledger_cutoff, bounds)
        counts['passages'], uploads = log._purge_prefix('env.gate.passage', bounds)
        counts['uploads'] += uploads
        counts.update(note='\n'.join(notes) or False, duration=time.monotonic() - started)
        log.write(counts)
        self.env['env.gate.passage'].invalidate_cache()
        _logger.info('retention purge of company %s: %s', company.id, ', '.join(
            '%s %s' % (key, counts[key]) for key in ('pictures', 'events', 'passages',
                                                     'corrections', 'weighings', 'uploads')))
        return log

    # ---- pictures --------------------------------------------------------------------

    def _purge_pictures(self, cutoff):
        """Pictures (attachments) of passages and events older than `cutoff`. The chain
        seals their digests, not their bytes, so the ledger still verifies."""
        cr = self.env.cr
        ids = []
        for model in PICTURE_MODELS:
            Model = self.env[model]
            cr.execute('SELECT a.id FROM ir_attachment a JOIN "%s" r ON r.id = a.res_id '
                       'WHERE a.res_model = %%s AND r.company_id = %%s AND r."%s" < %%s'
                       % (Model._table, Model._chain_date_field),
                       (model, self.company_id.id, cutoff))
            ids += [row[0] for row in cr.fetchall()]
        # through the ORM, which also lets the files go from the filestore
        self.env['ir.attachment'].sudo().browse(ids).unlink()
        return len(ids)

    # ---- which records go --------------------------------------------------------------

    def _prefixes(self, cutoff, notes):
        """{model: (start, end)}: each chain's records at positions start < seq <= end go.

        The prefix ends before the first record in chain order that is not older than the
        cut-off (never leaving a hole), before any record a remaining record still needs
        (an exit's sealed entry, a passage's newer correction or ticket), and is empty when
        the chain is broken before its end (the evidence stays)."""
        cr = self.env.cr
        company_id = self.company_id.id
        bounds = {}
        for model in ('env.gate.event', 'env.gate.passage', 'env.gate.correction'):
            Model = self.env[model].sudo()
            start = Model._chain_start(company_id)[0]
            cr.execute('SELECT chain_seq FROM "%s" WHERE company_id = %%s AND chain_seq > %%s '
                       'AND ("%s" IS NULL OR "%s" >= %%s) ORDER BY chain_seq LIMIT 1'
                       % ((Model._table,) + (Model._chain_date_field,) * 2),
                       (company_id, start, cutoff))
            row = cr.fetchone()
            if row:
                end = row[0] - 1
            else:
                cr.execute('SELECT max(chain_seq) FROM "%s" WHERE company_id = %%s'
                           % Model._table, (company_id,))
                end = cr.fetchone()[0] or start
            if end > start:
                found = Model._chain_check(company_id, until_seq=end)
                if found['break']:
                    _logger.warning('retention purge: %s of company %s not purged, its chain is '
                                    'broken: %s', model, company_id, found['break'].message_en)
                    notes.append(_('%s not purged: the chain is broken before the cut-off.\n%s')
                                 % (model, found['break'].message_en))
                    end = start
            bounds[model] = (start, max(end, start))
        params = {'company': company_id, 'cutoff': cutoff}
        while True:
            params.update(p_start=bounds['env.gate.passage'][0], p_end=bounds['env.gate.passage'][1],
                          c_start=bounds['env.gate.correction'][0],
                          c_end=bounds['env.gate.correction'][1])
            # a passage in the prefix that a remaining passage, correction or ticket needs
            cr.execute("""
                SELECT min(q.chain_seq) FROM env_gate_passage q
                 WHERE q.company_id = %%(company)s AND q.chain_seq > %%(p_start)s
                   AND q.chain_seq <= %%(p_end)s
                   AND (EXISTS (SELECT 1 FROM env_gate_passage k WHERE k.entry_id = q.id AND %s)
                     OR EXISTS (SELECT 1 FROM env_gate_passage k WHERE k.exit_id = q.id AND %s)
                     OR EXISTS (SELECT 1 FROM env_gate_correction k
                                 WHERE k.passage_id = q.id AND %s)
                     OR EXISTS (SELECT 1 FROM env_gate_weighing w WHERE w.entry_passage_id = q.id
                                   AND (COALESCE(w.second_time, w.first_time)
                                        < %%(cutoff)s) IS NOT TRUE))
                """ % (_kept('k', 'p_end'), _kept('k', 'p_end'), _kept('k', 'c_end')), params)
            passage_block = cr.fetchone()[0]
            # a correction in the prefix whose passage stays: the history stays with it
            cr.execute("""
                SELECT min(c.chain_seq) FROM env_gate_correction c
                  JOIN env_gate_passage k ON k.id = c.passage_id
                 WHERE c.company_id = %%(company)s AND c.chain_seq > %%(c_start)s
                   AND c.chain_seq <= %%(c_end)s AND %s""" % _kept('k', 'p_end'), params)
            correction_block = cr.fetchone()[0]
            if passage_block is None and correction_block is None:
                return bounds
            for model, block in (('env.gate.passage', passage_block),
                                 ('env.gate.correction', correction_block)):
                if block is not None:
                    bounds[model] = (bounds[model][0], block - 1)

    # ---- removing them ---------------------------------------------------------------

    def _purge_prefix(self, model, bounds):
        """Delete one chain's prefix and what hangs on its records, after anchoring it.
        Returns (records, regulator uploads) deleted."""
        start, end = bounds[model]
        if end <= start:
            return 0, 0
        Model = self.env[model].sudo()
        cr = self.env.cr
        company_id = self.company_id.id
        records = ('SELECT id FROM "%s" WHERE company_id = %%(company)s '
                   'AND chain_seq > %%(start)s AND chain_seq <= %%(end)s' % Model._table)
        params = {'company': company_id, 'start': start, 'end': end, 'model': model}
        cr.execute('SELECT chain_hash FROM "%s" WHERE company_id = %%s AND chain_seq = %%s'
                   % Model._table, (company_id, end))
        last_hash = cr.fetchone()[0]
        cr.execute("SELECT id FROM ir_attachment WHERE res_model = %%(model)s AND res_id IN (%s)"
                   % records, params)
        self.env['ir.attachment'].sudo().browse([row[0] for row in cr.fetchall()]).unlink()
        cr.execute('DELETE FROM env_gate_upload WHERE res_model = %%(model)s AND res_id IN (%s)'
                   % records, params)
        uploads = cr.rowcount
        for table in ('mail_message', 'mail_followers'):
            column = 'model' if table == 'mail_message' else 'res_model'
            cr.execute('DELETE FROM %s WHERE %s = %%(model)s AND res_id IN (%s)'
                       % (table, column, records), params)
        cr.execute('DELETE FROM mail_activity WHERE res_model = %%(model)s AND res_id IN (%s)'
                   % records, params)
        if model == 'env.gate.event':
            # a register proposal made from a QR scan keeps its own data
            cr.execute('UPDATE env_gate_vehicle_proposal SET event_id = NULL '
                       'WHERE event_id IN (%s)' % records, params)
        cr.execute('DELETE FROM "%s" WHERE company_id = %%(company)s AND chain_seq > %%(start)s '
                   'AND chain_seq <= %%(end)s' % Model._table, params)
        count = cr.rowcount
        self.env['env.gate.chain.anchor'].sudo().create({
            'model': model, 'company_id': company_id, 'chain_seq': end, 'chain_hash': last_hash,
            'cutoff': self.ledger_cutoff, 'count': count, 'purge_log_id': self.id})
        return count, uploads

    def _purge_weighings(self, cutoff, bounds):
        """Weighbridge tickets older than the cut-off whose entry passage goes too (or that
        have none)."""
        cr = self.env.cr
        params = {'company': self.company_id.id, 'cutoff': cutoff,
                  'p_end': bounds['env.gate.passage'][1]}
        tickets = """SELECT w.id FROM env_gate_weighing w
                       LEFT JOIN env_gate_passage k ON k.id = w.entry_passage_id
                      WHERE w.company_id = %%(company)s
                        AND COALESCE(w.second_time, w.first_time) < %%(cutoff)s
                        AND (k.id IS NULL OR NOT %s)""" % _kept('k', 'p_end')
        cr.execute(tickets, params)
        ids = [row[0] for row in cr.fetchall()]
        if not ids:
            return 0
        for table, column in (('mail_message', 'model'), ('mail_followers', 'res_model'),
                              ('mail_activity', 'res_model')):
            cr.execute('DELETE FROM %s WHERE %s = %%s AND res_id = ANY(%%s)' % (table, column),
                       ('env.gate.weighing', ids))
        cr.execute('DELETE FROM env_gate_weighing WHERE id = ANY(%s)', (ids,))
        return cr.rowcount
