"""Raw device events, stored as received (append-only, hash-chained), and ingestion."""
import base64
import json
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..hj1321 import events as event_rules
from ..hj1321.errors import Hj1321Error

_logger = logging.getLogger(__name__)

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
        ('stored', 'Stored only'),
    ], 'Outcome', readonly=True)

    _sql_constraints = [
        ('sender_uniq', 'unique(lane_id, sender_event_id)', 'This event was already received.'),
    ]

    @api.model
    def _ingest(self, lane, raw_events):
        """Store and process a batch of events sent with `lane`'s token.

        Called by the HTTP endpoint. Each event is handled in its own savepoint so that one
        bad event is rejected with its reason while the others are kept. Returns one result
        dict per event, in order.
        """
        results = []
        seen = set()
        for raw in raw_events:
            event_id = raw.get('event_id') if isinstance(raw, dict) else None
            try:
                with self.env.cr.savepoint():
                    results.append(self._ingest_one(lane, raw, seen))
            except Hj1321Error as exc:
                results.append({'event_id': event_id, 'status': 'rejected', 'code': exc.code,
                                'reason': exc.message_en, 'reason_zh': exc.message_zh})
            except (UserError, ValidationError) as exc:
                results.append({'event_id': event_id, 'status': 'rejected', 'code': 'invalid',
                                'reason': exc.name})
        lane.sudo().write({'last_event_time': fields.Datetime.now()})
        return results

    @api.model
    def _ingest_one(self, lane, raw, seen):
        parsed = event_rules.parse_event(raw)
        if parsed.lane != lane.code:
            raise Hj1321Error(
                'event.wrong_lane',
                '事件属于车道 %s，但令牌属于车道 %s' % (parsed.lane, lane.code),
                'the event names lane %s but the token belongs to lane %s' % (parsed.lane, lane.code))
        key = (lane.id, parsed.event_id)
        existing = key not in seen and self.search(
            [('lane_id', '=', lane.id), ('sender_event_id', '=', parsed.event_id)], limit=1)
        if key in seen or existing:
            return {'event_id': parsed.event_id, 'status': 'duplicate',
                    'passage': existing.passage_id.name if existing else None}
        seen.add(key)
        payload = json.dumps(event_rules.strip_pictures(raw, parsed.pictures), ensure_ascii=False)
        event = self.create({
            'lane_id': lane.id,
            'company_id': lane.company_id.id,
            'sender_event_id': parsed.event_id,
            'event_type': parsed.type,
            'event_time': fields.Datetime.to_string(parsed.time_utc),
            'received_at': fields.Datetime.now(),
            'plate_raw': parsed.plate_raw or False,
            'plate_key': parsed.plate_key or False,
            'plate_color': parsed.plate_color or False,
            'confidence': parsed.confidence if parsed.confidence is not None else False,
            'direction': parsed.direction or False,
            'payload': payload,
        })
        for kind, data in parsed.pictures.items():
            self.env['ir.attachment'].create({
                'name': '%s.jpg' % kind, 'datas_fname': '%s.jpg' % kind,
                'res_model': self._name, 'res_id': event.id,
                'datas': base64.b64encode(data),
            })
        result = {'event_id': parsed.event_id, 'status': 'accepted'}
        if parsed.type == 'plate':
            passage, opened = self.env['env.gate.passage']._from_plate_event(lane, parsed, event)
            event.write({'passage_id': passage.id, 'outcome': 'passage' if opened else 'repeat'})
            result['passage'] = passage.name
        else:
            event.write({'outcome': 'stored'})
        return result
