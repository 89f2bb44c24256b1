"""Regulator uploads through the Odoo layer, against the in-process platform simulators."""
import logging
import os
import sys

from odoo.exceptions import AccessError

from .common import GateCase

_SIMULATORS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            '..', '..', '..', 'tests', 'simulators'))
if _SIMULATORS not in sys.path:
    sys.path.insert(0, _SIMULATORS)

import regulator_sim  # noqa: E402

DEMO = regulator_sim.DEMO


class _Capture(logging.Handler):
    def __init__(self):
        super(_Capture, self).__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


class TestUpload(GateCase):

    @classmethod
    def setUpClass(cls):
        super(TestUpload, cls).setUpClass()
        cls.sim = regulator_sim.make_sim('canonical_json').start()
        cls.Upload = cls.env['env.gate.upload']
        cls.regulator = cls.env['env.gate.regulator'].create({
            'name': 'Test platform', 'adapter': 'canonical_json', 'base_url': cls.sim.base_url,
            'username': DEMO['username'], 'password': DEMO['password'],
            'enterprise_code': DEMO['enterprise_code'], 'timeout': 5})

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        super(TestUpload, cls).tearDownClass()

    def setUp(self):
        super(TestUpload, self).setUp()
        self.sim.reset()

    def _passages(self, count, lane=None, minutes=0):
        events = [self._event(lane or self.lane_in, 'up-%d-%d' % (minutes, n),
                              plate='琼A%05d' % (minutes * 100 + n), minutes=minutes,
                              seconds=5 * n) for n in range(count)]
        self.ingest(lane or self.lane_in, *events)
        return self.Passage.search([('lane_id', '=', (lane or self.lane_in).id)])

    def _deliver(self, regulator=None):
        return self.Upload._deliver(regulators=regulator or self.regulator)

    def _uploads(self, passages, regulator=None):
        return self.Upload.search([('passage_id', 'in', passages.ids),
                                   ('regulator_id', '=', (regulator or self.regulator).id)])

    def test_uploads_created_per_passage(self):
        passages = self._passages(3)
        uploads = self._uploads(passages)
        self.assertEqual(len(uploads), 3)
        self.assertEqual(set(uploads.mapped('state')), {'pending'})
        self.assertEqual(set(uploads.mapped('kind')), {'passage'})
        self.assertTrue(all(u.deadline for u in uploads))
        self.assertEqual(set(passages.mapped('upload_state')), {'pending'})

    def test_delivered_and_masked(self):
        capture = _Capture()
        root = logging.getLogger()
        root.addHandler(capture)
        try:
            passages = self._passages(2)
            self._deliver()
        finally:
            root.removeHandler(capture)
        uploads = self._uploads(passages)
        self.assertEqual(set(uploads.mapped('state')), {'sent'})
        self.assertTrue(all(u.platform_id and u.delivered_at for u in uploads))
        self.assertEqual(set(passages.mapped('upload_state')), {'delivered'})
        for upload in uploads:
            self.assertIn(upload.record_id, self.sim.records)
            self.assertEqual(self.sim.stored[upload.record_id], 1)
        attempts = uploads.mapped('attempt_ids')
        self.assertEqual(len(attempts), 2)
        import base64
        basic = base64.b64encode(('%s:%s' % (DEMO['username'], DEMO['password']))
                                 .encode()).decode()
        for attempt in attempts:
            self.assertTrue(attempt.request)
            for secret in (DEMO['password'], basic):
                self.assertNotIn(secret, attempt.request)
                self.assertNotIn(secret, attempt.response or '')
        for line in capture.lines:
            self.assertNotIn(DEMO['password'], line)

    def test_outage_pauses_probes_then_delivers_once(self):
        passages = self._passages(3)
        self.sim.set_downtime(0, 1e12, mode='refuse')
        self._deliver()
        self.assertEqual(self.regulator.state, 'paused')
        uploads = self._uploads(passages)
        # one record found the platform down; the others' retries were not burnt
        self.assertEqual(sum(uploads.mapped('attempt_count')), 1)
        self.assertEqual(self.sim.stats()['received'], 0)
        self._deliver()      # still down: one probe, no record
        self.assertEqual(self.regulator.state, 'paused')
        self.assertTrue(self.regulator.last_probe)
        self.assertFalse(self.regulator.last_probe_ok)
        self.assertEqual(sum(uploads.mapped('attempt_count')), 1)
        self.assertTrue(self.regulator.warning)
        self.sim.downtime = None
        self._deliver()
        self.assertEqual(self.regulator.state, 'ok')
        self.assertEqual(set(uploads.mapped('state')), {'sent'},
                         uploads.mapped('attempt_ids.message_en'))
        for upload in uploads:
            self.assertEqual(self.sim.stored[upload.record_id], 1)
        self._deliver()      # nothing left: nothing sent twice
        for upload in uploads:
            self.assertEqual(self.sim.stored[upload.record_id], 1)

    def test_transient_error_backs_off(self):
        passages = self._passages(1)
        self.sim.faults.push('http500')
        self._deliver()
        upload = self._uploads(passages)
        self.assertEqual(upload.state, 'failed')
        self.assertEqual(upload.failures, 1)
        self.assertGreater(upload.next_try, upload.attempt_ids[0].started_at)
        self.assertEqual(self.regulator.state, 'ok')

    def test_rejection_shown_and_not_retried(self):
        passages = self._passages(1)
        self.sim.reject_if = lambda op, payload: '车辆未在平台备案'
        self._deliver()
        upload = self._uploads(passages)
        self.assertEqual(upload.state, 'rejected')
        self.assertIn('车辆未在平台备案', upload.message_zh)
        self.assertEqual(passages.upload_state, 'rejected')
        self.sim.reject_if = None
        self._deliver()
        self.assertEqual(upload.attempt_count, 1)
        self.assertEqual(upload.state, 'rejected')

    def test_resend_wizard_requeues_without_duplicates(self):
        passages = self._passages(2)
        self._deliver()
        uploads = self._uploads(passages)
        self.assertEqual(set(uploads.mapped('state')), {'sent'})
        before = self.Upload.search_count([])
        wizard = self.env['env.gate.upload.resend'].create({
            'date_from': '2026-01-04 00:00:00', 'date_to': '2026-01-06 00:00:00',
            'gate_id': self.gate.id, 'kind': 'passage',
            'regulator_ids': [(6, 0, self.regulator.ids)], 'include_delivered': True})
        wizard.action_resend()
        wizard.action_resend()
        self.assertEqual(self.Upload.search_count([]), before)
        self.assertEqual(set(uploads.mapped('state')), {'pending'})
        self._deliver()
        self.assertEqual(set(uploads.mapped('state')), {'duplicate'})
        for upload in uploads:
            self.assertEqual(self.sim.stored[upload.record_id], 1)
            self.assertEqual(upload.attempt_count, 2)

    def test_register_entries_queued(self):
        uploads = self.Upload.search([('res_model', '=', 'env.gate.vehicle'),
                                      ('res_id', '=', self.truck.id)])
        self.assertEqual(len(uploads), 0)      # the truck predates the platform
        truck = self.Vehicle.create({'plate': '琼A9Z001', 'plate_color': '1',
                                     'emission_stage': '6', 'fuel_type': 'B',
                                     'vehicle_type': 'Q11'})
        upload = self.Upload.search([('res_model', '=', 'env.gate.vehicle'),
                                     ('res_id', '=', truck.id)])
        self.assertEqual(upload.kind, 'vehicle')
        self._deliver()
        self.assertEqual(upload.state, 'sent')
        first = upload.record_id
        truck.write({'fleet_name': '新车队'})
        self.assertEqual(upload.state, 'pending')
        self._deliver()
        self.assertEqual(upload.state, 'sent')
        self.assertNotEqual(upload.record_id, first)
        self.assertEqual(self.Upload.search_count([('res_model', '=', 'env.gate.vehicle'),
                                                   ('res_id', '=', truck.id)]), 1)

    def test_alarm_activity_once_per_day(self):
        passages = self._passages(1)
        upload = self._uploads(passages)
        self.env.cr.execute("UPDATE env_gate_upload SET deadline = now() at time zone 'UTC' "
                            "- interval '5 minutes' WHERE id = %s", (upload.id,))
        upload.invalidate_cache()
        self.assertTrue(upload.overdue)
        self.assertIn(upload, self.Upload.search([('overdue', '=', True)]))
        self.regulator._check_alarms()
        self.regulator._check_alarms()
        activities = self.env['mail.activity'].search([
            ('res_model', '=', 'env.gate.regulator'), ('res_id', '=', self.regulator.id)])
        managers = self.env.ref('env_gate_ledger.group_manager').users
        self.assertTrue(activities)
        self.assertEqual(len(activities), len(managers))
        self.assertIn('1 overdue', self.regulator.alarm_message)
        self.assertIn(self.regulator.alarm_message, self.regulator.warning)

    def test_credentials_only_for_managers(self):
        user = self.env['res.users'].create({
            'name': 'Gate auditor', 'login': 'upload_auditor_test',
            'groups_id': [(6, 0, [self.env.ref('env_gate_ledger.group_auditor').id])]})
        regulator = self.regulator.sudo(user)
        self.assertEqual(regulator.name, 'Test platform')
        with self.assertRaises(AccessError):
            regulator.read(['password'])
        self.assertEqual(regulator.credentials_display, '********')


class TestUploadHebei(GateCase):

    @classmethod
    def setUpClass(cls):
        super(TestUploadHebei, cls).setUpClass()
        cls.sim = regulator_sim.make_sim('hebei_integrated').start()
        cls.regulator = cls.env['env.gate.regulator'].create({
            'name': 'Hebei', 'adapter': 'hebei_integrated', 'base_url': cls.sim.base_url,
            'username': DEMO['username'], 'password': DEMO['password'],
            'client_id': DEMO['client_id'], 'client_secret': DEMO['client_secret'],
            'enterprise_code': DEMO['enterprise_code'], 'timeout': 5})

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        super(TestUploadHebei, cls).tearDownClass()

    def test_exit_carries_entry_through_id(self):
        Upload = self.env['env.gate.upload']
        self.ingest(self.lane_in, self._event(self.lane_in, 'hb-1'))
        self.ingest(self.lane_out, self._event(self.lane_out, 'hb-2', minutes=40))
        entry = self.Passage.search([('lane_id', '=', self.lane_in.id)])
        exit_ = self.Passage.search([('lane_id', '=', self.lane_out.id)])
        self.assertEqual(exit_.entry_id, entry)
        Upload._deliver(regulators=self.regulator)
        up_in = Upload.search([('passage_id', '=', entry.id), ('regulator_id', '=', self.regulator.id)])
        up_out = Upload.search([('passage_id', '=', exit_.id), ('regulator_id', '=', self.regulator.id)])
        self.assertEqual(up_in.state, 'sent', up_in.message_en)
        self.assertEqual(up_out.state, 'sent', up_out.message_en)
        self.assertTrue(up_in.platform_id)
        self.assertEqual(self.sim.passes[up_in.platform_id]['exit']['carPlate'],
                         self.sim.passes[up_in.platform_id]['entry']['carPlate'])
        self.assertIn(up_in.platform_id, up_out.attempt_ids[0].request)
        for attempt in (up_in | up_out).mapped('attempt_ids'):
            self.assertNotIn(DEMO['client_secret'], attempt.request)
            self.assertNotIn(DEMO['password'], attempt.request)
