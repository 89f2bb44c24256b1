"""Emergency control strategies: who may activate them, their default rules, their period."""
import datetime

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError

from .common import GateCase


def _stamp(**delta):
    return fields.Datetime.to_string(datetime.datetime.utcnow() + datetime.timedelta(**delta))


class TestStrategy(GateCase):

    @classmethod
    def setUpClass(cls):
        super(TestStrategy, cls).setUpClass()
        Users = cls.env['res.users'].with_context(no_reset_password=True)

        def user(login, group):
            return Users.create({'name': login, 'login': login, 'email': '%s@example.com' % login,
                                 'groups_id': [
                (6, 0, [cls.env.ref('env_gate_ledger.%s' % group).id])]})
        cls.clerk = user('t_strategy_clerk', 'group_clerk')
        cls.manager = user('t_strategy_manager', 'group_manager')
        cls.Strategy = cls.env['env.gate.strategy']

    def _draft(self, level='orange', **vals):
        return self.Strategy.create(dict({
            'name': '%s alert' % level, 'level': level,
            'date_start': _stamp(hours=-1), 'date_end': _stamp(days=2)}, **vals))

    def test_default_rules_mirror_the_gate_box_per_level(self):
        for level, stage in (('yellow', '3'), ('orange', '4'), ('red', '5')):
            [rule] = self._draft(level).rule_ids
            self.assertEqual(rule._sync_row(), {
                'max_stage': stage, 'fuels': None, 'vehicle_classes': ['H1', 'Q1'],
                'categories': None, 'action': 'refuse'}, level)

    def test_rules_given_are_kept(self):
        strategy = self._draft(rule_ids=[(0, 0, {'max_stage': '5', 'fuels': 'b, e',
                                                  'vehicle_classes': '', 'action': 'hold',
                                                  'category': 'in_plant'})])
        self.assertEqual([r._sync_row() for r in strategy.rule_ids], [{
            'max_stage': '5', 'fuels': ['B', 'E'], 'vehicle_classes': None,
            'categories': ['in_plant'], 'action': 'hold'}])

    def test_only_a_manager_activates(self):
        strategy = self._draft().sudo(self.clerk)
        strategy.write({'name': 'edited by the clerk'})
        with self.assertRaises(AccessError):
            strategy.action_activate()
        with self.assertRaises(AccessError):
            strategy.write({'state': 'active'})
        with self.assertRaises(AccessError):
            self.Strategy.sudo(self.clerk).create({
                'name': 'x', 'level': 'red', 'state': 'active',
                'date_start': _stamp(hours=-1), 'date_end': _stamp(days=1)})
        self.assertEqual(strategy.state, 'draft')
        strategy.sudo(self.manager).action_activate()
        self.assertEqual(strategy.state, 'active')
        self.assertEqual(strategy.activated_by, self.manager)
        self.assertTrue(strategy.in_force)
        self.assertIn(strategy, self.Strategy.search([('in_force', '=', True)]))

    def test_only_a_manager_changes_or_ends_an_active_strategy(self):
        strategy = self._draft()
        strategy.sudo(self.manager).action_activate()
        as_clerk = strategy.sudo(self.clerk)
        with self.assertRaises(AccessError):
            as_clerk.write({'date_end': _stamp(days=5)})
        with self.assertRaises(AccessError):
            as_clerk.rule_ids.write({'max_stage': '2'})
        with self.assertRaises(AccessError):
            as_clerk.action_end()
        self.assertEqual((strategy.state, strategy.rule_ids.max_stage), ('active', '4'))
        strategy.sudo(self.manager).rule_ids.write({'max_stage': '5'})
        self.assertEqual(strategy.rule_ids.max_stage, '5')

    def test_activation_refuses_a_strategy_that_stops_nothing_or_is_over(self):
        empty = self._draft()
        empty.rule_ids.unlink()
        with self.assertRaises(UserError):
            empty.sudo(self.manager).action_activate()
        over = self._draft(date_start=_stamp(days=-3), date_end=_stamp(days=-1))
        with self.assertRaises(UserError):
            over.sudo(self.manager).action_activate()

    def test_period_end_is_after_start(self):
        with self.assertRaises(ValidationError):
            self._draft(date_start=_stamp(days=1), date_end=_stamp(days=1))

    def test_end_now_and_cron_end_expired(self):
        running = self._draft()
        running.sudo(self.manager).action_activate()
        running.sudo(self.manager).action_end()
        self.assertEqual(running.state, 'ended')
        self.assertLessEqual(running.date_end, fields.Datetime.now())
        self.assertFalse(running.in_force)
        lapsed = self._draft(state='active', date_start=_stamp(days=-2),
                             date_end=_stamp(minutes=-1))
        self.Strategy._cron_end_expired()
        self.assertEqual(lapsed.state, 'ended')

    def test_rule_codes_are_checked(self):
        with self.assertRaises(ValidationError):
            self._draft(rule_ids=[(0, 0, {'max_stage': '4', 'fuels': 'B, K'})])
        with self.assertRaises(ValidationError):
            self._draft(rule_ids=[(0, 0, {'max_stage': '4', 'vehicle_classes': 'ZZ'})])

    def test_exempt_plates_and_vehicles_are_sent_as_plate_keys(self):
        strategy = self._draft(exempt_plates='琼a 5t123\n琼A7K456，琼A7K456',
                               exempt_vehicle_ids=[(6, 0, [self.truck.id])])
        self.assertEqual(strategy._sync_row()['exempt_plates'], ['琼A5T123', '琼A7K456'])
        with self.assertRaises(ValidationError):
            self._draft(exempt_plates='not a plate')
