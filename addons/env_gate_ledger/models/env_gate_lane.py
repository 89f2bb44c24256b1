"""A lane (道闸): one barrier with its cameras, and the token its gate box uses."""
import hashlib
import secrets

from odoo import _, api, fields, models

from .common import code_selection


def hash_token(token):
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


class EnvGateLane(models.Model):
    _name = 'env.gate.lane'
    _description = 'Gate Lane'
    _inherit = ['mail.thread']
    _order = 'gate_id, code'

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

    _sql_constraints = [
        ('code_uniq', 'unique(code)', 'The lane code must be unique.'),
    ]

    @api.multi
    def action_generate_token(self):
        """Issue a new token; only its hash is kept, so it is shown this once."""
        self.ensure_one()
        token = secrets.token_urlsafe(32)
        self.sudo().write({
            'token_hash': hash_token(token),
            'token_hint': '…' + token[-4:],
            'token_date': fields.Datetime.now(),
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
