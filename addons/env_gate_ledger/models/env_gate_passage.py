"""Passages: one vehicle going in or out through one lane, paired entry with exit.

A passage seals what the gate saw and decided (lane, time, plate read, pictures, decision,
flags, who typed a manual entry and why). What is learnt later (the register entry it
matches, the exit that closed it, the cargo from the weighbridge, a person's review) is
derived state, set by the system or by a correction record, never by editing the seal.
"""
import base64
import collections
import datetime
import hashlib

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..hj1321 import codes, vin as vin_rules
from ..hj1321.errors import Hj1321Error
from .common import code_selection

DECISIONS = {'pass': '1', 'refuse': '2', 'manual': '3', 'unrecognised': '4'}
LIFT_MODES = {'1': '2', '3': '1'}     # passed automatically: automatic lift; manual
FLAGS = ('flag_unregistered', 'flag_low_confidence', 'flag_no_entry', 'flag_unreadable',
         'flag_bad_plate')
SNAPSHOT = ('emission_stage', 'fuel_type', 'vin', 'vehicle_type', 'use_nature', 'networked',
            'fleet_name', 'category', 'clean')
PICTURES = ('front', 'body', 'plate')
ON_SITE_HOURS = 48    # an entry older than this without exit: the exit was missed, not on site


def entry_pair_state(decision, voided, exit_id):
    if voided:
        return 'voided'
    if decision == DECISIONS['refuse']:
        return 'refused'
    return 'left' if exit_id else 'on_site'


def proposal_values(passage, regulator, found):
    """A register proposal from the platform's vehicle data (codes it does not use in the
    HJ 1321 tables are left out rather than guessed)."""
    def known(table, value):
        return value if value and codes.is_valid(table, value) else False
    vin = (found.get('vin') or '').upper()[:17]
    warnings = []
    try:
        vin = vin_rules.validate_vin(vin) if vin else ''
    except Hj1321Error as exc:
        warnings.append('%s / %s' % (exc.message_zh, exc.message_en))   # the clerk decides
    return {
        'source': 'platform', 'regulator_id': regulator.id, 'plate': passage.plate_key,
        'plate_color': passage.plate_color or False, 'vehicle_id': passage.vehicle_id.id,
        'lane_id': passage.lane_id.id, 'company_id': passage.company_id.id,
        'proposed_vin': vin or False, 'warnings': '\n'.join(warnings) or False,
        'proposed_model': found.get('brand_model') or False,
        'proposed_stage': known('emission_stage', found.get('emission_stage')),
        'proposed_fuel': known('fuel_type', found.get('fuel_type')),
        'raw_text': '\n'.join('%s: %s' % item for item in sorted(found.items())),
    }


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
    _chain_date_field = 'pass_time'

    name = fields.Char('Serial No.', required=True, readonly=True, copy=False,
                       help='Barrier no. + A (in) / B (out) + local yyMMddHHmmss, as regulators expect.')
    lane_id = fields.Many2one('env.gate.lane', 'Lane', required=True, readonly=True,
                              index=True, ondelete='restrict')
    gate_id = fields.Many2one(related='lane_id.gate_id', store=True, readonly=True)
    direction = fields.Selection(code_selection('direction'), 'Direction', required=True,
                                 readonly=True)
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
    needs_review = fields.Boolean('Needs Review', compute='_compute_needs_review', store=True)
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
        ('on_site', 'On site'), ('left', 'Left'), ('refused', 'Turned away'),
        ('voided', 'Voided'), ('paired', 'Paired'), ('unpaired', 'No entry'),
    ], 'Pairing', compute='_compute_pair_state', store=True,
        help='Entries: on site until an exit closes them (left); a refused entry never came '
             'in and a voided one was a false trigger, so neither waits for an exit. '
             'Exits: paired with their entry, or without one.')
    cargo_id = fields.Many2one('env.gate.cargo', 'Cargo', readonly=True)
    quantity = fields.Float('Quantity', digits=(12, 1), readonly=True)
    uom = fields.Selection(related='cargo_id.uom', readonly=True)
    event_ids = fields.One2many('env.gate.event', 'passage_id', 'Device Events', readonly=True)
    correction_ids = fields.One2many('env.gate.correction', 'passage_id', 'Corrections',
                                     readonly=True)
    pass_date = fields.Date('Date', compute='_compute_pass_date', store=True, index=True)
    weighing_ids = fields.One2many('env.gate.weighing', 'entry_passage_id', 'Weighings',
                                   readonly=True)

    _sql_constraints = [
        ('name_company_uniq', 'unique(company_id, name)', 'The passage serial must be unique.'),
    ]

    @api.model_cr
    def init(self):
        """Indexes `index=True` cannot express (bench/README.md, "Index recommendations",
        measured on 24 months of a large plant): entries by day covering what the V+ share
        and trips-by-stage read_groups read (index-only scans for the yearly report and
        the dashboard), and small partial indexes for the two queues a person watches
        (open entries, reads waiting for review) instead of full ones on their flags."""
        cr = self.env.cr
        cr.execute("""CREATE INDEX IF NOT EXISTS env_gate_passage_entry_cover_idx
                          ON env_gate_passage (pass_date)
                     INCLUDE (company_id, category, voided, clean, emission_stage, fuel_type, id)
                       WHERE direction = '1'""")
        cr.execute("""CREATE INDEX IF NOT EXISTS env_gate_passage_on_site_idx
                          ON env_gate_passage (company_id, pass_time)
                       WHERE pair_state = 'on_site'""")
        cr.execute("""CREATE INDEX IF NOT EXISTS env_gate_passage_review_idx
                          ON env_gate_passage (company_id, pass_time) WHERE needs_review""")

    @api.depends('flag_unregistered', 'flag_low_confidence', 'flag_no_entry', 'flag_unreadable',
                 'flag_bad_plate', 'reviewed', 'voided')
    def _compute_needs_review(self):
        for passage in self:
            flagged = (passage.flag_unregistered or passage.flag_low_confidence
                       or passage.flag_no_entry or passage.flag_unreadable
                       or passage.flag_bad_plate)
            passage.needs_review = flagged and not passage.reviewed and not passage.voided

    @api.depends('direction', 'entry_id', 'exit_id', 'decision', 'voided')
    def _compute_pair_state(self):
        for passage in self:
            if passage.direction == '1':
                passage.pair_state = entry_pair_state(passage.decision, passage.voided,
                                                      passage.exit_id)
            else:
                passage.pair_state = 'paired' if passage.entry_id else 'unpaired'

    @api.depends('pass_time')
    def _compute_pass_date(self):
        # The plant's day, not UTC's: a passage at 07:30 in Tangshan is 23:30 UTC the day before.
        tz = self._plant_tz()
        for passage in self:
            when = fields.Datetime.from_string(passage.pass_time) if passage.pass_time else None
            passage.pass_date = when and pytz.utc.localize(when).astimezone(tz).date()

    @api.multi
    def name_get(self):
        return [(p.id, '%s %s' % (p.name, p.corrected_plate or p.plate_key or _('(unread)')))
                for p in self]

    # ---- business methods -----------------------------------------------------------

    @api.model
    def _plant_tz(self):
        return pytz.timezone(self.env['ir.config_parameter'].sudo().get_param(
            'env_gate.tz', 'Asia/Shanghai'))

    @api.model
    def _on_site_domain(self, now=None):
        """Entries of vehicles inside now: admitted, not voided, no exit yet, and recent.
        An older open entry means the exit went unseen (camera missed, plate misread); it
        stays listed as an open entry but is not counted as a truck on site."""
        since = (now or datetime.datetime.utcnow()) - datetime.timedelta(hours=ON_SITE_HOURS)
        return [('pair_state', '=', 'on_site'),
                ('pass_time', '>=', fields.Datetime.to_string(since))]

    @api.model
    def action_on_site(self):
        """The Vehicles on Site menu: its time limit moves with the clock, so the domain is
        made here rather than in the action's XML."""
        action = self.env.ref('env_gate_ledger.env_gate_passage_action').read()[0]
        action.update(name=_('Vehicles on Site'), domain=self._on_site_domain(),
                      context={'search_default_in': 1})
        return action

    @api.model
    def _vehicle_rows(self, keys, company):
        """Register snapshot per plate key, read in one query."""
        if not keys:
            return {}
        vehicles = self.env['env.gate.vehicle'].sudo().search_read(
            [('plate', 'in', list(keys)), ('company_id', '=', company.id)],
            ['plate', 'plate_color'] + list(SNAPSHOT))
        return {v['plate']: v for v in vehicles}

    @api.model
    def _ingest_reads(self, lane, reads):
        """Turn plate reads on one lane into passages; return (passage id, opened) per read.

        A read of a plate already seen on this lane within the window is a repeat of that
        passage; an exit closes the latest open entry of the same plate; unregistered,
        low-confidence, unreadable and exit-without-entry reads are flagged for a person.
        Everything is looked up once per batch and written in one query per table.
        Each read is a dict: time (naive UTC datetime), plate_raw, plate_key, plate_kind,
        plate_color, confidence, direction ('1'/'2'), decision, reason, pictures
        {kind: bytes}, and for manual entries source, manual_* fields, cargo_id, quantity;
        `lift`: True for a manual lift (a passage of its own, never a repeat).
        """
        cr = self.env.cr
        company = lane.company_id
        params = self.env['ir.config_parameter'].sudo()
        window = datetime.timedelta(seconds=int(params.get_param('env_gate.dedup_window', 60)))
        threshold = float(params.get_param('env_gate.low_confidence', 85))
        tz = self._plant_tz()
        keys = tuple(sorted({r['plate_key'] for r in reads if r['plate_key']}))
        recent = collections.defaultdict(list)      # key -> [(time, id)] on this lane
        open_entries = collections.defaultdict(list)  # key -> [(time, id)] without exit
        taken_names = set()
        if keys:
            times = [r['time'] for r in reads]
            cr.execute('SELECT plate_key, pass_time, id FROM env_gate_passage '
                       'WHERE lane_id = %s AND plate_key IN %s AND pass_time BETWEEN %s AND %s',
                       (lane.id, keys, min(times) - window, max(times) + window))
            # Odoo's cursor returns timestamps as text
            for key, when, pid in cr.fetchall():
                recent[key].append((fields.Datetime.from_string(when), pid))
            cr.execute("SELECT plate_key, pass_time, id FROM env_gate_passage "
                       "WHERE company_id = %s AND pair_state = 'on_site' "
                       "AND plate_key IN %s", (company.id, keys))
            for key, when, pid in cr.fetchall():
                open_entries[key].append((fields.Datetime.from_string(when), pid))
        vehicles = self._vehicle_rows(keys, company)
        candidates = [self._passage_name(lane, r['direction'], r['time'], tz) for r in reads]
        if reads:
            # serials derive from barrier and second: only this lane's can collide. Stored
            # times are whole seconds, so a read at 08:00:00.5 must see a serial of 08:00:00
            cr.execute('SELECT name FROM env_gate_passage WHERE lane_id = %s '
                       'AND pass_time >= %s AND pass_time < %s',
                       (lane.id, min(r['time'] for r in reads).replace(microsecond=0),
                        max(r['time'] for r in reads).replace(microsecond=0)
                        + datetime.timedelta(seconds=1)))
            taken_names = {row[0] for row in cr.fetchall()}
        ids = iter(self._chain_reserve_ids(len(reads)))
        rows, by_id, exits_of_old, pictures, results = [], {}, [], {}, []
        for read, name in zip(reads, candidates):
            key, when = read['plate_key'], read['time']
            # a manual lift is a passage of its own, never a repeat of the held read
            repeat = key and read.get('source', 'device') == 'device' and \
                not read.get('lift') and next(
                (pid for t, pid in recent[key] if abs(t - when) <= window), None)
            if repeat:
                results.append((repeat, False))
                continue
            pid = next(ids)
            vehicle = vehicles.get(key) or {}
            row = {
                'id': pid, 'lane_id': lane.id, 'gate_id': lane.gate_id.id,
                'direction': read['direction'], 'pass_time': fields.Datetime.to_string(when),
                'pass_date': pytz.utc.localize(when).astimezone(tz).date(),
                'plate_raw': read['plate_raw'] or None, 'plate_key': key or None,
                'plate_color': read.get('plate_color') or vehicle.get('plate_color') or None,
                'confidence': read.get('confidence'),
                'source': read.get('source', 'device'), 'decision': read['decision'],
                'reason': read.get('reason') or None,
                'lift_mode': LIFT_MODES.get(read['decision']),
                'manual_reason_kind': read.get('manual_reason_kind'),
                'manual_reason': read.get('manual_reason'),
                'manual_user_id': read.get('manual_user_id'),
                'cargo_id': read.get('cargo_id') or None, 'quantity': read.get('quantity'),
                'vehicle_id': vehicle.get('id'),
                'flag_unreadable': not key,
                'flag_bad_plate': bool(key) and not read.get('plate_kind'),
                'flag_unregistered': bool(key) and not vehicle,
                'flag_low_confidence': read.get('confidence') is not None
                and read['confidence'] < threshold,
                'flag_no_entry': False, 'reviewed': False, 'voided': False,
            }
            row.update({field: vehicle.get(field) or None for field in SNAPSHOT})
            row['clean'] = bool(vehicle.get('clean'))
            while name in taken_names:
                name = bump(name)
            taken_names.add(name)
            row['name'] = name
            if read.get('pictures'):
                pictures[pid] = read['pictures']
                row['picture_digests'] = ','.join(
                    '%s:%s' % (kind, hashlib.sha256(data).hexdigest())
                    for kind, data in sorted(read['pictures'].items()))
            if read['direction'] == '2':
                candidates_in = [(t, e) for t, e in open_entries.get(key, ()) if t <= when] \
                    if key else []
                entry = max(candidates_in, key=lambda item: (item[0], item[1]))[1] \
                    if candidates_in else None
                row['entry_id'] = entry
                row['flag_no_entry'] = not entry
                row['pair_state'] = 'paired' if entry else 'unpaired'
                if entry:
                    open_entries[key].remove(next(i for i in candidates_in if i[1] == entry))
                    if entry in by_id:
                        by_id[entry].update(exit_id=pid, pair_state='left')
                    else:
                        exits_of_old.append((entry, pid))
            else:
                row['pair_state'] = entry_pair_state(row['decision'], False, False)
                if key and row['pair_state'] == 'on_site':
                    open_entries[key].append((when, pid))
            row['needs_review'] = any(row[f] for f in FLAGS)
            if key and not read.get('lift'):
                recent[key].append((when, pid))
            rows.append(row)
            by_id[pid] = row
            results.append((pid, True))
        self._chain_insert(company.id, rows)
        for entry, exit_id in exits_of_old:
            cr.execute("UPDATE env_gate_passage SET exit_id = %s, pair_state = 'left' "
                       "WHERE id = %s", (exit_id, entry))
        if exits_of_old:
            self.invalidate_cache(['exit_id', 'pair_state'], [e for e, _x in exits_of_old])
        self._attach_pictures(pictures)
        return results

    @api.model
    def _passage_name(self, lane, direction, when, tz):
        """Serial as regulators build it: barrier no. + A (in) / B (out) + yyMMddHHmmss."""
        local = pytz.utc.localize(when).astimezone(tz)
        return '%s%s%s' % (lane.barrier_no, 'A' if direction == '1' else 'B',
                           local.strftime('%y%m%d%H%M%S'))

    @api.model
    def _attach_pictures(self, pictures):
        """Store pictures as the passage's image fields (attachments, deduplicated by the
        filestore); `pictures` is {passage id: {kind: bytes}}."""
        Attachment = self.env['ir.attachment'].sudo()
        for pid, by_kind in pictures.items():
            for kind, data in by_kind.items():
                field = 'picture_%s' % kind
                if field not in self._fields:
                    field = None
                Attachment.create({
                    'name': field or '%s.jpg' % kind, 'datas_fname': '%s.jpg' % kind,
                    'res_model': self._name, 'res_id': pid, 'res_field': field,
                    'datas': base64.b64encode(data),
                })
        if pictures:
            self.invalidate_cache(['picture_%s' % k for k in PICTURES], list(pictures))

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

    @api.multi
    def action_check_platform(self):
        """Ask the regulator's platform about this vehicle (Henan getCheckVehicle): the
        guard deciding on a held truck sees whether the authority controls it, and what
        the platform knows of it becomes a register proposal for a clerk."""
        self.ensure_one()
        if not self.plate_key:
            raise UserError(_('The plate was not read: correct it first.'))
        regulator, attempt = self.env['env.gate.regulator']._check_vehicle(
            self.company_id, self.plate_key, self.plate_color, self.lane_id.barrier_no)
        message = attempt.message(self.env.lang)
        if not attempt.delivered:
            raise UserError(_('The platform %s did not answer: %s') % (regulator.name, message))
        data = attempt.data or {}
        found = {key: value for key, value in (data.get('vehicle') or {}).items() if value}
        self.message_post(body=_('Platform %s: %s. %s') % (
            regulator.name, message,
            ', '.join('%s %s' % (key, value) for key, value in sorted(found.items()))))
        proposal = self.env['env.gate.vehicle.proposal']
        if found.get('vin') or found.get('emission_stage'):
            proposal = proposal.create(proposal_values(self, regulator, found))
        if not proposal:
            return True
        return {'type': 'ir.actions.act_window', 'res_model': proposal._name,
                'res_id': proposal.id, 'view_mode': 'form', 'target': 'current'}

    @api.model
    def _apply_vehicle(self, vehicle):
        """Derived values when a correction links the passage to another register entry."""
        vals = {name: (vehicle[name] if vehicle else False) for name in SNAPSHOT}
        vals['vehicle_id'] = vehicle.id
        return vals


def bump(name):
    """The next free serial when two passages share a barrier and a second."""
    base, _sep, n = name.partition('-')
    return '%s-%d' % (base, int(n or 1) + 1)
