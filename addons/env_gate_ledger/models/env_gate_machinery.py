"""Non-road mobile machinery (非道路移动机械) register."""
from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..hj1321 import codes, grades, plates
from ..hj1321.errors import Hj1321Error
from .common import code_selection, replacement_due_domain, validation_error


class EnvGateMachinery(models.Model):
    _name = 'env.gate.machinery'
    _description = 'Non-road Mobile Machinery'
    _inherit = ['mail.thread']
    _order = 'registration_code'
    _rec_name = 'registration_code'

    registration_code = fields.Char('Env. Registration Code', size=32, required=True,
                                    track_visibility='onchange', help='环保登记编码')
    kind = fields.Selection(code_selection('machinery_kind'), 'Machinery Kind', required=True,
                            track_visibility='onchange')
    production_date = fields.Date('Production Date')
    plate = fields.Char('Plate', size=16)
    emission_stage = fields.Selection(code_selection('emission_stage'), 'Emission Stage',
                                      required=True, default='X', track_visibility='onchange')
    fuel_type = fields.Selection(code_selection('fuel_type'), 'Fuel', track_visibility='onchange')
    pin = fields.Char('PIN / Product ID', size=64)
    env_code = fields.Char('Machinery Env. Code', size=64, help='机械环保代码')
    machine_model = fields.Char('Machine Model', size=100)
    engine_model = fields.Char('Engine Model', size=32)
    engine_maker = fields.Char('Engine Manufacturer', size=32)
    engine_no = fields.Char('Engine No.', size=32)
    owner = fields.Char('Owner (Unit)', size=100)
    picture_nameplate = fields.Binary('Machine Nameplate', attachment=True)
    picture_engine_nameplate = fields.Binary('Engine Nameplate', attachment=True)
    picture_env_label = fields.Binary('Environmental Label', attachment=True)
    clean = fields.Boolean('China V+ / New Energy', compute='_compute_clean', store=True)
    replacement_due = fields.Boolean(
        'Due for Replacement', compute='_compute_replacement_due',
        search='_search_replacement_due',
        help='Below the non-road machinery rule of the plant\'s target performance grade '
             '(grade A: China III+ or new energy).')
    company_id = fields.Many2one('res.company', 'Company', required=True,
                                 default=lambda self: self.env.user.company_id)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ('code_company_uniq', 'unique(company_id, registration_code)',
         'This registration code is already registered.'),
    ]

    @api.depends('emission_stage', 'fuel_type')
    def _compute_clean(self):
        for machine in self:
            machine.clean = codes.is_v_plus_or_new_energy(machine.emission_stage, machine.fuel_type)

    @api.depends('emission_stage', 'fuel_type', 'company_id.env_gate_target_grade')
    def _compute_replacement_due(self):
        for machine in self:
            machine.replacement_due = grades.replacement_due(
                machine.company_id.env_gate_target_grade or 'A', 'machinery',
                machine.emission_stage or None, machine.fuel_type or None)

    def _search_replacement_due(self, operator, value):
        if operator not in ('=', '!='):
            raise UserError(_('Due for Replacement can only be searched as true or false.'))
        return replacement_due_domain(self.env, 'machinery', (operator == '=') == bool(value))

    @api.model
    def _normalise_vals(self, vals):
        vals = dict(vals)
        if vals.get('plate'):
            try:
                vals['plate'] = plates.normalize_plate(vals['plate'])
            except Hj1321Error as exc:
                raise validation_error(exc, self.env)
        return vals

    @api.model
    def create(self, vals):
        return super(EnvGateMachinery, self).create(self._normalise_vals(vals))

    @api.multi
    def write(self, vals):
        return super(EnvGateMachinery, self).write(self._normalise_vals(vals))
