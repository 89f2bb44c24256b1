from odoo import fields, models


class ResCompany(models.Model):
    _inherit = 'res.company'

    env_gate_enterprise_code = fields.Char(
        'Enterprise Code', size=32,
        help='Code the environmental authority assigned to this plant (企业编码); '
             'sent to regulator platforms as organ/qybh.')
