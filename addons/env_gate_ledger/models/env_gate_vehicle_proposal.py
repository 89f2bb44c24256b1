"""Register updates proposed from a scanned 随车清单 (vehicle emission information list).

The gate box decodes the list's QR code and sends a `qr` event (extra.codes[*] with the
text and what env_gate_hw/gatebox/qr.py parsed out of it: VIN, model, emission stage,
engine model, manufacturer). A scan is evidence, not truth: it becomes a proposal that a
clerk accepts (the register entry is updated or created) or rejects.
"""
import base64

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..hj1321 import codes, plates, vin as vin_rules
from ..hj1321.errors import Hj1321Error
from .common import bilingual, code_selection

# proposal field -> vehicle field written on accept
VEHICLE_FIELDS = (('proposed_vin', 'vin'), ('proposed_model', 'brand_model'),
                  ('proposed_stage', 'emission_stage'), ('proposed_fuel', 'fuel_type'),
                  ('proposed_engine_model', 'engine_model'))


def merge_codes(found):
    """One proposal out of the QR codes of one scan: the first value of each field, the
    texts joined, every warning kept. `found` is the event's extra.codes."""
    merged, texts, warnings = {}, [], []
    for item in found if isinstance(found, list) else []:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get('text'), str):
            texts.append(item['text'])
        parsed = item.get('parsed') if isinstance(item.get('parsed'), dict) else {}
        for key in ('vin', 'model', 'emission_stage', 'emission_stage_raw', 'engine_model',
                    'manufacturer', 'disclosure_no'):
            value = parsed.get(key)
            if isinstance(value, str) and value.strip():
                merged.setdefault(key, value.strip())
        for warning in parsed.get('warnings') or []:
            if isinstance(warning, dict):
                warnings.append('%s / %s' % (warning.get('message_zh') or '',
                                             warning.get('message_en') or ''))
    merged['text'] = '\n\n'.join(texts)
    merged['warnings'] = '\n'.join(warnings)
    return merged


class EnvGateVehicleProposal(models.Model):
    _name = 'env.gate.vehicle.proposal'
    _description = 'Vehicle Register Proposal'
    _inherit = ['mail.thread', 'env.gate.plate.mixin']
    _order = 'id desc'

    name = fields.Char('Proposal', compute='_compute_name', store=True)
    state = fields.Selection([('proposed', 'Proposed'), ('accepted', 'Accepted'),
                              ('rejected', 'Rejected')], 'Status', required=True,
                             default='proposed', readonly=True, copy=False,
                             track_visibility='onchange')
    vehicle_id = fields.Many2one('env.gate.vehicle', 'Vehicle', track_visibility='onchange',
                                 states={'accepted': [('readonly', True)],
                                         'rejected': [('readonly', True)]},
                                 help='The register entry to update; empty: a new vehicle '
                                      'is created on accept.')
    plate = fields.Char('Plate', size=16, states={'accepted': [('readonly', True)],
                                                  'rejected': [('readonly', True)]},
                        help='The plate the gate box saw on the lane when the list was scanned.')
    plate_color = fields.Selection(code_selection('plate_color'), 'Plate Colour')
    proposed_vin = fields.Char('VIN', size=17)
    proposed_model = fields.Char('Brand / Model', size=100)
    proposed_stage = fields.Selection(code_selection('emission_stage'), 'Emission Stage')
    proposed_fuel = fields.Selection(code_selection('fuel_type'), 'Fuel',
                                     help='The list rarely says; fill it in before accepting.')
    proposed_engine_model = fields.Char('Engine Model', size=32)
    manufacturer = fields.Char('Manufacturer', readonly=True)
    disclosure_no = fields.Char('Disclosure No.', readonly=True, help='信息公开编号')
    stage_text = fields.Char('Stage as Written', readonly=True)
    source = fields.Selection([('qr', 'Emission List Scan'), ('platform', 'Regulator Platform')],
                              'Source', required=True, default='qr', readonly=True)
    regulator_id = fields.Many2one('env.gate.regulator', 'Platform', readonly=True,
                                   ondelete='set null')
    raw_text = fields.Text('Scanned Text', readonly=True)
    warnings = fields.Text('Warnings', readonly=True)
    picture_list = fields.Binary('Emission Information List (随车清单)', attachment=True,
                                 readonly=True)
    event_id = fields.Many2one('env.gate.event', 'Device Event', readonly=True,
                               ondelete='restrict')
    lane_id = fields.Many2one('env.gate.lane', 'Lane', readonly=True)
    scanned_at = fields.Datetime('Scanned', readonly=True)
    current_vin = fields.Char(related='vehicle_id.vin', string='Current VIN', readonly=True)
    current_model = fields.Char(related='vehicle_id.brand_model', string='Current Brand / Model',
                                readonly=True)
    current_stage = fields.Selection(related='vehicle_id.emission_stage',
                                     string='Current Emission Stage', readonly=True)
    current_fuel = fields.Selection(related='vehicle_id.fuel_type', string='Current Fuel',
                                    readonly=True)
    current_engine_model = fields.Char(related='vehicle_id.engine_model',
                                       string='Current Engine Model', readonly=True)
    decided_by = fields.Many2one('res.users', 'Decided By', readonly=True, copy=False)
    decided_on = fields.Datetime('Decided On', readonly=True, copy=False)
    company_id = fields.Many2one('res.company', 'Company', required=True, readonly=True,
                                 default=lambda self: self.env.user.company_id)

    @api.depends('plate', 'proposed_vin', 'vehicle_id')
    def _compute_name(self):
        for proposal in self:
            proposal.name = proposal.plate or proposal.vehicle_id.display_plate or \
                proposal.proposed_vin or _('(no plate)')

    @api.onchange('plate')
    def _onchange_plate(self):
        if self.plate and not self.vehicle_id:
            key = plates.normalize_plate(self.plate)
            self.vehicle_id = self.env['env.gate.vehicle']._find_by_plate(key, self.company_id)

    # ---- actions ----------------------------------------------------------------------

    def _check_open(self):
        if self.state != 'proposed':
            raise UserError(bilingual('该建议已处理。', 'This proposal was already decided.',
                                      self.env.context.get('lang')))

    @api.multi
    def action_accept(self):
        """Write the proposed values into the register (creating the vehicle if needed)."""
        self.ensure_one()
        self._check_open()
        vals = {vehicle_field: self[field] for field, vehicle_field in VEHICLE_FIELDS
                if self[field]}
        if self.picture_list:
            vals['picture_list'] = self.picture_list
        vehicle = self.vehicle_id
        if not vehicle:
            if not self.plate:
                raise UserError(bilingual(
                    '请填写车牌号或选择要更新的车辆。',
                    'Give the plate or choose the vehicle to update.',
                    self.env.context.get('lang')))
            vals.update(plate=self.plate, plate_color=self.plate_color or False,
                        category='transport', company_id=self.company_id.id)
            vehicle = self.env['env.gate.vehicle'].create(vals)
            body = _('Created from the scanned emission information list (proposal %s).') \
                if self.source == 'qr' else \
                _("Created from the regulator platform's vehicle data (proposal %s).")
        else:
            vehicle.write(vals)
            body = _('Updated from the scanned emission information list (proposal %s).') \
                if self.source == 'qr' else \
                _("Updated from the regulator platform's vehicle data (proposal %s).")
        vehicle.message_post(body=body % self.name)
        self.write({'state': 'accepted', 'vehicle_id': vehicle.id, 'decided_by': self.env.uid,
                    'decided_on': fields.Datetime.now()})
        return True

    @api.multi
    def action_reject(self):
        for proposal in self:
            proposal._check_open()
        self.write({'state': 'rejected', 'decided_by': self.env.uid,
                    'decided_on': fields.Datetime.now()})
        return True

    @api.multi
    def action_view_vehicle(self):
        self.ensure_one()
        return {'type': 'ir.actions.act_window', 'res_model': 'env.gate.vehicle',
                'res_id': self.vehicle_id.id, 'view_mode': 'form', 'target': 'current'}

    # ---- from the gate box ------------------------------------------------------------

    @api.model
    def _from_qr_events(self, lane, qr_events):
        """A proposal per scanned list: [(event id, hj1321 ParsedEvent)] from the
        ingestion of one batch of `lane`. Scans without anything usable are kept as events
        only."""
        Vehicle = self.env['env.gate.vehicle'].sudo()
        created = self.browse()
        for event_pk, event in qr_events:
            found = merge_codes(event.extra.get('codes'))
            if not (found['text'] or found.get('vin')):
                continue
            vehicle = Vehicle._find_by_plate(event.plate_key, lane.company_id) \
                if event.plate_key else Vehicle
            vin = (found.get('vin') or '').upper()
            try:
                vin = vin_rules.validate_vin(vin) if vin else ''
            except Hj1321Error:
                vin = vin[:17]     # kept for the clerk, who sees the warning
            if not vehicle and vin:
                vehicle = Vehicle.search([('vin', '=', vin),
                                          ('company_id', '=', lane.company_id.id)], limit=1)
            stage = found.get('emission_stage')
            picture = event.pictures.get('list')
            created |= self.create({
                # a read that is no valid plate is left for the clerk to type
                'vehicle_id': vehicle.id,
                'plate': (event.plate_key if event.plate_kind else False) or vehicle.plate
                or False,
                'plate_color': event.plate_color if codes.is_valid('plate_color',
                                                                   event.plate_color) else False,
                'proposed_vin': vin or False,
                'proposed_model': (found.get('model') or '')[:100] or False,
                'proposed_stage': stage if codes.is_valid('emission_stage', stage) else False,
                'proposed_engine_model': (found.get('engine_model') or '')[:32] or False,
                'manufacturer': found.get('manufacturer'),
                'disclosure_no': found.get('disclosure_no'),
                'stage_text': found.get('emission_stage_raw'),
                'raw_text': found['text'], 'warnings': found['warnings'] or False,
                'picture_list': base64.b64encode(picture) if picture else False,
                'event_id': event_pk, 'lane_id': lane.id,
                'scanned_at': fields.Datetime.to_string(event.time_utc),
                'company_id': lane.company_id.id,
            })
        return created
