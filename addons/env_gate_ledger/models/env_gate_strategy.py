"""Heavy-pollution emergency control strategies (应急管控策略), as the gate boxes apply them.

The authority announces an alert (yellow, orange, red) for a period; the plant stops the
vehicles the strategy's rules name, except exempted ones. The gate box decides from its
synced copy (env_gate_hw/gatebox/decision.py holds the semantics); this model keeps the
strategy, who activated it, and its default rules per alert level.
"""
import re

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..hj1321 import plates
from ..hj1321.errors import Hj1321Error
from .common import bilingual, validation_error

LEVELS = [('yellow', 'Yellow Alert'), ('orange', 'Orange Alert'), ('red', 'Red Alert')]
# Mirrors decision.DEFAULT_RULES of the gate box (heavy goods vehicles: H1 trucks, Q1
# tractors; no fuel filter, gas included; new energy never matches a maximum stage).
HEAVY_GOODS_CLASSES = 'H1, Q1'
DEFAULT_RULES = {
    'yellow': [{'max_stage': '3', 'vehicle_classes': HEAVY_GOODS_CLASSES, 'action': 'refuse'}],
    'orange': [{'max_stage': '4', 'vehicle_classes': HEAVY_GOODS_CLASSES, 'action': 'refuse'}],
    'red': [{'max_stage': '5', 'vehicle_classes': HEAVY_GOODS_CLASSES, 'action': 'refuse'}],
}
MANAGER_GROUP = 'env_gate_ledger.group_manager'
_PLATE_SEPARATORS = re.compile(r'[\n,，、;；]+')


class EnvGateStrategy(models.Model):
    _name = 'env.gate.strategy'
    _description = 'Emergency Control Strategy'
    _inherit = ['mail.thread', 'env.gate.sync.mixin']
    _order = 'date_start desc, id desc'

    _sync_fields = ('name', 'level', 'date_start', 'date_end', 'state', 'rule_ids',
                    'exempt_special', 'exempt_hazardous', 'exempt_livelihood',
                    'exempt_vehicle_ids', 'exempt_plates', 'company_id')

    name = fields.Char('Name', required=True, track_visibility='onchange')
    level = fields.Selection(LEVELS, 'Alert Level', required=True, default='orange',
                             track_visibility='onchange')
    authority = fields.Char('Issued By', help='The authority and notice that ordered it.')
    date_start = fields.Datetime('Start', required=True, track_visibility='onchange',
                                 help='The strategy applies from this moment (inclusive).')
    date_end = fields.Datetime('End', required=True, track_visibility='onchange',
                               help='The strategy applies until this moment (exclusive), so '
                                    'back-to-back periods neither overlap nor leave a gap.')
    state = fields.Selection([('draft', 'Draft'), ('active', 'Active'), ('ended', 'Ended'),
                              ('cancelled', 'Cancelled')], 'Status', required=True,
                             default='draft', readonly=True, copy=False,
                             track_visibility='onchange',
                             help='Only active strategies reach the gate boxes.')
    rule_ids = fields.One2many('env.gate.strategy.rule', 'strategy_id', 'Rules', copy=True)
    exempt_special = fields.Boolean('Special-purpose Vehicles Exempt', default=True,
                                    track_visibility='onchange', help='专项作业车')
    exempt_hazardous = fields.Boolean('Hazardous-goods Vehicles Exempt', default=True,
                                      track_visibility='onchange', help='危化品运输车')
    exempt_livelihood = fields.Boolean('Livelihood Supply Exempt', track_visibility='onchange',
                                       help='民生保障 vehicles, when the notice lists them.')
    exempt_vehicle_ids = fields.Many2many('env.gate.vehicle', string='Exempt Vehicles')
    exempt_plates = fields.Text('Exempt Plates',
                                help='Further plates exempted by name, one per line or '
                                     'separated by commas.')
    in_force = fields.Boolean('In Force', compute='_compute_in_force',
                              search='_search_in_force',
                              help='Active and now inside its period.')
    activated_by = fields.Many2one('res.users', 'Activated By', readonly=True, copy=False)
    activated_on = fields.Datetime('Activated On', readonly=True, copy=False)
    note = fields.Text('Notes')
    company_id = fields.Many2one('res.company', 'Company', required=True,
                                 default=lambda self: self.env.user.company_id)

    def _compute_in_force(self):
        now = fields.Datetime.now()
        for strategy in self:
            strategy.in_force = strategy.state == 'active' and \
                strategy.date_start <= now < strategy.date_end

    def _search_in_force(self, operator, value):
        now = fields.Datetime.now()
        domain = ['&', '&', ('state', '=', 'active'), ('date_start', '<=', now),
                  ('date_end', '>', now)]
        if (operator == '=') == bool(value):
            return domain
        return ['!'] + domain

    @api.constrains('date_start', 'date_end')
    def _check_period(self):
        for strategy in self:
            if strategy.date_end <= strategy.date_start:
                raise validation_error(Hj1321Error(
                    'strategy.period', '管控结束时间须晚于开始时间。',
                    'The end of the strategy must come after its start.'), self.env)

    @api.constrains('exempt_plates')
    def _check_exempt_plates(self):
        for strategy in self:
            try:
                for plate in self._split_plates(strategy.exempt_plates):
                    plates.validate_plate(plate)
            except Hj1321Error as exc:
                raise validation_error(exc, self.env)

    @api.model
    def _split_plates(self, text):
        """Plate keys of a typed list: one per line or separated by commas (a space may
        sit inside a plate, "冀B 12345")."""
        return [plates.normalize_plate(part) for part in _PLATE_SEPARATORS.split(text or '')
                if part.strip()]

    # ---- CRUD -------------------------------------------------------------------------

    @api.model
    def _check_activation_right(self):
        if self.env.uid != SUPERUSER_ID and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(bilingual(
                '只有环保管理员可以启用、修改或结束生效中的应急管控策略。',
                'Only an environmental manager can activate, change or end an active '
                'emergency strategy.', self.env.context.get('lang')))

    @api.model
    def create(self, vals):
        vals = dict(vals)
        if vals.get('state') == 'active':
            self._check_activation_right()
            vals.update(activated_by=self.env.uid, activated_on=fields.Datetime.now())
        if not vals.get('rule_ids'):
            level = vals.get('level') or self._fields['level'].default(self)
            vals['rule_ids'] = [(0, 0, dict(rule)) for rule in DEFAULT_RULES.get(level, [])]
        return super(EnvGateStrategy, self).create(vals)

    @api.multi
    def write(self, vals):
        if vals.get('state') == 'active':
            self._check_activation_right()
            vals = dict(vals, activated_by=self.env.uid, activated_on=fields.Datetime.now())
        self._check_active_unchanged()
        return super(EnvGateStrategy, self).write(vals)

    def _check_active_unchanged(self):
        """What the gate boxes apply right now is the manager's: a clerk prepares drafts."""
        if any(strategy.state == 'active' for strategy in self):
            self._check_activation_right()

    # ---- actions ----------------------------------------------------------------------

    @api.multi
    def action_activate(self):
        """Send the strategy to the gate boxes (environmental managers only)."""
        self._check_activation_right()
        for strategy in self:
            if strategy.state not in ('draft', 'ended', 'cancelled'):
                continue
            if not strategy.rule_ids:
                raise UserError(bilingual(
                    '策略“%s”没有规则，启用后不会拦截任何车辆。请添加规则。' % strategy.name,
                    'Strategy "%s" has no rules: it would stop no vehicle. Add a rule first.'
                    % strategy.name, self.env.context.get('lang')))
            if strategy.date_end <= fields.Datetime.now():
                raise UserError(bilingual(
                    '策略“%s”的管控期已经结束。' % strategy.name,
                    'The period of strategy "%s" is already over.' % strategy.name,
                    self.env.context.get('lang')))
        self.filtered(lambda s: s.state != 'active').write({'state': 'active'})
        return True

    @api.multi
    def action_end(self):
        """End an active strategy now (the alert was lifted early)."""
        now = fields.Datetime.now()
        for strategy in self.filtered(lambda s: s.state == 'active'):
            vals = {'state': 'ended'}
            if strategy.date_end > now:
                vals['date_end'] = max(now, strategy.date_start)
            strategy.write(vals)
        return True

    @api.multi
    def action_cancel(self):
        self.write({'state': 'cancelled'})
        return True

    @api.multi
    def action_draft(self):
        self.write({'state': 'draft'})
        return True

    # ---- business methods -------------------------------------------------------------

    @api.model
    def _cron_end_expired(self):
        """Mark active strategies whose period is over as ended. Called hourly by the cron
        'Gate ledger: end expired emergency strategies'."""
        expired = self.sudo().search([('state', '=', 'active'),
                                      ('date_end', '<=', fields.Datetime.now())])
        expired.write({'state': 'ended'})
        return len(expired)

    def _sync_row(self):
        """The wire strategy (cache.parse_strategy)."""
        self.ensure_one()
        flags = [flag for flag, on in (('special', self.exempt_special),
                                       ('hazardous', self.exempt_hazardous),
                                       ('livelihood', self.exempt_livelihood)) if on]
        exempt = set(self._split_plates(self.exempt_plates))
        exempt.update(p for p in self.exempt_vehicle_ids.mapped('plate') if p)
        return {'id': self.id, 'name': self.name, 'level': self.level,
                'date_start': self.date_start, 'date_end': self.date_end,
                'rules': [rule._sync_row() for rule in self.rule_ids],
                'exempt_flags': flags, 'exempt_plates': sorted(exempt)}
