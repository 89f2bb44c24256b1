"""Manual lift (人工抬杆) from the ERP: recorded in the ledger, then the gate box asked to
open the barrier.

The lift is recorded exactly as the gate box's own `manual_lift` event would be, with the
event id the box derives from our request id (sha256('lift|<lane>|<request id>')[:40]):
when the box has opened the barrier it forwards its event, and the ERP answers it as a
duplicate instead of recording the lift twice.
"""
import datetime
import hashlib
import uuid

import requests

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html_escape

from ..hj1321 import plates
from ..hj1321.errors import Hj1321Error
from ..models.common import bilingual, code_selection, validation_error

BOX_PATH = '/env_gate_hw/barrier/open'
BOX_TIMEOUT = 2.0
HELD_MINUTES = 10


def lift_event_id(lane_code, request_id):
    """The id the gate box gives the lift event of `request_id` (gatebox.box.manual_lift)."""
    return hashlib.sha256(('lift|%s|%s' % (lane_code, request_id)).encode(
        'utf-8')).hexdigest()[:40]


class EnvGateLaneLift(models.TransientModel):
    _name = 'env.gate.lane.lift'
    _description = 'Manual Barrier Lift'

    lane_id = fields.Many2one('env.gate.lane', 'Lane', required=True)
    two_way = fields.Boolean(compute='_compute_two_way')
    direction = fields.Selection(code_selection('direction'), 'Direction')
    plate = fields.Char('Plate', help='The vehicle let through, when it has a readable plate.')
    reason = fields.Text('Reason', required=True)
    state = fields.Selection([('draft', 'Draft'), ('done', 'Done')], default='draft')
    # fixed per dialog: should the transaction be run again (a serialization failure), the
    # box recognises the same lift and does not open twice
    request_id = fields.Char(default=lambda self: uuid.uuid4().hex, readonly=True)
    passage_id = fields.Many2one('env.gate.passage', 'Recorded Passage', readonly=True)
    box_ok = fields.Boolean('Barrier Opened', readonly=True)
    message = fields.Text('Result', readonly=True)

    @api.depends('lane_id')
    def _compute_two_way(self):
        for wizard in self:
            wizard.two_way = wizard.lane_id.direction not in ('1', '2')

    @api.model
    def default_get(self, fields_list):
        values = super(EnvGateLaneLift, self).default_get(fields_list)
        lane = self.env['env.gate.lane'].browse(values.get('lane_id'))
        if lane:
            held = self._held_passage(lane)
            values.setdefault('plate', held.plate_key or False)
            values.setdefault('direction', held.direction if held else (
                lane.direction if lane.direction in ('1', '2') else False))
        return values

    @api.model
    def _held_passage(self, lane):
        """The latest read on the lane in the last minutes that the barrier did not open
        for: most likely the vehicle the guard is lifting for."""
        since = fields.Datetime.to_string(
            datetime.datetime.utcnow() - datetime.timedelta(minutes=HELD_MINUTES))
        return self.env['env.gate.passage'].search(
            [('lane_id', '=', lane.id), ('pass_time', '>=', since),
             ('decision', 'in', ('2', '4'))], order='pass_time desc', limit=1)

    @api.multi
    def action_lift(self):
        self.ensure_one()
        self.env['env.gate.passage'].check_access_rights('create')
        lane, lang = self.lane_id, self.env.context.get('lang')
        reason = (self.reason or '').strip()
        if not reason:
            raise UserError(bilingual('请填写抬杆原因。', 'Give the reason for the lift.', lang))
        direction = self.direction or (lane.direction if lane.direction in ('1', '2') else None)
        if not direction:
            raise UserError(bilingual('双向车道须选择进出方向。',
                                      'A two-way lane needs the direction.', lang))
        plate = (self.plate or '').strip()
        try:
            key = plates.validate_plate(plate)[0] if plate else ''
        except Hj1321Error as exc:
            raise validation_error(exc, self.env)
        user = self.env.user
        request_id = self.request_id or uuid.uuid4().hex
        now = datetime.datetime.utcnow().replace(microsecond=0)
        event = {
            'event_id': lift_event_id(lane.code, request_id), 'type': 'manual_lift',
            'lane': lane.code, 'time': now.isoformat() + 'Z', 'decision': 'manual',
            'reason': reason[:200], 'direction': {'1': 'in', '2': 'out'}[direction],
            'extra': {'source': 'erp', 'user': user.login, 'user_name': user.name,
                      'request_id': request_id,
                      'reason_full': reason if len(reason) > 200 else None}}
        if key:
            event['plate'] = key
        [result] = self.env['env.gate.event']._ingest(lane, [event])
        if result['status'] != 'accepted':
            raise UserError(bilingual(result.get('reason_zh', ''), result.get('reason', ''), lang))
        passage = self.env['env.gate.passage'].search([('name', '=', result['passage']),
                                                       ('lane_id', '=', lane.id)], limit=1)
        box_ok, box_message = self._ask_box(lane, reason, user, request_id)
        if box_ok:
            message = _('The lift is recorded (%s) and the gate box opened the barrier: %s') % (
                passage.name, box_message)
        elif lane.box_url:
            message = _('The lift is recorded (%s), but the gate box could not open the '
                        'barrier: %s\nOpen the barrier by hand at the gate.') % (
                passage.name, box_message)
        else:
            message = _('The lift is recorded (%s). This lane has no gate box URL: open the '
                        'barrier by hand at the gate.') % passage.name
        chatter = _('Manual lift requested by %s: %s<br/>%s') % (
            html_escape(user.name), html_escape(reason), html_escape(message))
        # a guard reads lanes but cannot edit them; the message names the guard as author
        for record in (lane, passage):
            record.sudo().message_post(body=chatter, author_id=user.partner_id.id)
        self.write({'state': 'done', 'passage_id': passage.id, 'box_ok': box_ok,
                    'message': message})
        return {'type': 'ir.actions.act_window', 'res_model': self._name, 'res_id': self.id,
                'view_mode': 'form', 'target': 'new', 'name': _('Open Barrier')}

    @api.model
    def _ask_box(self, lane, reason, user, request_id):
        """POST the lift to the lane's gate box; (opened, what happened) in words."""
        url = (lane.box_url or '').strip()
        if not url:
            return False, ''
        token = lane.sudo().box_token
        headers = {'Authorization': 'Bearer %s' % token} if token else {}
        try:
            reply = requests.post(url.rstrip('/') + BOX_PATH, timeout=BOX_TIMEOUT, headers=headers,
                                  json={'lane': lane.code, 'reason': reason, 'user': user.login,
                                        'request_id': request_id})
        except requests.RequestException as exc:
            return False, _('the gate box at %s cannot be reached (%s).') % (
                url, type(exc).__name__)
        try:
            body = reply.json()
        except ValueError:
            body = {}
        if reply.status_code == 200:
            barrier = body.get('barrier') if isinstance(body, dict) else None
            state = barrier.get('state') if isinstance(barrier, dict) else None
            return True, state or _('done')
        detail = ''
        if isinstance(body, dict):
            detail = body.get('message_zh') if (self.env.context.get('lang') or '').startswith(
                'zh') else body.get('message')
            detail = detail or body.get('message') or body.get('error') or ''
        if reply.status_code == 401 and not token:
            detail = _('the ERP holds no token for this gate box; issue a new lane token '
                       'after setting the gate box URL.')
        return False, _('the gate box at %s answered HTTP %s %s') % (url, reply.status_code,
                                                                     detail)

    @api.multi
    def action_view_passage(self):
        self.ensure_one()
        return {'type': 'ir.actions.act_window', 'res_model': 'env.gate.passage',
                'res_id': self.passage_id.id, 'view_mode': 'form', 'target': 'current'}
