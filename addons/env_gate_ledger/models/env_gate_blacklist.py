"""Vehicles the authority flagged (超标车辆名单 / 黑名单): refused at the gate while valid.

Lists arrive as spreadsheets from the ecology-environment bureau or the traffic police;
they are imported with Odoo's standard import (columns plate, plate_color, source,
reason, valid_from, valid_to). The gate box refuses a listed vehicle on entry while the
entry is valid (valid_from inclusive, valid_to exclusive; empty bounds are open).
"""
from odoo import api, fields, models
from odoo.osv import expression

from ..hj1321.errors import Hj1321Error
from .common import code_selection, validation_error


class EnvGateBlacklist(models.Model):
    _name = 'env.gate.blacklist'
    _description = 'Blacklisted Vehicle'
    _inherit = ['mail.thread', 'env.gate.sync.mixin', 'env.gate.plate.mixin']
    _order = 'valid_from desc, id desc'
    _rec_name = 'plate'

    _sync_fields = ('plate', 'source', 'reason', 'valid_from', 'valid_to', 'active',
                    'company_id')

    plate = fields.Char('Plate', required=True, size=16, index=True,
                        track_visibility='onchange',
                        help='Stored as its normalised key, like the vehicle register.')
    plate_color = fields.Selection(code_selection('plate_color'), 'Plate Colour')
    source = fields.Char('Source', required=True, track_visibility='onchange',
                         help='The authority or list that flagged the vehicle, e.g. '
                              '石家庄市生态环境局.')
    reason = fields.Char('Reason', track_visibility='onchange', help='e.g. 超标排放')
    valid_from = fields.Datetime('Valid From', track_visibility='onchange',
                                 help='Inclusive; empty: from the beginning.')
    valid_to = fields.Datetime('Valid Until', track_visibility='onchange',
                               help='Exclusive; empty: until withdrawn.')
    currently_valid = fields.Boolean('Currently Valid', compute='_compute_currently_valid',
                                     search='_search_currently_valid')
    vehicle_id = fields.Many2one('env.gate.vehicle', 'Registered Vehicle',
                                 compute='_compute_vehicle_id')
    active = fields.Boolean(default=True, track_visibility='onchange')
    company_id = fields.Many2one('res.company', 'Company', required=True,
                                 default=lambda self: self.env.user.company_id)

    @api.model
    def _valid_domain(self, now=None):
        now = now or fields.Datetime.now()
        return [('active', '=', True),
                '|', ('valid_from', '=', False), ('valid_from', '<=', now),
                '|', ('valid_to', '=', False), ('valid_to', '>', now)]

    @api.depends('active', 'valid_from', 'valid_to')
    def _compute_currently_valid(self):
        now = fields.Datetime.now()
        for entry in self:
            entry.currently_valid = entry.active and \
                (not entry.valid_from or entry.valid_from <= now) and \
                (not entry.valid_to or now < entry.valid_to)

    def _search_currently_valid(self, operator, value):
        domain = expression.normalize_domain(self._valid_domain())
        if (operator == '=') == bool(value):
            return domain
        valid = self.with_context(active_test=False).search(domain)
        return [('id', 'not in', valid.ids)]

    def _compute_vehicle_id(self):
        Vehicle = self.env['env.gate.vehicle']
        for entry in self:
            entry.vehicle_id = Vehicle._find_by_plate(entry.plate, entry.company_id) \
                if entry.plate else Vehicle

    @api.constrains('valid_from', 'valid_to')
    def _check_validity(self):
        for entry in self:
            if entry.valid_from and entry.valid_to and entry.valid_to <= entry.valid_from:
                raise validation_error(Hj1321Error(
                    'blacklist.period', '黑名单有效期的结束时间须晚于开始时间（%s）。' % entry.plate,
                    'The end of the listing must come after its start (%s).' % entry.plate),
                    self.env)
