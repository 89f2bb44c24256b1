from odoo import api, fields, models


class StockPicking(models.Model):
    _inherit = 'stock.picking'

    env_gate_weighing_ids = fields.One2many('env.gate.weighing', 'picking_id', 'Weighings')
    env_gate_net = fields.Float('Weighed Net (t)', digits=(12, 3),
                                compute='_compute_env_gate_net')

    @api.depends('env_gate_weighing_ids.net', 'env_gate_weighing_ids.state')
    def _compute_env_gate_net(self):
        for picking in self:
            picking.env_gate_net = sum(picking.env_gate_weighing_ids.filtered(
                lambda w: w.state == 'done').mapped('net'))

    @api.multi
    def action_env_gate_link_weighing(self):
        """One click from a weighing's proposals: link that ticket to this transfer."""
        self.ensure_one()
        ticket = self.env['env.gate.weighing'].browse(self.env.context.get('env_gate_weighing_id'))
        ticket.ensure_one()
        ticket._link(self)
        return {'type': 'ir.actions.act_window', 'res_model': 'env.gate.weighing',
                'res_id': ticket.id, 'view_mode': 'form', 'target': 'current'}
