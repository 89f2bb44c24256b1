from odoo import fields, models


class EnvGateLaneToken(models.TransientModel):
    """Shows a freshly issued lane token once; the lane keeps only its hash.

    Transient records are vacuumed by Odoo within the hour, taking the plain token with them.
    """
    _name = 'env.gate.lane.token'
    _description = 'Gate-box Token'

    lane_id = fields.Many2one('env.gate.lane', 'Lane', readonly=True)
    token = fields.Char('Token', readonly=True)
