"""Corrections: the only way a ledger passage changes after it is written.

Each correction is itself an append-only, chained record with who, when and why, so an
inspector sees the original read and every change made to it.
"""
from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..hj1321 import plates
from ..hj1321.errors import Hj1321Error
from .common import code_selection, validation_error


class EnvGateCorrection(models.Model):
    _name = 'env.gate.correction'
    _description = 'Passage Correction'
    _inherit = ['env.gate.chain.mixin']
    _order = 'id desc'

    _chain_fields = ('passage_id', 'kind', 'new_plate', 'new_plate_color', 'new_cargo_id',
                     'new_quantity', 'reason', 'user_id', 'create_date')

    passage_id = fields.Many2one('env.gate.passage', 'Passage', required=True, index=True,
                                 ondelete='restrict')
    kind = fields.Selection([
        ('confirm', 'Confirm the read as it is'),
        ('plate', 'Correct the plate'),
        ('cargo', 'Set cargo and quantity'),
        ('void', 'Void (false trigger)'),
    ], 'Correction', required=True, default='confirm')
    new_plate = fields.Char('Correct Plate')
    new_plate_color = fields.Selection(code_selection('plate_color'), 'Correct Plate Colour')
    new_cargo_id = fields.Many2one('env.gate.cargo', 'Cargo')
    new_quantity = fields.Float('Quantity', digits=(12, 1))
    reason = fields.Text('Reason', required=True)
    user_id = fields.Many2one('res.users', 'By', required=True, readonly=True,
                              default=lambda self: self.env.user)
    old_plate = fields.Char('Plate Before', readonly=True)

    @api.model
    def create(self, vals):
        passage = self.env['env.gate.passage'].browse(vals.get('passage_id'))
        vals['user_id'] = self.env.uid
        vals['company_id'] = passage.company_id.id
        vals['old_plate'] = passage.corrected_plate or passage.plate_key
        if vals.get('kind') == 'plate':
            if not vals.get('new_plate'):
                raise UserError(_('Give the correct plate.\n请填写正确的车牌号。'))
            try:
                vals['new_plate'], _kind = plates.validate_plate(vals['new_plate'])
            except Hj1321Error as exc:
                raise validation_error(exc, self.env)
        correction = super(EnvGateCorrection, self).create(vals)
        correction._apply()
        return correction

    def _apply(self):
        passage = self.passage_id.sudo()
        vals = {}
        if self.kind == 'plate':
            vehicle = self.env['env.gate.vehicle'].sudo()._find_by_plate(
                self.new_plate, passage.company_id)
            vals.update(passage._apply_vehicle(vehicle))
            vals.update(corrected_plate=self.new_plate, reviewed=True)
        elif self.kind == 'confirm':
            vals['reviewed'] = True
        elif self.kind == 'cargo':
            vals.update(cargo_id=self.new_cargo_id.id, quantity=self.new_quantity)
        elif self.kind == 'void':
            vals['voided'] = True
        passage.write(vals)
        passage.message_post(body=_('Correction by %s: %s — %s') % (
            self.user_id.name, dict(self._fields['kind']._description_selection(self.env))[self.kind],
            self.reason))
