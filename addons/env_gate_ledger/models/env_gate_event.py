"""Raw device events, stored as received (append-only, hash-chained), and ingestion."""
import base64
import json

from odoo import api, fields, models

from ..hj1321 import events as event_rules
from ..hj1321.errors import Hj1321Error
from .env_gate_passage import DECISIONS

EVENT_TYPES = [('plate', 'Plate Read'), ('weight', 'Weight'), ('qr', 'QR Code'),
               ('manual_lift', 'Manual Lift'), ('heartbeat', 'Heartbeat')]


class EnvGateEvent(models.Model):
    _name = 'env.gate.event'
    _description = 'Gate Device Event'
    _inherit = ['env.gate.chain.mixin']
    _order = 'id desc'
    _rec_name = 'sender_event_id'

    _chain_fields = ('lane_id', 'sender_event_id', 'event_type', 'event_time', 'received_at',
                     'plate_raw', 'plate_color', 'confidence', 'direction', 'payload')
    _chain_date_field = 'event_time'

    lane_id = fields.Many2one('env.gate.lane', 'Lane', required=True, readonly=True, index=True,
                              ondelete='restrict')
    gate_id = fields.Many2one(related='lane_id.gate_id', store=True, readonly=True)
    sender_event_id = fields.Char('Event ID', required=True, readonly=True,
                                  help='The sender\'s own id; a re-sent id is a duplicate.')
    event_type = fields.Selection(EVENT_TYPES, 'Type', required=True, readonly=True)
    event_time = fields.Datetime('Event Time', required=True, readonly=True, index=True)
    received_at = fields.Datetime('Received', required=True, readonly=True)
    plate_raw = fields.Char('Plate as Read', readonly=True)
    plate_key = fields.Char('Plate Key', readonly=True, index=True)
    plate_color = fields.Char('Plate Colour Code', readonly=True)
    confidence = fields.Float('Confidence', readonly=True)
    direction = fields.Char('Direction Code', readonly=True)
    payload = fields.Text('Raw Payload', readonly=True,
                          help='The event as received; pictures are replaced by their SHA-256 '
                               'and size, their bytes are kept as attachments.')
    passage_id = fields.Many2one('env.gate.passage', 'Passage', readonly=True, index=True)
    outcome = fields.Selection([
        ('passage', 'Opened a passage'),
        ('repeat', 'Repeat read of a passage'),
        ('weighing', 'Weighing'),
        ('stored', 'Stored only'),
    ], 'Outcome', readonly=True)

    _sql_constraints = [
        ('sender_uniq', 'unique(lane_id, sender_event_id)', 'This event was already received.'),
    ]

    @api.model
    def _ingest(self, lane, raw_events):
        """Store and process a batch of events sent with `lane`'s token.

        Called by the HTTP endpoint. Returns one result per event, in order: accepted (with
        the passage serial for plate reads and lifts), duplicate (already received: never stored
        twice) or rejected (with a code and a reason in both languages; the rest of the
        batch is still kept). Lookups happen once per batch and each table gets one insert.
        Plate reads and manual lifts (decision manual, with reason and user) make passages,
        weights make weighbridge tickets, QR scans of 随车清单 make register proposals,
        heartbeats move the lane's last heartbeat.
        """
        cr = self.env.cr
        results, parsed = [None] * len(raw_events), []
        for index, raw in enumerate(raw_events):
            try:
                event = event_rules.parse_event(raw)
                if event.lane != lane.code:
                    raise Hj1321Error(
                        'event.wrong_lane',
                        '事件属于车道 %s，但令牌属于车道 %s' % (event.lane, lane.code),
                        'the event names lane %s but the token belongs to lane %s'
                        % (event.lane, lane.code))
                direction = event.direction or (
                    lane.direction if lane.direction in ('1', '2') else None)
                if event.type == 'plate' and not direction:
                    raise Hj1321Error(
                        'event.no_direction',
                        '车道 %s 为双向车道，事件必须给出进出方向 direction（in/out）' % lane.code,
                        'lane %s is two-way: the event must say its direction (in/out)' % lane.code)
                weight = event_rules.parse_weight(raw) if event.type == 'weight' else None
                parsed.append((index, event._replace(direction=direction), weight))
            except Hj1321Error as exc:
                results[index] = {
                    'event_id': raw.get('event_id') if isinstance(raw, dict) else None,
                    'status': 'rejected', 'code': exc.code, 'reason': exc.message_en,
                    'reason_zh': exc.message_zh}
        known = {}
        if parsed:
            cr.execute('SELECT e.sender_event_id, p.name FROM env_gate_event e '
                       'LEFT JOIN env_gate_passage p ON p.id = e.passage_id '
                       'WHERE e.lane_id = %s AND e.sender_event_id IN %s',
                       (lane.id, tuple(e.event_id for _i, e, _w in parsed)))
            known = dict(cr.fetchall())
        fresh, weights = [], {}
        for index, event, weight in parsed:
            if event.event_id in known:
                results[index] = {'event_id': event.event_id, 'status': 'duplicate',
                                  'passage': known[event.event_id]}
            else:
                known[event.event_id] = None
                fresh.append((index, event))
                if weight is not None:
                    weights[index] = weight
        reads = [(index, event) for index, event in fresh
                 if event.type in ('plate', 'manual_lift')]
        passages = dict(zip([index for index, _e in reads], self.env['env.gate.passage']._ingest_reads(
            lane, [self._read_of(event, lane) for _i, event in reads])))
        names = dict(self.env['env.gate.passage'].browse(
            {pid for pid, _opened in passages.values()}).mapped(lambda p: (p.id, p.name)))
        received = fields.Datetime.now()
        rows, event_pictures, qr_events = [], {}, []
        for (index, event), event_pk in zip(fresh, self._chain_reserve_ids(len(fresh))):
            passage_id, opened = passages.get(index, (None, None))
            rows.append({
                'id': event_pk, 'lane_id': lane.id, 'gate_id': lane.gate_id.id,
                'sender_event_id': event.event_id, 'event_type': event.type,
                'event_time': fields.Datetime.to_string(event.time_utc), 'received_at': received,
                'plate_raw': event.plate_raw or None, 'plate_key': event.plate_key or None,
                'plate_color': event.plate_color, 'confidence': event.confidence,
                'direction': event.direction,
                'payload': json.dumps(event_rules.strip_pictures(raw_events[index], event.pictures),
                                      ensure_ascii=False),
                'passage_id': passage_id,
                'outcome': 'weighing' if index in weights else (
                    'stored' if passage_id is None else ('passage' if opened else 'repeat')),
            })
            if event.pictures and not (passage_id and opened):
                event_pictures[event_pk] = event.pictures
            if event.type == 'qr':
                qr_events.append((event_pk, event))
            results[index] = {'event_id': event.event_id, 'status': 'accepted'}
            if passage_id:
                results[index]['passage'] = names[passage_id]
        self._chain_insert(lane.company_id.id, rows)
        self._attach_event_pictures(event_pictures)
        Weighing = self.env['env.gate.weighing']
        for index, event in fresh:
            if index in weights:
                ticket = Weighing._record_weight(lane, event.plate_key, weights[index],
                                                 event.time_utc)
                results[index]['weighing'] = ticket.name if ticket else None
        self.env['env.gate.vehicle.proposal'].sudo()._from_qr_events(lane, qr_events)
        # a status report may update the lane row at the same time: the endpoint starts
        # the batch again on that conflict, so it is no error for the log
        cr.execute('UPDATE env_gate_lane SET last_event_time = %s WHERE id = %s',
                   (received, lane.id), log_exceptions=False)
        heartbeats = [event.time_utc for _i, event in fresh if event.type == 'heartbeat']
        if heartbeats:
            # a replayed old heartbeat must not move the clock back
            heard = fields.Datetime.to_string(max(heartbeats))
            cr.execute("UPDATE env_gate_lane SET last_heartbeat = %s, camera_state = 'online' "
                       "WHERE id = %s AND (last_heartbeat IS NULL OR last_heartbeat < %s)",
                       (heard, lane.id, heard), log_exceptions=False)
        lane.invalidate_cache(['last_event_time', 'last_heartbeat', 'camera_state'], lane.ids)
        return results

    @api.model
    def _read_of(self, event, lane):
        read = {
            'time': event.time_utc, 'plate_raw': event.plate_raw, 'plate_key': event.plate_key,
            'plate_kind': event.plate_kind, 'plate_color': event.plate_color,
            'confidence': event.confidence, 'direction': event.direction,
            'decision': DECISIONS.get(event.decision) or ('1' if event.plate_key else '4'),
            'reason': event.reason, 'pictures': event.pictures, 'source': 'device',
        }
        if event.type == 'manual_lift':
            read.update(self._lift_of(event, lane))
        return read

    @api.model
    def _lift_of(self, event, lane):
        """What a manual lift adds to its read: decision manual (人工抬杆), the reason and
        who lifted. The gate box names the person in extra.user (a login when the ERP asked
        for the lift, else the name the guard typed on the box); a name that is no login
        stays in the explanation."""
        extra = event.extra
        who = extra.get('user') if isinstance(extra.get('user'), str) else ''
        user = self.env['res.users'].sudo().search([('login', '=', who)], limit=1) \
            if who else self.env['res.users']
        reason = extra.get('reason_full') if isinstance(extra.get('reason_full'), str) \
            else None
        reason = reason or event.reason or ''
        if who and not user:
            reason = '%s：%s' % (who, reason) if reason else who
        direction = event.direction
        if not direction:
            # a two-way lane and a box that did not say: the way the held vehicle was going
            held = self.env['env.gate.passage'].sudo().search(
                [('lane_id', '=', lane.id), ('plate_key', '=', event.plate_key or False)],
                order='pass_time desc', limit=1) if event.plate_key else None
            direction = held.direction if held else '1'
        return {'decision': DECISIONS['manual'], 'direction': direction, 'lift': True,
                'reason': event.reason or (reason[:200] if reason else None),
                'manual_reason': reason or None, 'manual_user_id': user.id or None}

    @api.model
    def _attach_event_pictures(self, pictures):
        """Pictures of an event that opened no passage (a repeat read, a QR scan's photo
        of the list) stay with the event itself: nothing a camera sent is lost."""
        Attachment = self.env['ir.attachment'].sudo()
        for event_id, by_kind in pictures.items():
            for kind, data in by_kind.items():
                Attachment.create({'name': '%s.jpg' % kind, 'datas_fname': '%s.jpg' % kind,
                                   'res_model': self._name, 'res_id': event_id,
                                   'datas': base64.b64encode(data)})
