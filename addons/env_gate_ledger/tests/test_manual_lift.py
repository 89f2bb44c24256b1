"""Manual lifts (人工抬杆): from the gate box as events, and from the ERP through the wizard."""
import http.server
import json
import socket
import threading

from odoo.exceptions import UserError

from ..wizards.env_gate_lane_lift import lift_event_id
from .common import PLATE, GateCase


class FakeBox(object):
    """A gate box's /env_gate_hw/barrier/open on loopback that records what it was sent."""

    def __init__(self, status=200, body=None):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                received.append({'path': self.path,
                                 'authorization': self.headers.get('Authorization'),
                                 'body': json.loads(self.rfile.read(length).decode('utf-8'))})
                data = json.dumps(body or {'result': 'ok', 'barrier': {'state': 'opened'}})
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data.encode('utf-8'))

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def unused_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class TestManualLift(GateCase):

    @classmethod
    def setUpClass(cls):
        super(TestManualLift, cls).setUpClass()
        cls.guard = cls.env['res.users'].with_context(no_reset_password=True).create({
            'name': '张伟', 'login': 't_lift_guard', 'email': 'guard@example.com', 'groups_id': [
                (6, 0, [cls.env.ref('env_gate_ledger.group_operator').id])]})

    def _lift_event(self, event_id, user, minutes=1, **extra):
        return self._event(self.lane_in, event_id, minutes=minutes, type='manual_lift',
                           decision='manual', reason='车牌污损，人工核对放行', confidence=None,
                           extra=dict({'source': 'box', 'user': user}, **extra))

    def test_a_lift_event_from_the_box_records_a_manual_passage(self):
        [held] = self.ingest(self.lane_in, self._event(
            self.lane_in, 'r1', decision='refuse', reason='emergency_orange: 等待门岗'))
        [lift] = self.ingest(self.lane_in, self._lift_event('l1', 't_lift_guard'))
        self.assertEqual(lift['status'], 'accepted')
        self.assertNotEqual(lift['passage'], held['passage'])
        passage = self.Passage.search([('name', '=', lift['passage'])])
        self.assertEqual((passage.decision, passage.lift_mode, passage.source),
                         ('3', '1', 'device'))
        self.assertEqual(passage.reason, '车牌污损，人工核对放行')
        self.assertEqual(passage.manual_user_id, self.guard)
        self.assertEqual(passage.vehicle_id, self.truck)
        self.assertEqual(self.Event.search([('sender_event_id', '=', 'l1')]).outcome, 'passage')
        refused = self.Passage.search([('name', '=', held['passage'])])
        self.assertEqual((refused.decision, refused.reason), ('2', 'emergency_orange: 等待门岗'))
        self.assertIn(refused, self.Passage.search([('decision', '=', '2'),
                                                    ('lane_id', '=', self.lane_in.id)]))

    def test_a_guard_named_on_the_box_is_kept_in_the_explanation(self):
        [lift] = self.ingest(self.lane_in, self._lift_event('l2', '门岗老王'))
        passage = self.Passage.search([('name', '=', lift['passage'])])
        self.assertFalse(passage.manual_user_id)
        self.assertEqual(passage.manual_reason, '门岗老王：车牌污损，人工核对放行')

    def _wizard(self, **vals):
        Wizard = self.env['env.gate.lane.lift'].sudo(self.guard)
        return Wizard.with_context(default_lane_id=self.lane_in.id).create(dict(
            {'reason': '车牌污损，人工核对放行', 'plate': PLATE}, **vals))

    def test_wizard_records_the_lift_and_asks_the_box_to_open(self):
        box = FakeBox()
        self.addCleanup(box.close)
        self.lane_in.sudo().write({'box_url': box.url + '/', 'box_token': 'box-secret'})
        wizard = self._wizard()
        wizard.action_lift()
        self.assertTrue(wizard.box_ok, wizard.message)
        self.assertIn('opened', wizard.message)
        [sent] = box.received
        self.assertEqual(sent['path'], '/env_gate_hw/barrier/open')
        self.assertEqual(sent['authorization'], 'Bearer box-secret')
        self.assertEqual((sent['body']['lane'], sent['body']['user'], sent['body']['reason']),
                         ('T-IN', 't_lift_guard', '车牌污损，人工核对放行'))
        passage = wizard.passage_id
        self.assertEqual((passage.decision, passage.plate_key, passage.manual_user_id),
                         ('3', PLATE, self.guard))
        # the box records the same lift under the id derived from our request id and
        # forwards it: one lift in the ledger, not two
        event_id = lift_event_id('T-IN', sent['body']['request_id'])
        self.assertTrue(self.Event.search([('sender_event_id', '=', event_id)]))
        [again] = self.ingest(self.lane_in, self._lift_event(event_id, 't_lift_guard'))
        self.assertEqual((again['status'], again['passage']), ('duplicate', passage.name))

    def test_unreachable_box_is_said_clearly_and_the_lift_stays_recorded(self):
        url = 'http://127.0.0.1:%d' % unused_port()
        self.lane_in.sudo().write({'box_url': url})
        wizard = self._wizard()
        wizard.action_lift()
        self.assertFalse(wizard.box_ok)
        self.assertIn('cannot be reached', wizard.message)
        self.assertIn(url, wizard.message)
        self.assertEqual(wizard.passage_id.decision, '3')
        chatter = self.lane_in.message_ids.mapped('body')
        self.assertTrue(any('cannot be reached' in body for body in chatter), chatter)

    def test_box_refusal_is_reported(self):
        box = FakeBox(status=401, body={'error': 'unauthorized',
                                        'message': 'a manual lift needs the lane token'})
        self.addCleanup(box.close)
        self.lane_in.sudo().write({'box_url': box.url, 'box_token': 'stale'})
        wizard = self._wizard()
        wizard.action_lift()
        self.assertFalse(wizard.box_ok)
        self.assertIn('401', wizard.message)
        self.assertIn('a manual lift needs the lane token', wizard.message)

    def test_without_box_url_the_lift_is_recorded_only(self):
        wizard = self._wizard(plate=False)
        wizard.action_lift()
        self.assertFalse(wizard.box_ok)
        self.assertIn('no gate box URL', wizard.message)
        self.assertTrue(wizard.passage_id.flag_unreadable)

    def test_reason_and_direction_are_required(self):
        with self.assertRaises(UserError):
            self._wizard(reason='   ').action_lift()
        both = self.env['env.gate.lane.lift'].sudo(self.guard).create({
            'lane_id': self.lane_both.id, 'reason': 'x'})
        with self.assertRaises(UserError):
            both.action_lift()

    def test_held_vehicle_is_proposed(self):
        import datetime
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        self.ingest(self.lane_in, dict(self._event(self.lane_in, 'h1', decision='refuse'),
                                       time=now.isoformat()))
        defaults = self.env['env.gate.lane.lift'].sudo(self.guard).with_context(
            default_lane_id=self.lane_in.id).default_get(['plate', 'direction', 'lane_id'])
        self.assertEqual((defaults['plate'], defaults['direction']), (PLATE, '1'))
