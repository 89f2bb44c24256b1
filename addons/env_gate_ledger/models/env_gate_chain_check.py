"""Whole-ledger chain verification: one result per ledger, company and run.

The daily job verifies every chained ledger of every company and keeps the result, so an
inspector sees when the chain was last found intact; a break is raised to the
environmental managers at once.
"""
import logging
import time

from odoo import _, api, fields, models

from .env_gate_chain_mixin import LEDGERS

_logger = logging.getLogger(__name__)

MANAGER_GROUP = 'env_gate_ledger.group_manager'


class EnvGateChainCheck(models.Model):
    _name = 'env.gate.chain.check'
    _description = 'Ledger Chain Check'
    _inherit = ['mail.thread', 'mail.activity.mixin']
    _order = 'date desc, id desc'
    _rec_name = 'date'

    date = fields.Datetime('Checked At', required=True, readonly=True,
                           default=fields.Datetime.now)
    model = fields.Selection(LEDGERS, 'Ledger', required=True, readonly=True)
    company_id = fields.Many2one('res.company', 'Company', required=True, readonly=True)
    checked = fields.Integer('Records Checked', readonly=True)
    start_seq = fields.Integer('From Chain Position', readonly=True,
                               help='The newest retention anchor: records up to it were purged.')
    last_seq = fields.Integer('Last Chain Position', readonly=True)
    ok = fields.Boolean('Intact', readonly=True)
    broken_res_id = fields.Integer('First Broken Record', readonly=True)
    broken_seq = fields.Integer('Its Chain Position', readonly=True)
    reason = fields.Char('Reason Code', readonly=True)
    message = fields.Text('Result', readonly=True)
    duration = fields.Float('Duration (s)', digits=(12, 3), readonly=True)

    @api.model
    def _cron_verify_all(self):
        """Called by the cron "Gate ledger: verify hash chains" (daily): every chained
        ledger of every company; a break gets an activity for the environmental
        managers and an error in the server log."""
        checks = self.browse()
        for company in self.env['res.company'].sudo().search([]):
            for model, _label in LEDGERS:
                checks |= self.sudo()._verify(model, company, notify=True)
        return checks

    @api.model
    def _verify(self, model, company, notify=False):
        """Verify one ledger of one company (see env.gate.chain.mixin._chain_check) and
        store the result. The wizard Verify Ledger and the daily job both come here."""
        started = time.monotonic()
        found = self.env[model].sudo()._chain_check(company.id)
        broken = found['break']
        if broken:
            record = self.env[model].sudo().browse(found['broken_id']).exists()
            message = _('First broken record: %s (%s id %s, chain position %s)\n%s\n%s') % (
                record.display_name or '-', model, found['broken_id'],
                found['broken_seq'] or '-', broken.message_zh, broken.message_en)
        else:
            message = _('All %s records match their chain.\n全部 %s 条记录与哈希链一致。') % (
                found['checked'], found['checked'])
        check = self.sudo().create({
            'model': model, 'company_id': company.id, 'checked': found['checked'],
            'start_seq': found['start_seq'], 'last_seq': found['last_seq'], 'ok': not broken,
            'broken_res_id': found['broken_id'] or 0, 'broken_seq': found['broken_seq'] or 0,
            'reason': broken.reason_code if broken else False, 'message': message,
            'duration': time.monotonic() - started})
        if broken and notify:
            _logger.error('hash chain of %s (company %s) is broken: %s', model, company.id,
                          broken.message_en)
            check._notify_managers()
        return check

    def _notify_managers(self):
        """One to-do per environmental manager (Odoo 11 has no activity_schedule)."""
        activity_type = self.env.ref('mail.mail_activity_data_todo', raise_if_not_found=False)
        if not activity_type:
            return
        model_id = self.env['ir.model']._get(self._name).id
        for user in self.env.ref(MANAGER_GROUP).users.filtered(
                lambda u: u.active and self.company_id in u.company_ids):
            self.env['mail.activity'].sudo().create({
                'activity_type_id': activity_type.id, 'res_model_id': model_id,
                'res_id': self.id, 'user_id': user.id,
                'summary': _('Ledger hash chain broken: %s') % dict(
                    self._fields['model']._description_selection(self.env))[self.model],
                'note': self.message, 'date_deadline': fields.Date.context_today(self)})

    @api.multi
    def action_open_broken(self):
        self.ensure_one()
        return {'type': 'ir.actions.act_window', 'res_model': self.model,
                'res_id': self.broken_res_id, 'view_mode': 'form', 'target': 'current'}
