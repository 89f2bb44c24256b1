"""补录: a passage typed in by a person (unreadable plate, outage, paper ledger)."""
import base64

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..hj1321 import plates
from ..hj1321.errors import Hj1321Error
from ..models.common import code_selection, validation_error


class EnvGateManualEntry(models.TransientModel):
    _name = 'env.gate.manual.entry'
    _description = 'Manual Passage Entry'

    lane_id = fields.Many2one('env.gate.lane', 'Lane', required=True)
    direction = fields.Selection(code_selection('direction'), 'Direction', required=True)
    pass_time = fields.Datetime('Time of Passage', required=True, default=fields.Datetime.now)
    plate = fields.Char('Plate', help='Leave empty only when the plate could not be read.')
    plate_color = fields.Selection(code_selection('plate_color'), 'Plate Colour')
    decision = fields.Selection(code_selection('control_result'), 'Control Result',
                                required=True, default='3')
    reason_kind = fields.Selection([
        ('unreadable', 'Plate unreadable'),
        ('outage', 'System outage'),
        ('paper', 'Paper ledger typed in later'),
        ('other', 'Other'),
    ], 'Why Manual', required=True)
    reason = fields.Text('Explanation', required=True)
    cargo_id = fields.Many2one('env.gate.cargo', 'Cargo')
    quantity = fields.Float('Quantity', digits=(12, 1))
    picture_front = fields.Binary('Front Picture')

    @api.onchange('lane_id')
    def _onchange_lane_id(self):
        if self.lane_id.direction in ('1', '2'):
            self.direction = self.lane_id.direction

    @api.multi
    def action_record(self):
        self.ensure_one()
        self.env['env.gate.passage'].check_access_rights('create')
        if self.pass_time > fields.Datetime.now():
            raise UserError(_('The time of passage cannot be in the future.\n通行时间不能晚于当前时间。'))
        plate_raw = (self.plate or '').strip()
        if not plate_raw and self.reason_kind != 'unreadable':
            raise UserError(_('Give the plate, or choose "Plate unreadable".\n'
                              '请填写车牌号，或选择“车牌无法识别”。'))
        try:
            key, kind = plates.validate_plate(plate_raw) if plate_raw else ('', None)
        except Hj1321Error as exc:
            raise validation_error(exc, self.env)
        passage_id, _opened = self.env['env.gate.passage']._ingest_reads(self.lane_id, [{
            'time': fields.Datetime.from_string(self.pass_time),
            'plate_raw': plate_raw, 'plate_key': key, 'plate_kind': kind,
            'plate_color': self.plate_color, 'confidence': None, 'direction': self.direction,
            'decision': self.decision,
            'pictures': {'front': base64.b64decode(self.picture_front)} if self.picture_front else {},
            'source': 'manual', 'manual_reason_kind': self.reason_kind,
            'manual_reason': self.reason, 'manual_user_id': self.env.uid,
            'cargo_id': self.cargo_id.id, 'quantity': self.quantity,
        }])[0]
        return {
            'type': 'ir.actions.act_window',
            'res_model': 'env.gate.passage',
            'res_id': passage_id,
            'view_mode': 'form',
            'target': 'current',
        }
