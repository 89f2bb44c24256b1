from odoo import api, fields, models

from ..models.env_gate_chain_mixin import LEDGERS


class EnvGateVerify(models.TransientModel):
    """Recompute the hash chain and name the first record that no longer matches."""
    _name = 'env.gate.verify'
    _description = 'Verify Ledger'

    ledger = fields.Selection(LEDGERS, 'Ledger', required=True, default='env.gate.passage')
    company_id = fields.Many2one('res.company', 'Company', required=True,
                                 default=lambda self: self.env.user.company_id)
    state = fields.Selection([('draft', 'Draft'), ('ok', 'Intact'), ('broken', 'Broken')],
                             default='draft', readonly=True)
    checked = fields.Integer('Records Checked', readonly=True)
    result = fields.Text('Result', readonly=True)
    broken_res_id = fields.Integer('First Broken Record', readonly=True)

    @api.multi
    def action_verify(self):
        self.ensure_one()
        check = self.env['env.gate.chain.check']._verify(self.ledger, self.company_id)
        self.write({'state': 'ok' if check.ok else 'broken', 'checked': check.checked,
                    'broken_res_id': check.broken_res_id, 'result': check.message})
        return {'type': 'ir.actions.act_window', 'res_model': self._name, 'res_id': self.id,
                'view_mode': 'form', 'target': 'new'}

    @api.multi
    def action_open_broken(self):
        self.ensure_one()
        return {'type': 'ir.actions.act_window', 'res_model': self.ledger,
                'res_id': self.broken_res_id, 'view_mode': 'form', 'target': 'current'}
