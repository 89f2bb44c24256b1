from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .common import bilingual


class EnvGateTransportVolume(models.Model):
    """Non-road tonnage (rail, waterway, belt conveyor, pipeline) for the clean-transport
    share, typed in or imported from rail track-scale or port statements."""
    _name = 'env.gate.transport.volume'
    _description = 'Non-road Transport Volume'
    _order = 'date desc, id desc'

    date = fields.Date('Date', required=True, index=True, default=fields.Date.context_today)
    mode = fields.Selection([('rail', 'Rail'), ('waterway', 'Waterway'),
                             ('belt', 'Belt Conveyor'), ('pipeline', 'Pipeline')], 'Mode',
                            required=True, default='rail')
    cargo_id = fields.Many2one('env.gate.cargo', 'Cargo', required=True)
    direction = fields.Selection([('in', 'In'), ('out', 'Out')], 'Direction', required=True,
                                 default='in')
    tonnage = fields.Float('Tonnage (t)', digits=(14, 3), required=True)
    reference = fields.Char('Statement No.')
    source = fields.Selection([('manual', 'Manual'), ('import', 'Imported')], default='manual')
    note = fields.Char('Note')
    company_id = fields.Many2one('res.company', 'Company', required=True,
                                 default=lambda self: self.env.user.company_id)

    @api.constrains('tonnage')
    def _check_tonnage(self):
        # a Python check, not an SQL constraint: a bad imported row gets this message
        # instead of a database error
        for volume in self:
            if volume.tonnage <= 0:
                raise ValidationError(bilingual(
                    '运量须大于0（%s，%s t）' % (volume.date, volume.tonnage),
                    'The tonnage must be positive (%s, %s t).' % (volume.date, volume.tonnage),
                    self.env.context.get('lang')))
