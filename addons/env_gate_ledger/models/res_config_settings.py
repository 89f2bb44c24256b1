from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = 'res.config.settings'

    env_gate_dedup_window = fields.Integer(
        'Same-passage window (s)', default=60,
        config_parameter='env_gate.dedup_window',
        help='Reads of the same plate on the same lane within this many seconds are one passage.')
    env_gate_low_confidence = fields.Integer(
        'Low-confidence threshold', default=85,
        config_parameter='env_gate.low_confidence',
        help='Plate reads below this confidence (0-100) are flagged for a person to confirm.')
    env_gate_tare_validity_days = fields.Integer(
        'Stored tare valid for (days)', default=30, config_parameter='env_gate.tare_validity_days')
    env_gate_clean_trucks = fields.Selection(
        [('new_energy', 'New-energy trucks only (2024 rules)'),
         ('v_plus', 'China V+ and new-energy trucks')], 'Clean road transport',
        default='new_energy', config_parameter='env_gate.clean_trucks',
        help='Which trucks count as clean transport in the clean-transport share.')
    env_gate_enterprise_code = fields.Char(
        related='company_id.env_gate_enterprise_code', readonly=False)
    env_gate_target_grade = fields.Selection(
        related='company_id.env_gate_target_grade', readonly=False)
    env_gate_ledger_months = fields.Integer(
        related='company_id.env_gate_ledger_months', readonly=False)
    env_gate_picture_months = fields.Integer(
        related='company_id.env_gate_picture_months', readonly=False)
