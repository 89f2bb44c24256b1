from odoo import fields, models


class EnvGateGate(models.Model):
    """A plant gate (出入口) as the regulator's gate registry describes it."""
    _name = 'env.gate.gate'
    _description = 'Plant Gate'
    _inherit = ['mail.thread']
    _order = 'code'

    name = fields.Char('Gate Name', required=True, track_visibility='onchange')
    code = fields.Char('Gate No.', required=True, size=32, track_visibility='onchange',
                       help='Enterprise gate number (出入口编号) reported to the regulator.')
    company_id = fields.Many2one('res.company', 'Company', required=True,
                                 default=lambda self: self.env.user.company_id)
    address = fields.Char('Address')
    longitude = fields.Float('Longitude', digits=(10, 6))
    latitude = fields.Float('Latitude', digits=(10, 6))
    manager_name = fields.Char('Person in Charge')
    manager_phone = fields.Char('Phone')
    maintainer = fields.Char('Maintenance Company')
    maintainer_contact = fields.Char('Maintenance Contact')
    lane_ids = fields.One2many('env.gate.lane', 'gate_id', 'Lanes')
    lane_count = fields.Integer(compute='_compute_lane_count')
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ('code_company_uniq', 'unique(company_id, code)', 'The gate number must be unique per company.'),
    ]

    def _compute_lane_count(self):
        for gate in self:
            gate.lane_count = len(gate.lane_ids)
