"""GET /env_gate/api/v1/sync: the register summary the gate box caches, read back by the
gate box's own parser (env_gate_hw/gatebox/cache.py) so the two cannot drift apart."""
import collections
import datetime
import json
import os
import shutil
import tempfile

from odoo import fields

from ..models.env_gate_lane import hash_token
from ..models.env_gate_sync import HORIZON_PARAM
from .common import PLATE, GateCase, call_api, gatebox

box_cache = gatebox().cache

Read = collections.namedtuple('Read', 'plate_key confidence direction')
TOKEN = 'sync-test-token'
BANNED = '琼A4B321'      # China IV heavy truck
LISTED = '琼A9C777'      # on the blacklist


def _stamp(delta):
    return fields.Datetime.to_string(datetime.datetime.utcnow() + delta)


class SyncCase(GateCase):

    @classmethod
    def setUpClass(cls):
        super(SyncCase, cls).setUpClass()
        cls.lane_in.sudo().write({'token_hash': hash_token(TOKEN)})
        cls.banned = cls.Vehicle.create({
            'plate': BANNED, 'plate_color': '1', 'emission_stage': '4', 'fuel_type': 'B',
            'vehicle_type': 'H11', 'owner': '琼州运输', 'hazardous_goods': False})
        cls.listing = cls.env['env.gate.blacklist'].create({
            'plate': LISTED, 'source': '海口市生态环境局', 'reason': '超标排放',
            'valid_from': _stamp(datetime.timedelta(days=-1))})
        cls.strategy = cls.env['env.gate.strategy'].create({
            'name': '测试橙色预警', 'level': 'orange', 'state': 'active',
            'date_start': _stamp(datetime.timedelta(hours=-1)),
            'date_end': _stamp(datetime.timedelta(days=1)),
            'exempt_plates': '琼A1E111'})

    def setUp(self):
        super(SyncCase, self).setUp()
        self.folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.folder)
        self.cache = box_cache.Cache(os.path.join(self.folder, 'cache.json'))

    def reply(self, since=None, lane=None):
        """The sync reply as the box receives it (through JSON)."""
        since = self.cache.version if since is None else since
        payload = self.env['env.gate.sync']._payload(lane or self.lane_in, since)
        return json.loads(json.dumps(payload))

    def sync(self, since=None):
        payload = self.reply(since)
        return payload, self.cache.apply(payload)

    def ids(self, payload, name):
        return [row['id'] for row in payload[name]]


class TestFullSync(SyncCase):

    def test_full_reply_is_accepted_by_the_gate_box_and_decides_like_the_erp(self):
        payload, result = self.sync(0)
        self.assertTrue(payload['full'])
        self.assertTrue(result.written)
        expected = self.Vehicle.search([('company_id', '=', self.lane_in.company_id.id),
                                        ('plate', '!=', False)])
        self.assertEqual(len(payload['vehicles']), len(expected))
        truck = self.cache.vehicle(PLATE)
        self.assertEqual((truck.stage, truck.fuel, truck.vehicle_type, truck.category,
                          truck.owner, truck.id),
                         ('6', 'B', 'Q11', 'transport', '测试车队', self.truck.id))
        self.assertEqual(self.cache.blacklisted(LISTED).source, '海口市生态环境局')
        [strategy] = [s for s in self.cache.strategies() if s.id == self.strategy.id]
        self.assertEqual(strategy.level, 'orange')
        self.assertEqual(strategy.rules[0].max_stage, '4')
        self.assertEqual(strategy.rules[0].vehicle_classes, ('H1', 'Q1'))
        self.assertEqual(strategy.exempt_flags, frozenset(['special', 'hazardous']))
        self.assertEqual(strategy.exempt_plates, frozenset(['琼A1E111']))
        lane = self.cache.lane('T-IN')
        self.assertEqual((lane.direction, lane.unregistered, lane.min_confidence,
                          lane.blacklist_exit, lane.require_clean),
                         ('in', 'hold', 90.0, 'hold', False))
        self.assertEqual(self.cache.lane('T-BOTH').direction, 'both')
        decide = lambda plate: self.cache.decide(Read(plate, 97, 'in'), 'T-IN')  # noqa: E731
        self.assertEqual((decide(BANNED).action, decide(BANNED).reason),
                         ('refuse', 'emergency_orange'))
        self.assertEqual((decide(LISTED).action, decide(LISTED).reason),
                         ('refuse', 'blacklisted'))
        self.assertEqual((decide(PLATE).action, decide(PLATE).reason), ('pass', 'ok'))

    def test_vehicle_flags_and_owner_reach_the_box(self):
        self.banned.write({'hazardous_goods': True, 'special_purpose': True,
                           'fleet_name': '危化车队'})
        self.sync(0)
        vehicle = self.cache.vehicle(BANNED)
        self.assertEqual(vehicle.flags, ('hazardous', 'special'))
        self.assertEqual(vehicle.owner, '危化车队')
        decision = self.cache.decide(Read(BANNED, 97, 'in'), 'T-IN')
        self.assertEqual((decision.action, decision.reason), ('pass', 'exempt'))

    def test_draft_strategies_and_vehicles_without_plate_are_not_sent(self):
        draft = self.env['env.gate.strategy'].create({
            'name': 'draft', 'level': 'red', 'date_start': _stamp(datetime.timedelta(0)),
            'date_end': _stamp(datetime.timedelta(days=1))})
        in_plant = self.Vehicle.create({'category': 'in_plant', 'internal_code': 'T-CN-1'})
        payload = self.reply(0)
        self.assertNotIn(draft.id, self.ids(payload, 'strategies'))
        self.assertIn(self.strategy.id, self.ids(payload, 'strategies'))
        self.assertNotIn(in_plant.id, self.ids(payload, 'vehicles'))

    def test_other_company_rows_are_never_sent(self):
        other = self.env['res.company'].create({'name': 'Other Plant'})
        gate = self.env['env.gate.gate'].create({'name': 'O', 'code': 'O1',
                                                 'company_id': other.id})
        lane = self.env['env.gate.lane'].create({'name': 'O in', 'code': 'O-IN',
                                                 'gate_id': gate.id, 'barrier_no': 'O1'})
        theirs = self.Vehicle.create({'plate': '琼B0M001', 'company_id': other.id,
                                      'emission_stage': '5', 'fuel_type': 'B'})
        self.env['env.gate.blacklist'].create({'plate': '琼B0M002', 'source': 'x',
                                               'company_id': other.id})
        ours = self.reply(0)
        self.assertNotIn(theirs.id, self.ids(ours, 'vehicles'))
        self.assertNotIn('琼B0M002', [row['plate_key'] for row in ours['blacklist']])
        self.assertNotIn('O-IN', [row['code'] for row in ours['lanes']])
        theirs_reply = self.reply(0, lane=lane)
        self.assertEqual(self.ids(theirs_reply, 'vehicles'), [theirs.id])
        self.assertEqual([row['code'] for row in theirs_reply['lanes']], ['O-IN'])
        self.assertEqual(theirs_reply['strategies'], [])
        # a vehicle moved to the other plant leaves this plant's boxes
        self.sync(0)
        self.truck.write({'company_id': other.id})
        payload, _result = self.sync()
        self.assertIn({'id': self.truck.id, 'deleted': True}, payload['vehicles'])
        self.assertIsNone(self.cache.vehicle(PLATE))


class TestIncrementalSync(SyncCase):

    def setUp(self):
        super(TestIncrementalSync, self).setUp()
        self.sync(0)
        self.held = self.cache.version

    def test_only_changed_rows_are_sent(self):
        self.truck.write({'emission_stage': '4', 'vehicle_type': 'H11'})
        payload, result = self.sync()
        self.assertFalse(payload['full'])
        self.assertEqual(payload['since'], self.held)
        self.assertGreater(payload['version'], self.held)
        self.assertEqual(self.ids(payload, 'vehicles'), [self.truck.id])
        self.assertEqual((payload['blacklist'], payload['strategies'], payload['lanes']),
                         ([], [], []))
        self.assertEqual(result.changes['vehicles'], (1, 0))
        self.assertEqual(self.cache.decide(Read(PLATE, 97, 'in'), 'T-IN').reason,
                         'emergency_orange')

    def test_a_write_the_box_does_not_see_makes_no_version(self):
        self.truck.write({'stored_tare': 15.2, 'tare_min': 14.0})
        self.lane_in.sudo().write({'camera_state': 'offline', 'box_status': '{}'})
        payload, result = self.sync()
        self.assertEqual(payload['version'], self.held)
        self.assertEqual(payload['vehicles'], [])
        self.assertFalse(result.written)

    def test_deleted_and_archived_rows_are_removed_from_the_box(self):
        extra = self.Vehicle.create({'plate': '琼A8D808', 'emission_stage': '5'})
        self.sync()
        self.assertTrue(self.cache.vehicle('琼A8D808'))
        extra.unlink()
        self.truck.write({'active': False})
        self.listing.write({'active': False})
        payload, result = self.sync()
        self.assertEqual(sorted(payload['vehicles'], key=lambda r: r['id']), sorted(
            [{'id': extra.id, 'deleted': True}, {'id': self.truck.id, 'deleted': True}],
            key=lambda r: r['id']))
        self.assertEqual(payload['blacklist'], [{'id': self.listing.id, 'deleted': True}])
        self.assertIsNone(self.cache.vehicle('琼A8D808'))
        self.assertIsNone(self.cache.vehicle(PLATE))
        self.assertIsNone(self.cache.blacklisted(LISTED))
        self.truck.write({'active': True})
        self.sync()
        self.assertEqual(self.cache.vehicle(PLATE).id, self.truck.id)

    def test_strategy_rule_edits_and_ending_reach_the_box(self):
        self.strategy.rule_ids.write({'max_stage': '5'})
        payload, _result = self.sync()
        self.assertEqual(self.ids(payload, 'strategies'), [self.strategy.id])
        [strategy] = [s for s in self.cache.strategies() if s.id == self.strategy.id]
        self.assertEqual(strategy.rules[0].max_stage, '5')
        self.strategy.action_end()
        payload, _result = self.sync()
        self.assertEqual(payload['strategies'], [{'id': self.strategy.id, 'deleted': True}])
        self.assertNotIn(self.strategy.id, [s.id for s in self.cache.strategies()])

    def test_lane_policy_and_code_changes(self):
        self.lane_in.write({'unregistered': 'refuse', 'min_confidence': 80, 'code': 'T-IN2'})
        payload, _result = self.sync()
        self.assertEqual(payload['lanes'][0], {'code': 'T-IN', 'deleted': True})
        self.assertEqual(self.cache.lane('T-IN2').unregistered, 'refuse')
        self.assertEqual(self.cache.lane('T-IN2').min_confidence, 80.0)
        self.assertNotIn('T-IN', self.cache.lanes())

    def test_unknown_or_forgotten_versions_get_a_full_reply(self):
        self.assertTrue(self.reply(since=self.held + 10 ** 9)['full'])    # restored ERP
        self.env['ir.config_parameter'].sudo().set_param(HORIZON_PARAM, str(self.held + 1))
        self.assertTrue(self.reply(since=self.held)['full'])              # tombstones purged
        self.assertFalse(self.reply(since=self.held + 1)['full'])

    def test_purged_tombstones_raise_the_horizon(self):
        extra = self.Vehicle.create({'plate': '琼A8D809'})
        extra.unlink()
        tombstone = self.env['env.gate.sync.tombstone'].search(
            [('res_model', '=', 'env.gate.vehicle'), ('res_id', '=', extra.id)])
        buried_at = tombstone.sync_version
        self.env.cr.execute("UPDATE env_gate_sync_tombstone SET create_date = "
                            "create_date - interval '200 days' WHERE id = %s", (tombstone.id,))
        self.assertGreaterEqual(self.env['env.gate.sync.tombstone']._purge(), 1)
        self.assertFalse(tombstone.exists())
        horizon = int(self.env['ir.config_parameter'].sudo().get_param(HORIZON_PARAM))
        self.assertGreaterEqual(horizon, buried_at)
        self.assertTrue(self.reply(since=self.held)['full'])


    def test_exempt_vehicle_plate_change_resends_the_strategy(self):
        self.strategy.write({'exempt_vehicle_ids': [(6, 0, [self.banned.id])]})
        self.sync()
        self.banned.write({'plate': '琼A4B322'})
        payload, _result = self.sync()
        self.assertEqual(self.ids(payload, 'strategies'), [self.strategy.id])
        [strategy] = [s for s in self.cache.strategies() if s.id == self.strategy.id]
        self.assertIn('琼A4B322', strategy.exempt_plates)
        self.assertNotIn(BANNED, strategy.exempt_plates)

class TestSyncHttp(SyncCase):

    def test_sync_over_http(self):
        status, payload = call_api(self.env, 'sync', TOKEN, since='0')
        self.assertEqual(status, 200)
        self.assertTrue(payload['full'])
        self.assertTrue(self.cache.apply(payload).written)
        status, again = call_api(self.env, 'sync', TOKEN, since=str(payload['version']))
        self.assertEqual((status, again['full'], again['vehicles']), (200, False, []))

    def test_unknown_token_is_refused(self):
        status, body = call_api(self.env, 'sync', 'not-a-token', since='0')
        self.assertEqual((status, body['error']), (401, 'unauthorized'))
        status, body = call_api(self.env, 'sync', None, since='0')
        self.assertEqual(status, 401)

    def test_bad_since_is_refused(self):
        for since in ('x', '-1'):
            status, body = call_api(self.env, 'sync', TOKEN, since=since)
            self.assertEqual((status, body['error']), (400, 'sync.bad_since'))

