"""What the gate box reports: POST /env_gate/api/v1/status and heartbeat events."""
import json

from ..models.env_gate_lane import hash_token
from .common import GateCase, call_api

TOKEN = 'status-test-token'


class TestBoxStatus(GateCase):

    @classmethod
    def setUpClass(cls):
        super(TestBoxStatus, cls).setUpClass()
        cls.lane_in.sudo().write({'token_hash': hash_token(TOKEN)})

    def report(self, cameras, token=TOKEN):
        return call_api(self.env, 'status', token, body={
            'box': {'name': 'east box', 'version': '11.0.1.0.0', 'cache_version': 42},
            'cameras': cameras,
            'outbox': {'pending': 3, 'dead': 0, 'deferred': 0, 'oldest_age': 12.5}})

    def test_status_report_stores_camera_state_and_the_report(self):
        status, body = self.report([{'lane': 'T-IN', 'state': 'offline', 'type': 'alarminfoplate',
                                     'last_heartbeat': '2026-01-05T08:00:00.250000+08:00'},
                                    {'lane': 'T-OUT', 'state': 'online',
                                     'last_heartbeat': '2026-01-05T00:01:00+00:00'}])
        self.assertEqual((status, body['lanes']), (200, ['T-IN', 'T-OUT']))
        self.assertEqual((self.lane_in.camera_state, self.lane_in.last_heartbeat),
                         ('offline', '2026-01-05 00:00:00'))
        self.assertEqual((self.lane_out.camera_state, self.lane_out.last_heartbeat),
                         ('online', '2026-01-05 00:01:00'))
        stored = json.loads(self.lane_in.box_status)
        self.assertEqual((stored['box']['name'], stored['outbox']['pending']), ('east box', 3))
        self.assertTrue(self.lane_in.box_reported_at)
        self.assertIn(self.lane_in, self.env['env.gate.lane'].search(
            [('camera_state', '=', 'offline')]))

    def test_cameras_of_other_plants_are_ignored(self):
        other = self.env['res.company'].create({'name': 'Other Plant'})
        gate = self.env['env.gate.gate'].create({'name': 'O', 'code': 'O2',
                                                 'company_id': other.id})
        theirs = self.env['env.gate.lane'].create({'name': 'O', 'code': 'O-X',
                                                   'gate_id': gate.id, 'barrier_no': 'O2'})
        status, body = self.report([{'lane': 'O-X', 'state': 'offline'}])
        self.assertEqual((status, body['ignored']), (200, ['O-X']))
        self.assertFalse(theirs.camera_state)

    def test_refusals(self):
        status, body = self.report([], token='wrong')
        self.assertEqual((status, body['error']), (401, 'unauthorized'))
        status, body = call_api(self.env, 'status', TOKEN, body=b'{"cameras": ')
        self.assertEqual((status, body['error']), (400, 'status.bad_json'))
        status, body = self.report([{'lane': 'T-IN', 'state': 'asleep'}])
        self.assertEqual((status, body['error']), (400, 'status.bad_field'))
        status, body = self.report([{'lane': 'T-IN', 'state': 'online',
                                     'last_heartbeat': '2026-01-05 08:00'}])
        self.assertEqual(status, 400)
        self.assertFalse(self.lane_in.camera_state)

    def test_heartbeat_events_update_the_lane(self):
        def heartbeat(event_id, minutes):
            return self._event(self.lane_in, event_id, minutes=minutes, type='heartbeat',
                               plate=None, plate_color=None, confidence=None)
        [result] = self.ingest(self.lane_in, heartbeat('hb1', 5))
        self.assertEqual(result['status'], 'accepted')
        self.assertEqual(self.lane_in.last_heartbeat, '2026-01-05 00:05:00')
        self.assertEqual(self.lane_in.camera_state, 'online')
        self.ingest(self.lane_in, heartbeat('hb0', 1))         # replayed late: older
        self.assertEqual(self.lane_in.last_heartbeat, '2026-01-05 00:05:00')
        self.ingest(self.lane_in, heartbeat('hb2', 9), heartbeat('hb3', 7))
        self.assertEqual(self.lane_in.last_heartbeat, '2026-01-05 00:09:00')
