"""A lane (道闸): one barrier with its cameras, the token its gate box uses, the policies
the box applies where the register cannot decide, and what the box last reported."""
import hashlib
import json
import secrets

from odoo import _, api, fields, models

from ..hj1321 import events as event_rules
from ..hj1321.errors import Hj1321Error

POLICIES = [('pass', 'Pass'), ('hold', 'Hold for the Guard'), ('refuse', 'Refuse')]
# decision.py lets a blacklisted vehicle out or holds it: nothing is refused on exit
EXIT_POLICIES = [('hold', 'Hold for the Guard'), ('pass', 'Pass')]
CAMERA_STATES = [('online', 'Online'), ('offline', 'Offline'), ('unknown', 'Unknown')]
BARRIER_STATES = [('ok', 'OK'), ('fault', 'Fault'), ('unknown', 'Unknown')]


def barrier_state(driver, state):
    """The lane's barrier state from a box driver's (driver, status): no driver or a
    driver that cannot tell is unknown."""
    if not driver or driver == 'none' or state not in ('connected', 'connecting', 'error',
                                                       'disconnected'):
        return 'unknown'
    return 'fault' if state in ('error', 'disconnected') else 'ok'


def hash_token(token):
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


class EnvGateLane(models.Model):
    _name = 'env.gate.lane'
    _description = 'Gate Lane'
    _inherit = ['mail.thread', 'env.gate.sync.mixin']
    _order = 'gate_id, code'

    _sync_fields = ('code', 'direction', 'unregistered', 'low_confidence', 'min_confidence',
                    'no_plate', 'blacklist_exit', 'require_clean', 'active', 'gate_id')

    name = fields.Char('Lane Name', required=True, track_visibility='onchange')
    code = fields.Char('Lane Code', required=True, size=32, track_visibility='onchange',
                       help='Code the gate box sends in each event ("lane").')
    gate_id = fields.Many2one('env.gate.gate', 'Gate', required=True, ondelete='restrict',
                              track_visibility='onchange')
    company_id = fields.Many2one(related='gate_id.company_id', store=True, readonly=True)
    barrier_no = fields.Char('Barrier No.', required=True, size=32,
                             help='Barrier number (道闸编号) reported to the regulator.')
    direction = fields.Selection(
        [('1', 'In'), ('2', 'Out'), ('both', 'Both')], 'Direction', required=True, default='both',
        help='A one-way lane fixes the direction of its reads; a two-way lane needs the '
             'camera to say.')
    camera_model = fields.Char('ANPR Camera')
    camera_address = fields.Char('Camera Address')
    video_camera = fields.Char('Video Camera')
    display_board = fields.Char('Display Board')
    token_hash = fields.Char('Token Hash', readonly=True, copy=False, groups='base.group_system')
    token_hint = fields.Char('Token', readonly=True, copy=False,
                             help='Last characters of the current token, to tell tokens apart.')
    token_date = fields.Datetime('Token Issued', readonly=True, copy=False)
    last_event_time = fields.Datetime('Last Event', readonly=True, copy=False)
    active = fields.Boolean(default=True)

    # what the gate box does where the register cannot decide (decision.LanePolicy)
    unregistered = fields.Selection(POLICIES, 'Unregistered Vehicle', required=True,
                                    default='hold', track_visibility='onchange',
                                    help='A plate not in the register. "Pass" still applies '
                                         'the active emergency strategies.')
    low_confidence = fields.Selection(POLICIES, 'Low-confidence Read', required=True,
                                      default='hold', track_visibility='onchange',
                                      help='A read below the minimum confidence. "Pass" means '
                                           'trust the read and decide on it.')
    min_confidence = fields.Float('Minimum Confidence', default=90.0,
                                  track_visibility='onchange',
                                  help='Reads below this confidence (0-100) follow the '
                                       'low-confidence policy.')
    no_plate = fields.Selection(POLICIES, 'No Plate Read', required=True, default='hold',
                                track_visibility='onchange')
    blacklist_exit = fields.Selection(EXIT_POLICIES, 'Blacklisted Vehicle Leaving',
                                      required=True, default='hold',
                                      track_visibility='onchange',
                                      help='Nothing is refused on exit; a blacklisted vehicle '
                                           'leaving is held for the guard or let out.')
    require_clean = fields.Boolean('China V+ / New Energy Only', track_visibility='onchange',
                                   help='Only China V and VI or new-energy vehicles may enter '
                                        '(lanes of A-grade plants).')

    # the gate box and what it reports (POST /env_gate/api/v1/status)
    box_url = fields.Char('Gate Box URL', track_visibility='onchange',
                          help='Base URL of the gate box serving this lane, e.g. '
                               'http://127.0.0.1:8070; the ERP asks it to open the barrier.')
    box_token = fields.Char('Token for the Gate Box', copy=False, groups='base.group_system',
                            help='The lane token the ERP presents to the gate box when it '
                                 'asks it to open the barrier. Kept (unlike the hash the ERP '
                                 'checks) only for lanes with a gate box URL.')
    camera_state = fields.Selection(CAMERA_STATES, 'Camera', readonly=True, copy=False)
    barrier_state = fields.Selection(BARRIER_STATES, 'Barrier', readonly=True, copy=False,
                                     help="The barrier driver's state in the gate box's last "
                                          "status report.")
    barrier_error = fields.Char('Barrier Error', readonly=True, copy=False)
    status_ids = fields.One2many('env.gate.lane.status', 'lane_id', 'Status History',
                                 readonly=True)
    last_heartbeat = fields.Datetime('Last Heartbeat', readonly=True, copy=False)
    box_status = fields.Text('Gate Box Status', readonly=True, copy=False,
                             help='The last status report of the gate box, as JSON.')
    box_reported_at = fields.Datetime('Status Reported', readonly=True, copy=False)

    _sql_constraints = [
        ('code_uniq', 'unique(code)', 'The lane code must be unique.'),
        ('min_confidence_range', 'CHECK(min_confidence >= 0 AND min_confidence <= 100)',
         'The minimum confidence must be between 0 and 100.'),
    ]

    def _sync_key(self):
        return self.code

    @api.multi
    def action_generate_token(self):
        """Issue a new token; only its hash is kept, so it is shown this once."""
        self.ensure_one()
        token = secrets.token_urlsafe(32)
        self.sudo().write({
            'token_hash': hash_token(token),
            'token_hint': '…' + token[-4:],
            'token_date': fields.Datetime.now(),
            'box_token': token if self.box_url else False,
        })
        self.message_post(body=_('A new gate-box token was issued; the previous one no longer works.'))
        wizard = self.env['env.gate.lane.token'].create({'lane_id': self.id, 'token': token})
        return {
            'type': 'ir.actions.act_window',
            'name': _('Gate-box token'),
            'res_model': 'env.gate.lane.token',
            'res_id': wizard.id,
            'view_mode': 'form',
            'target': 'new',
        }

    @api.model
    def _authenticate(self, token):
        """The lane a bearer token belongs to, or an empty recordset."""
        if not token:
            return self.browse()
        return self.sudo().search([('token_hash', '=', hash_token(token))], limit=1)

    @api.multi
    def action_open_lift(self):
        """The manual-lift dialog: who, why, and the gate box asked to open."""
        self.ensure_one()
        return {
            'type': 'ir.actions.act_window',
            'name': _('Open Barrier'),
            'res_model': 'env.gate.lane.lift',
            'view_mode': 'form',
            'target': 'new',
            'context': {'default_lane_id': self.id},
        }

    @api.model
    def _record_status(self, lane, report):
        """Store a gate box's status report (POST /env_gate/api/v1/status) sent with
        `lane`'s token: the whole report on that lane, each camera's state on the lane it
        names (lanes of the same company only). Returns the reply body; raises
        Hj1321Error for a malformed report."""
        if not isinstance(report, dict):
            raise Hj1321Error('status.bad_body', '状态报告须为 JSON 对象',
                              'the status report must be a JSON object')
        cameras = report.get('cameras') or []
        if not isinstance(cameras, list):
            raise Hj1321Error('status.bad_field', '字段 cameras 须为列表',
                              'field cameras must be a list')
        now = fields.Datetime.now()
        updates = {lane: {'box_status': json.dumps(report, ensure_ascii=False, indent=1,
                                                   sort_keys=True),
                          'box_reported_at': now}}
        ignored = []
        lanes = self.sudo().search([('company_id', '=', lane.company_id.id)])
        by_code = {other.code: other for other in lanes}
        for index, camera in enumerate(cameras):
            if not isinstance(camera, dict):
                raise Hj1321Error('status.bad_field', '字段 cameras[%d] 须为对象' % index,
                                  'field cameras[%d] must be an object' % index)
            state = camera.get('state')
            if state not in dict(CAMERA_STATES):
                raise Hj1321Error(
                    'status.bad_field', '字段 cameras[%d].state 须为 online、offline 或 unknown'
                    % index, 'field cameras[%d].state must be online, offline or unknown'
                    % index)
            target = by_code.get(camera.get('lane') or lane.code)
            if not target:
                ignored.append(camera.get('lane'))
                continue
            vals = updates.setdefault(target, {})
            vals['camera_state'] = state
            if camera.get('last_heartbeat'):
                heard = fields.Datetime.to_string(event_rules.parse_time(
                    camera['last_heartbeat'], 'cameras[%d].last_heartbeat' % index))
                if heard > (target.last_heartbeat or ''):
                    vals['last_heartbeat'] = heard
        barriers = report.get('barriers') or []
        if not isinstance(barriers, list) or not all(isinstance(b, dict) for b in barriers):
            raise Hj1321Error('status.bad_field', '字段 barriers 须为对象列表',
                              'field barriers must be a list of objects')
        for barrier in barriers:
            target = by_code.get(barrier.get('lane') or lane.code)
            if not target:
                ignored.append(barrier.get('lane'))
                continue
            vals = updates.setdefault(target, {})
            vals['barrier_state'] = barrier_state(barrier.get('driver'), barrier.get('state'))
            vals['barrier_error'] = (str(barrier.get('last_error') or '') or None) \
                if vals['barrier_state'] == 'fault' else None
        for target, vals in updates.items():
            # plain SQL: no mail tracking or version for box facts, and a conflict with a
            # batch updating the same row is retried by the endpoint, not logged as an error
            columns = sorted(vals)
            self.env.cr.execute(
                'UPDATE env_gate_lane SET %s, write_date = %%s WHERE id = %%s' % ', '.join(
                    '"%s" = %%s' % column for column in columns),
                [vals[column] for column in columns] + [now, target.id], log_exceptions=False)
            target.invalidate_cache(columns + ['write_date'], target.ids)
        return {'result': 'ok', 'lanes': sorted(t.code for t in updates),
                'ignored': ignored}
