from odoo import fields, models


class PurchaseOrder(models.Model):
    _inherit = 'purchase.order'

    env_gate_appointment_ids = fields.One2many('env.gate.appointment', 'purchase_id',
                                               'Expected Trucks')
    env_gate_weighing_ids = fields.One2many('env.gate.weighing', 'purchase_id', 'Weighings')
