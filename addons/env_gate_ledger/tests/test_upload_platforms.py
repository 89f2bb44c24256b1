"""Regulator uploads through the Odoo layer to each platform's simulator: gate status,
Henan and SOAP platforms, the Test Connection button, and a 30-minute outage driven by
the simulator's clock."""
import base64
import datetime

from odoo.exceptions import ValidationError

from .common import GateCase
from .test_upload import DEMO, regulator_sim

JPEG = (b'\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x01\x00H\x00H\x00\x00\xff\xdb\x00C\x00'
        + b'\xff' * 64 + b'\xff\xd9')


class PlatformCase(GateCase):
    adapter = None
    credentials = {}

    @classmethod
    def setUpClass(cls):
        super(PlatformCase, cls).setUpClass()
        cls.clock = regulator_sim.Clock(1800000000.0)
        cls.sim = regulator_sim.make_sim(cls.adapter, clock=cls.clock).start()
        cls.Upload = cls.env['env.gate.upload']
        cls.Status = cls.env['env.gate.lane.status']
        # the demo platforms of the database must not take part
        cls.env['env.gate.regulator'].search([]).write({'active': False})
        values = {'name': 'Test %s' % cls.adapter, 'adapter': cls.adapter,
                  'base_url': cls.sim.base_url, 'enterprise_code': DEMO['enterprise_code'],
                  'timeout': 5, 'send_gate_status': True}
        values.update(cls.credentials)
        cls.regulator = cls.env['env.gate.regulator'].create(values)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        super(PlatformCase, cls).tearDownClass()

    def setUp(self):
        super(PlatformCase, self).setUp()
        self.sim.reset()

    def _deliver(self):
        return self.Upload._deliver(regulators=self.regulator)

    def _uploads(self, model, records):
        return self.Upload.search([('res_model', '=', model), ('res_id', 'in', records.ids),
                                   ('regulator_id', '=', self.regulator.id)])

    def _report(self, lane, barrier='connected', camera='online', when=None):
        """What a gate box POSTs to /env_gate/api/v1/status for `lane`."""
        heard = (when or datetime.datetime.utcnow()).strftime('%Y-%m-%dT%H:%M:%SZ')
        return self.env['env.gate.lane']._record_status(lane, {
            'box': {'name': 'box-1'},
            'cameras': [{'lane': lane.code, 'state': camera, 'last_heartbeat': heard}],
            'barriers': [{'lane': lane.code, 'driver': 'http', 'state': barrier,
                          'last_error': 'relay timed out' if barrier == 'error' else None}]})


class TestGateStatusCanonical(PlatformCase):
    adapter = 'canonical_json'
    credentials = {'username': DEMO['username'], 'password': DEMO['password']}

    def test_box_report_sets_the_lane_barrier_state(self):
        self._report(self.lane_in, barrier='error')
        self.assertEqual(self.lane_in.barrier_state, 'fault')
        self.assertEqual(self.lane_in.barrier_error, 'relay timed out')
        self.assertEqual(self.lane_in.camera_state, 'online')
        self._report(self.lane_in, barrier='connected')
        self.assertEqual(self.lane_in.barrier_state, 'ok')
        self.assertFalse(self.lane_in.barrier_error)

    def test_snapshots_are_queued_and_delivered(self):
        self._report(self.lane_in, barrier='error')
        snapshots = self.Status._cron_snapshot()
        mine = snapshots.filtered(lambda s: s.lane_id in (self.lane_in | self.lane_out))
        self.assertEqual(len(mine), 2)
        lane_in = mine.filtered(lambda s: s.lane_id == self.lane_in)
        lane_out = mine - lane_in
        self.assertEqual((lane_in.online, lane_in.barrier_state, lane_in.camera_state),
                         (True, 'fault', 'ok'))
        # never heard of: offline, and what it cannot know stays unknown
        self.assertEqual((lane_out.online, lane_out.barrier_state, lane_out.camera_state),
                         (False, 'unknown', 'unknown'))
        uploads = self._uploads('env.gate.lane.status', mine)
        self.assertEqual(set(uploads.mapped('kind')), {'gate_status'})
        self._deliver()
        self.assertEqual(set(uploads.mapped('state')), {'sent'}, uploads.mapped('message_en'))
        received = {r['barrier_no']: r for r in self.sim.ops('gate_status')}
        self.assertEqual(received[self.lane_in.barrier_no]['online'], True)
        self.assertEqual(received[self.lane_in.barrier_no]['barrier_ok'], False)
        self.assertEqual(received[self.lane_in.barrier_no]['camera_ok'], True)
        self.assertEqual(received[self.lane_out.barrier_no]['online'], False)
        self.assertIsNone(received[self.lane_out.barrier_no]['barrier_ok'])

    def test_a_stale_report_means_offline(self):
        old = datetime.datetime.utcnow() - datetime.timedelta(minutes=30)
        self._report(self.lane_in, when=old)
        self.env.cr.execute('UPDATE env_gate_lane SET box_reported_at = %s, last_event_time = NULL '
                            'WHERE id = %s', (old, self.lane_in.id))
        self.lane_in.invalidate_cache()
        snapshot = self.Status._snapshot(self.lane_in)
        self.assertFalse(snapshot.online)
        self.assertEqual(snapshot.camera_state, 'unknown')

    def test_no_platform_wanting_gate_status_no_snapshot(self):
        self.regulator.send_gate_status = False
        self.assertFalse(self.Status._cron_snapshot())
        self.assertFalse(self.Status.search([('lane_id', '=', self.lane_in.id)]))

    def test_resend_wizard_takes_gate_status_of_a_gate(self):
        snapshots = self.Status._snapshot(self.lane_in | self.lane_out)
        self._deliver()
        wizard = self.env['env.gate.upload.resend'].create({
            'date_from': '2000-01-01 00:00:00', 'date_to': '2100-01-01 00:00:00',
            'gate_id': self.gate.id, 'kind': 'gate_status', 'include_delivered': True,
            'regulator_ids': [(6, 0, self.regulator.ids)]})
        wizard.action_resend()
        self.assertEqual(wizard.requeued, 2)
        uploads = self._uploads('env.gate.lane.status', snapshots)
        self.assertEqual(set(uploads.mapped('state')), {'pending'})
        self._deliver()
        self.assertEqual(set(uploads.mapped('state')), {'duplicate'})
        for upload in uploads:
            self.assertEqual(self.sim.stored[upload.record_id], 1)

    def test_test_connection_keeps_the_paused_state(self):
        """A platform that does not answer: no error dialog (it would roll the paused state
        back), the platform shows paused and the chatter says why."""
        self.sim.set_downtime(0, 1e12, mode='refuse')
        self.assertTrue(self.regulator.action_test_connection())
        self.assertEqual(self.regulator.state, 'paused')
        self.assertFalse(self.regulator.last_probe_ok)
        self.assertIn('Connection test failed', self.regulator.message_ids[0].body)
        self.sim.downtime = None
        self.regulator.action_test_connection()
        self.assertEqual(self.regulator.state, 'ok')
        self.assertTrue(self.regulator.last_probe_ok)

    def test_thirty_minute_outage_every_record_once(self):
        """Passages every minute and gate status every five while the platform refuses
        connections for 30 minutes (by its clock), the delivery cron running every minute:
        the platform is paused and probed once a run, no record's retries are burnt, and
        after the outage every record arrives exactly once."""
        start = self.clock()
        self.sim.set_downtime(start, start + 30 * 60, mode='refuse')
        passages = self.Passage.browse()
        snapshots = self.Status.browse()
        for minute in range(35):
            events = [self._event(self.lane_in, 'out-%d-%d' % (minute, n),
                                  plate='琼B%03d%02d' % (minute, n), minutes=minute, seconds=n * 9)
                      for n in range(3)]
            self.ingest(self.lane_in, *events)
            if minute % 5 == 0:
                snapshots |= self.Status._cron_snapshot(
                    now=datetime.datetime.utcfromtimestamp(self.clock()))
            self._deliver()
            if minute < 30:
                self.assertEqual(self.regulator.state, 'paused', 'minute %d' % minute)
            self.clock.advance(60)
        passages = self.Passage.search([('lane_id', '=', self.lane_in.id)])
        self.assertEqual(len(passages), 105)
        self._deliver()
        self.assertEqual(self.regulator.state, 'ok')
        uploads = self._uploads('env.gate.passage', passages) | \
            self._uploads('env.gate.lane.status', snapshots)
        self.assertEqual(len(uploads), 105 + len(snapshots))
        self.assertEqual(set(uploads.mapped('state')), {'sent'},
                         set(uploads.mapped('message_en')))
        for upload in uploads:
            self.assertEqual(self.sim.stored[upload.record_id], 1, upload.record_id)
        # while down, one record found it down and the rest waited: at most one attempt
        # failed per cron run (30 runs), never one per record
        failed = uploads.mapped('attempt_ids').filtered(lambda a: a.outcome != 'ok')
        self.assertEqual(len(failed), 1)
        self.assertEqual(self.regulator.paused_since, False)


class TestHenanThroughErp(PlatformCase):
    adapter = 'henan_transport_control'
    credentials = {'username': DEMO['username'], 'password': DEMO['password']}

    def test_passages_pictures_and_gate_status(self):
        self.ingest(self.lane_in, self._event(self.lane_in, 'hn-1',
                                              pictures={'front': base64.b64encode(JPEG).decode()}))
        passage = self.Passage.search([('lane_id', '=', self.lane_in.id)])
        self.Status._snapshot(self.lane_in)
        self._deliver()
        upload = self._uploads('env.gate.passage', passage)
        self.assertEqual(upload.state, 'sent', upload.message_en)
        record = self.sim.ops('shareDrivingRecord')[0]
        self.assertEqual((record['cphm'], record['dzbh'], record['qybh'], record['tgzt']),
                         (passage.plate_key, self.lane_in.barrier_no, DEMO['enterprise_code'], '1'))
        self.assertEqual(upload.platform_id, record['lsh'])
        photos = self.sim.ops('sharePhotoInfo')
        self.assertEqual(len(photos), 1)
        self.assertEqual(base64.b64decode(photos[0]['base64Image'].split(',', 1)[1]), JPEG)
        self.assertEqual(len(self.sim.ops('getAccessToken')), 1)
        self.assertIn(self.lane_in.barrier_no, self.sim.gate_status)
        for attempt in self._uploads('env.gate.passage', passage).mapped('attempt_ids'):
            self.assertNotIn(DEMO['password'], attempt.request)

    def test_expired_token_renewed_without_losing_records(self):
        self.sim.token_uses = 2
        self.ingest(self.lane_in, *[self._event(self.lane_in, 'hn-t%d' % n, plate='琼C%05d' % n,
                                                minutes=n) for n in range(5)])
        passages = self.Passage.search([('lane_id', '=', self.lane_in.id)])
        self._deliver()
        uploads = self._uploads('env.gate.passage', passages)
        self.assertEqual(set(uploads.mapped('state')), {'sent'}, uploads.mapped('message_en'))
        self.assertGreater(len(self.sim.tokens_issued), 1)
        self.assertEqual(len(self.sim.ops('shareDrivingRecord')), 5)


class TestSoapThroughErp(PlatformCase):
    adapter = 'soap_deal_command'
    # the key salt is configured as the password (regulator_clients.SoapDealCommandClient)
    credentials = {'password': DEMO['salt']}

    def test_passages_vehicles_and_gate_status(self):
        self.regulator.send_vehicles = True
        self.ingest(self.lane_in, self._event(self.lane_in, 'sp-1'))
        passage = self.Passage.search([('lane_id', '=', self.lane_in.id)])
        # an edit queues the register entry (01W02 needs the registration date)
        self.truck.write({'fleet_name': '改名车队', 'registration_date': '2021-03-04'})
        self.Status._snapshot(self.lane_in)
        self._deliver()
        uploads = self._uploads('env.gate.passage', passage) | \
            self._uploads('env.gate.vehicle', self.truck)
        self.assertEqual(len(uploads), 2)
        self.assertEqual(set(uploads.mapped('state')), {'sent'}, uploads.mapped('message_en'))
        self.assertEqual(self.sim.ops('01W01')[0]['cphm'], passage.plate_key)
        self.assertEqual(self.sim.ops('01W02')[0]['clsbdh'], self.truck.vin)
        self.assertEqual(self.sim.gate_status[self.lane_in.barrier_no]['dzbh'],
                         self.lane_in.barrier_no)
        for attempt in uploads.mapped('attempt_ids'):
            self.assertNotIn(DEMO['salt'], attempt.request)

    def test_wrong_key_is_shown_and_pauses(self):
        self.regulator.password = 'not-the-salt'
        self.ingest(self.lane_in, self._event(self.lane_in, 'sp-2'))
        self._deliver()
        self.assertIn(self.regulator.state, ('auth', 'paused'))
        self.assertTrue(self.regulator.state_message)
        self.assertFalse(self.sim.ops('01W01'))


class TestPlatformVehicleCheck(PlatformCase):
    adapter = 'henan_transport_control'
    credentials = {'username': DEMO['username'], 'password': DEMO['password']}

    def _held(self, plate, event_id):
        self.ingest(self.lane_in, self._event(self.lane_in, event_id, plate=plate))
        return self.Passage.search([('plate_key', '=', plate)])

    def test_unregistered_truck_gets_the_platform_verdict_and_a_proposal(self):
        passage = self._held('琼D12345', 'ck-1')
        self.assertTrue(passage.flag_unregistered)
        self.sim.controls['琼D12345'] = ('1', '国四柴油车，橙色预警期间禁止通行')
        action = passage.action_check_platform()
        self.assertIn('国四柴油车', passage.message_ids[0].body)
        proposal = self.env['env.gate.vehicle.proposal'].browse(action['res_id'])
        self.assertEqual((proposal.source, proposal.regulator_id, proposal.plate),
                         ('platform', self.regulator, '琼D12345'))
        self.assertEqual((proposal.proposed_vin, proposal.proposed_stage, proposal.proposed_fuel),
                         ('LFWSRXSJ0K1A12345', '6', 'B'))
        asked = self.sim.ops('getCheckVehicle')[0]
        self.assertEqual((asked['license'], asked['gateCodeB']), ('琼D12345', self.lane_in.barrier_no))
        # the platform's VIN fails its check digit: kept with a warning, the register refuses it
        self.assertIn('check digit', proposal.warnings)
        with self.assertRaises(ValidationError):
            proposal.action_accept()
        proposal.proposed_vin = 'LFWSRXSJ2K1A12345'     # the clerk read the real plate
        proposal.action_accept()
        vehicle = self.env['env.gate.vehicle'].search([('plate', '=', '琼D12345')])
        self.assertEqual((vehicle.vin, vehicle.emission_stage), ('LFWSRXSJ2K1A12345', '6'))
        self.assertIn('regulator platform', vehicle.message_ids[0].body)

    def test_platform_down_is_a_clear_error_and_nothing_created(self):
        from odoo.exceptions import UserError
        passage = self._held('琼D54321', 'ck-2')
        self.sim.set_downtime(0, 1e12, mode='503')
        with self.assertRaises(UserError):
            passage.action_check_platform()
        self.assertFalse(self.env['env.gate.vehicle.proposal'].search([('plate', '=', '琼D54321')]))

    def test_no_platform_that_checks(self):
        from odoo.exceptions import UserError
        passage = self._held('琼D11111', 'ck-3')
        self.regulator.active = False
        with self.assertRaises(UserError):
            passage.action_check_platform()
