"""The vehicle register: transport trucks (进出厂) and in-plant vehicles (厂内)."""
from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..hj1321 import codes, consistency, grades, plates, vin as vin_rules
from ..hj1321.errors import Hj1321Error
from .common import bilingual, code_selection, replacement_due_domain, validation_error


class EnvGateVehicle(models.Model):
    _name = 'env.gate.vehicle'
    _description = 'Vehicle'
    _inherit = ['mail.thread', 'env.gate.sync.mixin']
    _order = 'plate, internal_code'
    _rec_name = 'display_plate'

    _sync_fields = ('plate', 'plate_color', 'emission_stage', 'fuel_type', 'vehicle_type',
                    'category', 'fleet_name', 'owner', 'special_purpose', 'hazardous_goods',
                    'livelihood', 'active', 'company_id')

    category = fields.Selection(
        [('transport', 'Transport (in and out)'), ('in_plant', 'In-plant')], 'Category',
        required=True, default='transport', track_visibility='onchange')
    plate = fields.Char('Plate', size=16, track_visibility='onchange',
                        help='Stored as its normalised key: upper case, no separators, '
                             'province character kept.')
    plate_kind = fields.Char('Plate Kind', compute='_compute_plate_kind', store=True)
    plate_color = fields.Selection(code_selection('plate_color'), 'Plate Colour',
                                   track_visibility='onchange')
    internal_code = fields.Char('Env. Registration / Internal No.', size=32,
                                help='环保登记编码 or the plant\'s own number (in-plant vehicles).')
    display_plate = fields.Char('Vehicle', compute='_compute_display_plate', store=True)
    vin = fields.Char('VIN', size=17, track_visibility='onchange')
    vehicle_type = fields.Selection(code_selection('vehicle_type'), 'Vehicle Type')
    registration_date = fields.Date('Registration Date')
    production_date = fields.Date('Production Date')
    brand_model = fields.Char('Brand / Model', size=100)
    engine_model = fields.Char('Engine Model', size=32)
    engine_maker = fields.Char('Engine Manufacturer', size=32)
    engine_no = fields.Char('Engine No.', size=32)
    fuel_type = fields.Selection(code_selection('fuel_type'), 'Fuel', track_visibility='onchange')
    emission_stage = fields.Selection(code_selection('emission_stage'), 'Emission Stage',
                                      track_visibility='onchange')
    use_nature = fields.Selection(code_selection('use_nature'), 'Use Nature')
    networked = fields.Selection(code_selection('networked'), 'OBD Networked', default='0')
    fleet_name = fields.Char('Fleet / Haulier', size=100,
                             help='车队名称: own fleet, individual owner or haulier licence name.')
    owner = fields.Char('Owner (Unit)', size=100)
    partner_id = fields.Many2one('res.partner', 'Haulier / Supplier')
    picture_list = fields.Binary('Emission Information List (随车清单)', attachment=True)
    picture_license = fields.Binary('Driving Licence (行驶证)', attachment=True)
    clean = fields.Boolean('China V+ / New Energy', compute='_compute_clean', store=True)
    rated_load = fields.Float('Rated Load (t)', digits=(12, 3), help='核定载质量')
    tare_min = fields.Float('Tare Range From (t)', digits=(12, 3))
    tare_max = fields.Float('Tare Range To (t)', digits=(12, 3))
    stored_tare = fields.Float('Stored Tare (t)', digits=(12, 3), readonly=True,
                               help='Last tare weighed on the weighbridge; may stand in for a '
                                    'second weighing while it is valid.')
    stored_tare_date = fields.Datetime('Stored Tare Date', readonly=True)
    weighing_ids = fields.One2many('env.gate.weighing', 'vehicle_id', 'Weighings')
    warnings = fields.Text('Consistency Warnings', compute='_compute_warnings')
    missing = fields.Char('Missing for the Ledger', compute='_compute_missing')
    passage_ids = fields.One2many('env.gate.passage', 'vehicle_id', 'Passages')
    passage_count = fields.Integer(compute='_compute_passage_count')
    special_purpose = fields.Boolean('Special-purpose Vehicle', track_visibility='onchange',
                                     help='专项作业车: exempt from emergency strategies that '
                                          'exempt special vehicles.')
    hazardous_goods = fields.Boolean('Hazardous-goods Transport', track_visibility='onchange',
                                     help='危化品运输车: exempt from emergency strategies that '
                                          'exempt hazardous-goods vehicles.')
    livelihood = fields.Boolean('Livelihood Supply', track_visibility='onchange',
                                help='民生保障: exempt only where a strategy says so.')
    blacklisted = fields.Boolean('Blacklisted', compute='_compute_blacklist',
                                 search='_search_blacklisted',
                                 help='A currently valid entry of the authority blacklist names '
                                      'this plate.')
    blacklist_ids = fields.Many2many('env.gate.blacklist', string='Blacklist Entries',
                                     compute='_compute_blacklist')
    blacklist_count = fields.Integer('Blacklist Count', compute='_compute_blacklist')
    replacement_due = fields.Boolean(
        'Due for Replacement', compute='_compute_replacement_due',
        search='_search_replacement_due',
        help='An in-plant vehicle below the rule of the plant\'s target performance grade '
             '(grade A: China V+ or new energy).')
    company_id = fields.Many2one('res.company', 'Company', required=True,
                                 default=lambda self: self.env.user.company_id)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ('plate_company_uniq', 'unique(company_id, plate)', 'This plate is already registered.'),
        ('vin_company_uniq', 'unique(company_id, vin)', 'This VIN is already registered.'),
    ]

    @api.depends('plate')
    def _compute_plate_kind(self):
        for vehicle in self:
            vehicle.plate_kind = plates.classify_plate(vehicle.plate) if vehicle.plate else False

    @api.depends('plate', 'internal_code')
    def _compute_display_plate(self):
        for vehicle in self:
            vehicle.display_plate = vehicle.plate or vehicle.internal_code or _('(no plate)')

    @api.depends('emission_stage', 'fuel_type')
    def _compute_clean(self):
        for vehicle in self:
            vehicle.clean = codes.is_v_plus_or_new_energy(vehicle.emission_stage, vehicle.fuel_type)

    @api.depends('category', 'emission_stage', 'fuel_type', 'company_id.env_gate_target_grade')
    def _compute_replacement_due(self):
        for vehicle in self:
            vehicle.replacement_due = vehicle.category == 'in_plant' and grades.replacement_due(
                vehicle.company_id.env_gate_target_grade or 'A', 'in_plant',
                vehicle.emission_stage or None, vehicle.fuel_type or None)

    def _search_replacement_due(self, operator, value):
        if operator not in ('=', '!='):
            raise UserError(_('Due for Replacement can only be searched as true or false.'))
        return replacement_due_domain(self.env, 'in_plant', (operator == '=') == bool(value),
                                      scope=[('category', '=', 'in_plant')])

    @api.depends('plate_kind', 'plate_color', 'fuel_type', 'emission_stage')
    def _compute_warnings(self):
        lang = self.env.context.get('lang')
        for vehicle in self:
            found = consistency.check_vehicle(
                plate_kind=vehicle.plate_kind or None, plate_color=vehicle.plate_color or None,
                fuel=vehicle.fuel_type or None, stage=vehicle.emission_stage or None)
            vehicle.warnings = '\n'.join(
                bilingual(w.message_zh, w.message_en, lang) for w in found) or False

    def _compute_missing(self):
        for vehicle in self:
            missing = []
            if not vehicle.vin:
                missing.append(_('VIN'))
            if not vehicle.emission_stage:
                missing.append(_('Emission Stage'))
            if not vehicle.fuel_type:
                missing.append(_('Fuel'))
            if not (vehicle.picture_list or vehicle.picture_license):
                missing.append(_('Emission Information List or Driving Licence picture'))
            vehicle.missing = ', '.join(missing) or False

    def _compute_passage_count(self):
        data = self.env['env.gate.passage'].read_group(
            [('vehicle_id', 'in', self.ids)], ['vehicle_id'], ['vehicle_id'])
        counts = {d['vehicle_id'][0]: d['vehicle_id_count'] for d in data}
        for vehicle in self:
            vehicle.passage_count = counts.get(vehicle.id, 0)

    def _compute_blacklist(self):
        Blacklist = self.env['env.gate.blacklist']
        entries = Blacklist.search([('plate', 'in', [p for p in self.mapped('plate') if p])])
        for vehicle in self:
            mine = entries.filtered(lambda e: e.plate == vehicle.plate
                                    and e.company_id == vehicle.company_id)
            vehicle.blacklist_ids = mine
            vehicle.blacklist_count = len(mine)
            vehicle.blacklisted = any(mine.mapped('currently_valid'))

    def _search_blacklisted(self, operator, value):
        valid = self.env['env.gate.blacklist'].search(
            self.env['env.gate.blacklist']._valid_domain())
        pairs = {(e.plate, e.company_id.id) for e in valid}
        ids = [v.id for v in self.with_context(active_test=False).search(
            [('plate', 'in', list({p for p, _c in pairs}))]) if (v.plate, v.company_id.id) in pairs]
        return [('id', 'in' if (operator == '=') == bool(value) else 'not in', ids)]

    @api.constrains('plate', 'internal_code', 'category')
    def _check_identity(self):
        for vehicle in self:
            if not vehicle.plate and not (vehicle.category == 'in_plant' and vehicle.internal_code):
                raise validation_error(Hj1321Error(
                    'vehicle.identity',
                    '运输车辆必须填写车牌号；厂内车辆须填写车牌号或环保登记编码/内部编号。',
                    'A transport vehicle needs a plate; an in-plant vehicle needs a plate or '
                    'an environmental registration / internal number.'), self.env)

    @api.model
    def _normalise_vals(self, vals):
        """Validate and normalise identity fields before anything is written."""
        vals = dict(vals)
        try:
            if vals.get('plate'):
                vals['plate'], _kind = plates.validate_plate(vals['plate'])
            if vals.get('vin'):
                vals['vin'] = vin_rules.validate_vin(vals['vin'])
        except Hj1321Error as exc:
            raise validation_error(exc, self.env)
        return vals

    @api.model
    def create(self, vals):
        return super(EnvGateVehicle, self).create(self._normalise_vals(vals))

    @api.multi
    def write(self, vals):
        result = super(EnvGateVehicle, self).write(self._normalise_vals(vals))
        if 'plate' in vals:
            # strategies exempt vehicles by plate on the box: send them again
            self.env['env.gate.strategy'].sudo().search(
                [('exempt_vehicle_ids', 'in', self.ids)])._sync_bump()
        return result

    @api.onchange('plate')
    def _onchange_plate(self):
        if self.plate and not self.plate_color:
            kind = plates.classify_plate(plates.normalize_plate(self.plate))
            colors = plates.expected_colors(kind) if kind else set()
            if len(colors) == 1:
                self.plate_color = next(iter(colors))

    @api.multi
    def action_view_passages(self):
        self.ensure_one()
        action = self.env.ref('env_gate_ledger.env_gate_passage_action').read()[0]
        action['domain'] = [('vehicle_id', '=', self.id)]
        action['context'] = {}
        return action

    @api.multi
    def action_view_blacklist(self):
        self.ensure_one()
        action = self.env.ref('env_gate_ledger.env_gate_blacklist_action').read()[0]
        action['domain'] = [('plate', '=', self.plate)]
        action['context'] = {'default_plate': self.plate, 'default_plate_color': self.plate_color,
                             'active_test': False}
        return action

    @api.model
    def _find_by_plate(self, plate_key, company):
        return self.search([('plate', '=', plate_key), ('company_id', '=', company.id)], limit=1)
