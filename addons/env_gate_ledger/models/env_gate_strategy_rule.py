"""One rule of an emergency strategy: which vehicles it stops, and how."""
import re

from odoo import _, api, fields, models

from ..hj1321 import codes
from ..hj1321.errors import Hj1321Error
from .common import validation_error

# 'China IV and below' etc.: the ordered stages a rule can name as its maximum
MAX_STAGES = [('0', 'China 0 and below'), ('1', 'China I and below'),
              ('2', 'China II and below'), ('3', 'China III and below'),
              ('4', 'China IV and below'), ('5', 'China V and below'),
              ('6', 'China VI and below')]
CATEGORIES = [('transport', 'Transport (in and out)'), ('in_plant', 'In-plant')]
ACTIONS = [('refuse', 'Refuse'), ('hold', 'Hold for the Guard')]
_SEPARATORS = re.compile(r'[\s,，、;；/]+')


def split_codes(text):
    """'B, e/H1' -> ['B', 'E', 'H1']: a list typed by a person, upper case, no repeats."""
    seen = []
    for part in _SEPARATORS.split((text or '').upper()):
        if part and part not in seen:
            seen.append(part)
    return seen


class EnvGateStrategyRule(models.Model):
    _name = 'env.gate.strategy.rule'
    _description = 'Emergency Strategy Rule'
    _order = 'strategy_id, sequence, id'

    strategy_id = fields.Many2one('env.gate.strategy', 'Strategy', required=True,
                                  ondelete='cascade', index=True)
    sequence = fields.Integer(default=10)
    max_stage = fields.Selection(MAX_STAGES, 'Emission Stage',
                                 help='The rule stops this stage and below; empty: every stage. '
                                      'Electric and new-energy vehicles are never below a stage.')
    fuels = fields.Char('Fuels', help='Fuel codes, e.g. "B, E" (diesel, natural gas); '
                                      'empty: any fuel.')
    vehicle_classes = fields.Char('Vehicle Classes', default='H1, Q1',
                                  help='Beginnings of vehicle type codes: "H1" = every heavy '
                                       'truck (H11...H1B), "Q1" = heavy tractors; empty: any '
                                       'vehicle type.')
    category = fields.Selection(CATEGORIES, 'Category', help='Empty: both categories.')
    action = fields.Selection(ACTIONS, 'Action', required=True, default='refuse',
                              help='Refuse: the barrier stays closed. Hold: the guard decides.')
    description = fields.Char('Rule', compute='_compute_description')

    @api.depends('max_stage', 'fuels', 'vehicle_classes', 'category', 'action')
    def _compute_description(self):
        stages = dict(self._fields['max_stage']._description_selection(self.env))
        actions = dict(self._fields['action']._description_selection(self.env))
        categories = dict(self._fields['category']._description_selection(self.env))
        lang = self.env.context.get('lang') or 'en_US'
        for rule in self:
            parts = [stages.get(rule.max_stage) or _('every stage')]
            fuels = split_codes(rule.fuels)
            if fuels:
                parts.append('/'.join(codes.label('fuel_type', c, lang) for c in fuels))
            classes = split_codes(rule.vehicle_classes)
            if classes:
                parts.append('/'.join('%s*' % c for c in classes))
            if rule.category:
                parts.append(categories[rule.category])
            rule.description = '%s → %s' % (', '.join(parts), actions.get(rule.action, ''))

    @api.constrains('fuels', 'vehicle_classes')
    def _check_codes(self):
        types = [c.code for c in codes.table('vehicle_type')]
        for rule in self:
            for fuel in split_codes(rule.fuels):
                if not codes.is_valid('fuel_type', fuel):
                    raise validation_error(Hj1321Error(
                        'strategy.bad_fuel',
                        '燃料代码 %s 无效（可用：%s）' % (fuel, '、'.join(
                            c.code for c in codes.table('fuel_type'))),
                        'fuel code %s is not in the HJ 1321 table (allowed: %s)' % (
                            fuel, ', '.join(c.code for c in codes.table('fuel_type')))), self.env)
            for prefix in split_codes(rule.vehicle_classes):
                if not any(code.startswith(prefix) for code in types):
                    raise validation_error(Hj1321Error(
                        'strategy.bad_class',
                        '车辆类型前缀 %s 不对应任何车辆类型代码（如 H1 重型货车、Q1 重型牵引车）'
                        % prefix,
                        'vehicle class %s begins no vehicle type code (e.g. H1 heavy trucks, '
                        'Q1 heavy tractors)' % prefix), self.env)

    @api.model
    def create(self, vals):
        rule = super(EnvGateStrategyRule, self).create(vals)
        rule.strategy_id._check_active_unchanged()
        rule.strategy_id._sync_bump()
        return rule

    @api.multi
    def write(self, vals):
        before = self.mapped('strategy_id')
        before._check_active_unchanged()
        result = super(EnvGateStrategyRule, self).write(vals)
        (before | self.mapped('strategy_id'))._sync_bump()
        return result

    @api.multi
    def unlink(self):
        strategies = self.mapped('strategy_id')
        strategies._check_active_unchanged()
        result = super(EnvGateStrategyRule, self).unlink()
        strategies.exists()._sync_bump()
        return result

    def _sync_row(self):
        """The wire rule (cache._parse_rule)."""
        self.ensure_one()
        return {'max_stage': self.max_stage or None,
                'fuels': split_codes(self.fuels) or None,
                'vehicle_classes': split_codes(self.vehicle_classes) or None,
                'categories': [self.category] if self.category else None,
                'action': self.action}
