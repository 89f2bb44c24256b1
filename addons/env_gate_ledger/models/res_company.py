from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

# HJ 1321-2023: the e-ledger is kept at least 24 months, the pictures at least 12.
MIN_LEDGER_MONTHS = 24
MIN_PICTURE_MONTHS = 12


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
    env_gate_ledger_months = fields.Integer(
        'Keep Ledger (months)', default=MIN_LEDGER_MONTHS,
        help='Passages, device events, corrections and weighbridge tickets older than this '
             'are purged every night (at least 24 months).')
    env_gate_picture_months = fields.Integer(
        'Keep Pictures (months)', default=MIN_PICTURE_MONTHS,
        help='Pictures of passages and events older than this are purged every night '
             '(at least 12 months).')

    @api.constrains('env_gate_ledger_months', 'env_gate_picture_months')
    def _check_env_gate_retention(self):
        for company in self:
            if company.env_gate_ledger_months < MIN_LEDGER_MONTHS:
                raise ValidationError(_(
                    'The gate ledger must be kept at least %d months (HJ 1321-2023).\n'
                    '门禁电子台账须至少保存 %d 个月（HJ 1321-2023）。')
                    % (MIN_LEDGER_MONTHS, MIN_LEDGER_MONTHS))
            if company.env_gate_picture_months < MIN_PICTURE_MONTHS:
                raise ValidationError(_(
                    'Gate pictures must be kept at least %d months (HJ 1321-2023).\n'
                    '门禁抓拍图片须至少保存 %d 个月（HJ 1321-2023）。')
                    % (MIN_PICTURE_MONTHS, MIN_PICTURE_MONTHS))
