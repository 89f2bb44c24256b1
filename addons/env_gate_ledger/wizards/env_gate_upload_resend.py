"""补传: send a period, a gate, a ledger kind or a platform again.

Idempotent: the same upload rows go back to pending (never a second row, and the same
record_id, so the platform deduplicates); ledger records that have no row yet for a
platform (it was added later, or did not want the kind then) get one.
"""
from odoo import _, api, fields, models

from ..models.env_gate_upload import KINDS, SOURCE_MODELS

GATE_LEDGERS = {'env.gate.passage': 'pass_time', 'env.gate.lane.status': 'time'}


class EnvGateUploadResend(models.TransientModel):
    _name = 'env.gate.upload.resend'
    _description = 'Re-send to Regulators'

    date_from = fields.Datetime('From', required=True,
                                default=lambda self: fields.Datetime.to_string(
                                    fields.Datetime.from_string(fields.Datetime.now())
                                    .replace(hour=0, minute=0, second=0)))
    date_to = fields.Datetime('To', required=True, default=fields.Datetime.now)
    gate_id = fields.Many2one('env.gate.gate', 'Gate', help='Empty: every gate.')
    kind = fields.Selection(KINDS, 'Ledger', help='Empty: every ledger.')
    regulator_ids = fields.Many2many('env.gate.regulator', string='Platforms',
                                     help='Empty: every active platform.')
    include_delivered = fields.Boolean(
        'Delivered Ones Too',
        help='Send records the platform confirmed as well (it answers "duplicate").')
    requeued = fields.Integer('Queued', readonly=True)

    @api.multi
    def action_resend(self):
        self.ensure_one()
        Upload = self.env['env.gate.upload']
        regulators = self.regulator_ids or self.env['env.gate.regulator'].search([])
        kinds = [self.kind] if self.kind else [k for k, _label in KINDS if k in SOURCE_MODELS]
        for kind in kinds:
            model = SOURCE_MODELS[kind]
            if model in GATE_LEDGERS:
                # ledgers of a gate, by when it happened
                time = GATE_LEDGERS[model]
                domain = [(time, '>=', self.date_from), (time, '<=', self.date_to)]
                if self.gate_id:
                    domain.append(('gate_id', '=', self.gate_id.id))
            else:
                if self.gate_id:
                    continue
                domain = [('write_date', '>=', self.date_from), ('write_date', '<=', self.date_to)]
                if model == 'env.gate.vehicle':
                    domain.append(('category', '=', 'in_plant' if kind == 'in_plant_vehicle'
                                   else 'transport'))
            records = self.env[model].search(domain)
            Upload._enqueue(model, records.ids, kind)
            states = ['failed', 'rejected', 'pending']
            if self.include_delivered:
                states += ['sent', 'duplicate']
            uploads = Upload.search([('res_model', '=', model), ('res_id', 'in', records.ids),
                                     ('kind', '=', kind), ('state', 'in', states),
                                     ('regulator_id', 'in', regulators.ids)])
            uploads._requeue()
            self.requeued += len(uploads)
        action = self.env.ref('env_gate_ledger.env_gate_upload_action').read()[0]
        action['domain'] = [('state', '=', 'pending')]
        action['context'] = {}
        action['name'] = _('Queued again: %d') % self.requeued
        return action
