from odoo import fields, models


class ResCompany(models.Model):
    _inherit = 'res.company'

    env_gate_enterprise_code = fields.Char(
        'Enterprise Code', size=32,
        help='Code the environmental authority assigned to this plant (企业编码); '
             'sent to regulator platforms as organ/qybh.')
    env_gate_target_grade = fields.Selection(
        [('A', 'A'), ('B', 'B'), ('C', 'C')], 'Target Performance Grade', default='A',
        required=True,
        help='The performance grade (绩效分级) the plant aims at: in-plant vehicles and '
             'non-road machinery below its rules are shown as due for replacement.')
