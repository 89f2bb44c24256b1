"""Passages: one vehicle going in or out through one lane, paired entry with exit.

A passage seals what the gate saw and decided (lane, time, plate read, pictures, decision,
flags, who typed a manual entry and why). What is learnt later (the register entry it
matches, the exit that closed it, the cargo from the weighbridge, a person's review) is
derived state, set by the system or by a correction record, never by editing the seal.
"""
import base64
import datetime
import hashlib

from odoo import _, api, fields, models

from ..hj1321 import plates
from ..hj1321.errors import Hj1321Error
from .common import code_selection

DECISIONS = {'pass': '1', 'refuse': '2', 'manual': '3', 'unrecognised': '4'}
SNAPSHOT = ('emission_stage', 'fuel_type', 'vin', 'vehicle_type', 'use_nature', 'networked',
            'fleet_name', 'category', 'clean')
PICTURES = ('front', 'body', 'plate')


class EnvGatePassage(models.Model):
    _name = 'env.gate.passage'
    _description = 'Gate Passage'
    _inherit = ['mail.thread', 'env.gate.chain.mixin']
    _order = 'pass_time desc, id desc'

    _chain_fields = ('name', 'lane_id', 'direction', 'pass_time', 'plate_raw', 'plate_key',
                     'plate_color', 'confidence', 'source', 'decision', 'reason', 'lift_mode',
                     'manual_reason_kind', 'manual_reason', 'manual_user_id', 'entry_id',
                     'picture_digests', 'flag_unregistered', 'flag_low_confidence',
                     'flag_no_entry', 'flag_unreadable', 'flag_bad_plate')

    name = fields.Char('Serial No.', required=True, readonly=True, copy=False, default='/')
    lane_id = fields.Many2one('env.gate.lane', 'Lane', required=True, readonly=True,
                              index=True, ondelete='restrict')
    gate_id = fields.Many2one(related='lane_id.gate_id', store=True, readonly=True)
    direction = fields.Selection(code_selection('direction'), 'Direction', required=True,
                                 readonly=True, index=True)
    pass_time = fields.Datetime('Time', required=True, readonly=True, index=True)
    plate_raw = fields.Char('Plate as Read', readonly=True)
    plate_key = fields.Char('Plate', readonly=True, index=True)
    plate_color = fields.Selection(code_selection('plate_color'), 'Plate Colour', readonly=True)
    confidence = fields.Float('Confidence', readonly=True, group_operator='avg')
    source = fields.Selection([('device', 'Device'), ('manual', 'Manual Entry')], 'Source',
                              required=True, readonly=True, default='device')
    decision = fields.Selection(code_selection('control_result'), 'Control Result',
                                required=True, readonly=True, index=True)
    reason = fields.Char('Reason', readonly=True)
    lift_mode = fields.Selection(code_selection('lift_mode'), 'Lift Mode', readonly=True)
    manual_reason_kind = fields.Selection([
        ('unreadable', 'Plate unreadable'),
        ('outage', 'System outage'),
        ('paper', 'Paper ledger typed in later'),
        ('other', 'Other'),
    ], 'Manual Entry Reason', readonly=True)
    manual_reason = fields.Text('Manual Entry Explanation', readonly=True)
    manual_user_id = fields.Many2one('res.users', 'Entered By', readonly=True)
    picture_digests = fields.Char('Picture Digests', readonly=True)
    picture_front = fields.Binary('Front Picture', attachment=True, readonly=True)
    picture_body = fields.Binary('Body Picture', attachment=True, readonly=True)
    picture_plate = fields.Binary('Plate Picture', attachment=True, readonly=True)

    flag_unregistered = fields.Boolean('Unregistered', readonly=True)
    flag_low_confidence = fields.Boolean('Low Confidence', readonly=True)
    flag_no_entry = fields.Boolean('Exit without Entry', readonly=True)
    flag_unreadable = fields.Boolean('Plate Unreadable', readonly=True)
    flag_bad_plate = fields.Boolean('Plate Not Valid', readonly=True)
    reviewed = fields.Boolean('Reviewed', readonly=True, copy=False)
    needs_review = fields.Boolean('Needs Review', compute='_compute_needs_review', store=True,
                                  index=True)
    voided = fields.Boolean('Voided', readonly=True, copy=False,
                            help='A correction marked this passage as a false trigger.')

    # derived state: set by matching, pairing, weighing and corrections
    corrected_plate = fields.Char('Corrected Plate', readonly=True)
    vehicle_id = fields.Many2one('env.gate.vehicle', 'Vehicle', readonly=True, index=True)
    category = fields.Selection([('transport', 'Transport'), ('in_plant', 'In-plant')],
                                'Category', readonly=True)
    emission_stage = fields.Selection(code_selection('emission_stage'), 'Emission Stage',
                                      readonly=True)
    fuel_type = fields.Selection(code_selection('fuel_type'), 'Fuel', readonly=True)
    vin = fields.Char('VIN', readonly=True)
    vehicle_type = fields.Selection(code_selection('vehicle_type'), 'Vehicle Type', readonly=True)
    use_nature = fields.Selection(code_selection('use_nature'), 'Use Nature', readonly=True)
    networked = fields.Selection(code_selection('networked'), 'OBD Networked', readonly=True)
    fleet_name = fields.Char('Fleet / Haulier', readonly=True)
    clean = fields.Boolean('China V+ / New Energy', readonly=True)
    entry_id = fields.Many2one('env.gate.passage', 'Entry', readonly=True, index=True,
                               help='For an exit: the entry it closed.')
    exit_id = fields.Many2one('env.gate.passage', 'Exit', readonly=True, index=True,
                              help='For an entry: the exit that closed it.')
    pair_state = fields.Selection([
        ('on_site', 'On site'), ('left', 'Left'), ('paired', 'Paired'), ('unpaired', 'No entry'),
    ], 'Pairing', compute='_compute_pair_state', store=True, index=True)
    cargo_id = fields.Many2one('env.gate.cargo', 'Cargo', readonly=True)
    quantity = fields.Float('Quantity', digits=(12, 1), readonly=True)
    uom = fields.Selection(related='cargo_id.uom', readonly=True)
    event_ids = fields.One2many('env.gate.event', 'passage_id', 'Device Events', readonly=True)
    correction_ids = fields.One2many('env.gate.correction', 'passage_id', 'Corrections',
                                     readonly=True)
    pass_date = fields.Date('Date', compute='_compute_pass_date', store=True, index=True)

    @api.depends('flag_unregistered', 'flag_low_confidence', 'flag_no_entry', 'flag_unreadable',
                 'flag_bad_plate', 'reviewed', 'voided')
    def _compute_needs_review(self):
        for passage in self:
            flagged = (passage.flag_unregistered or passage.flag_low_confidence
                       or passage.flag_no_entry or passage.flag_unreadable
                       or passage.flag_bad_plate)
            passage.needs_review = flagged and not passage.reviewed and not passage.voided

    @api.depends('direction', 'entry_id', 'exit_id')
    def _compute_pair_state(self):
        for passage in self:
            if passage.direction == '1':
                passage.pair_state = 'left' if passage.exit_id else 'on_site'
            else:
                passage.pair_state = 'paired' if passage.entry_id else 'unpaired'

    @api.depends('pass_time')
    def _compute_pass_date(self):
        # The plant works in China time; a passage at 23:30 UTC+8 belongs to that day.
        for passage in self:
            local = fields.Datetime.context_timestamp(
                passage.with_context(tz=passage.env.user.tz or 'Asia/Shanghai'),
                fields.Datetime.from_string(passage.pass_time)) if passage.pass_time else False
            passage.pass_date = local and local.date()

    @api.multi
    def name_get(self):
        return [(p.id, '%s %s' % (p.name, p.corrected_plate or p.plate_key or _('(unread)')))
                for p in self]

    @api.model
    def create(self, vals):
        if vals.get('name', '/') == '/':
            when = vals.get('pass_time') or fields.Datetime.now()
            vals['name'] = self.env['ir.sequence'].with_context(
                ir_sequence_date=when[:10]).next_by_code('env.gate.passage') or '/'
        return super(EnvGatePassage, self).create(vals)

    # ---- business methods -----------------------------------------------------------

    @api.model
    def _vehicle_snapshot(self, vehicle):
        return {name: (vehicle[name] if vehicle else False) for name in SNAPSHOT}

    @api.model
    def _prepare_read(self, lane, direction, pass_time, plate_raw, plate_color=None,
                      confidence=None):
        """Values for a new passage from a plate read: vehicle, flags and the entry it closes."""
        plate_key = plate_raw and plates.normalize_plate(plate_raw) or ''
        kind = plates.classify_plate(plate_key) if plate_key else None
        company = lane.company_id
        vehicle = self.env['env.gate.vehicle']._find_by_plate(plate_key, company) \
            if plate_key else self.env['env.gate.vehicle']
        threshold = float(self.env['ir.config_parameter'].sudo().get_param(
            'env_gate.low_confidence', 85))
        vals = {
            'lane_id': lane.id,
            'company_id': company.id,
            'direction': direction,
            'pass_time': fields.Datetime.to_string(pass_time),
            'plate_raw': plate_raw or False,
            'plate_key': plate_key or False,
            'plate_color': plate_color or (vehicle.plate_color if vehicle else False),
            'confidence': confidence if confidence is not None else False,
            'vehicle_id': vehicle.id,
            'flag_unreadable': not plate_key,
            'flag_bad_plate': bool(plate_key) and not kind,
            'flag_unregistered': bool(plate_key) and not vehicle,
            'flag_low_confidence': confidence is not None and confidence < threshold,
        }
        vals.update(self._vehicle_snapshot(vehicle))
        if direction == '2':
            entry = plate_key and self.search([
                ('company_id', '=', company.id), ('direction', '=', '1'),
                ('plate_key', '=', plate_key), ('exit_id', '=', False),
                ('pass_time', '<=', vals['pass_time'])], order='pass_time desc, id desc', limit=1)
            vals['entry_id'] = entry.id if entry else False
            vals['flag_no_entry'] = not entry
        return vals

    @api.model
    def _record(self, vals, pictures=None):
        """Create a passage (and close its entry); pictures is {kind: bytes}."""
        pictures = pictures or {}
        if pictures:
            vals['picture_digests'] = ','.join(
                '%s:%s' % (kind, hashlib.sha256(pictures[kind]).hexdigest())
                for kind in sorted(pictures))
            for kind in PICTURES:
                if kind in pictures:
                    vals['picture_%s' % kind] = base64.b64encode(pictures[kind])
        if vals.get('decision') in ('3',):
            vals.setdefault('lift_mode', '1')
        elif vals.get('decision') == '1':
            vals.setdefault('lift_mode', '2')
        passage = self.with_context(tracking_disable=True, mail_create_nolog=True,
                                    mail_create_nosubscribe=True).create(vals)
        if passage.entry_id:
            passage.entry_id.write({'exit_id': passage.id})
        return passage.with_context(self.env.context)

    @api.model
    def _from_plate_event(self, lane, parsed, event):
        """The passage a device plate read belongs to: a repeat read or a new passage."""
        direction = parsed.direction or (lane.direction if lane.direction in ('1', '2') else None)
        if not direction:
            raise Hj1321Error(
                'event.no_direction',
                '车道 %s 为双向车道，事件必须给出进出方向 direction（in/out）' % lane.code,
                'lane %s is two-way: the event must say its direction (in/out)' % lane.code)
        if parsed.plate_key:
            window = int(self.env['ir.config_parameter'].sudo().get_param(
                'env_gate.dedup_window', 60))
            span = datetime.timedelta(seconds=window)
            repeat = self.search([
                ('lane_id', '=', lane.id), ('plate_key', '=', parsed.plate_key),
                ('pass_time', '>=', fields.Datetime.to_string(parsed.time_utc - span)),
                ('pass_time', '<=', fields.Datetime.to_string(parsed.time_utc + span)),
            ], order='pass_time desc', limit=1)
            if repeat:
                return repeat, False
        vals = self._prepare_read(lane, direction, parsed.time_utc, parsed.plate_raw,
                                  parsed.plate_color, parsed.confidence)
        decision = DECISIONS.get(parsed.decision) or ('4' if not parsed.plate_key else '1')
        vals.update({'source': 'device', 'decision': decision, 'reason': parsed.reason or False})
        return self._record(vals, parsed.pictures), True

    @api.multi
    def action_review(self):
        """Open the correction form on this passage (confirm, fix plate, void)."""
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window',
            'name': _('Correct or confirm'),
            'res_model': 'env.gate.correction',
            'view_mode': 'form',
            'target': 'new',
            'context': {'default_passage_id': self.id},
        }

    @api.model
    def _apply_vehicle(self, vehicle):
        vals = {'vehicle_id': vehicle.id}
        vals.update(self._vehicle_snapshot(vehicle))
        return vals
