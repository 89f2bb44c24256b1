"""QR scans of 随车清单 become register proposals a clerk accepts or rejects."""
import base64

from odoo.exceptions import AccessError, UserError, ValidationError

from .common import PLATE, GateCase, gatebox

QR_TEXT = ('车辆识别代号：LFWSRXSJ1L1A00012\n车辆型号：CA4250P66K24T1E5\n排放阶段：国六\n'
           '发动机型号：CA6DM3-46E61\n生产企业：中国第一汽车集团有限公司\n'
           '信息公开编号：CN CA G6 00 0001 000001')
# a 1x1 PNG standing in for the photo of the list
PNG = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGAAAAAFAAH'
                       'm4H6cAAAAAElFTkSuQmCC')


class TestVehicleProposal(GateCase):

    @classmethod
    def setUpClass(cls):
        super(TestVehicleProposal, cls).setUpClass()
        Users = cls.env['res.users'].with_context(no_reset_password=True)
        cls.clerk = Users.create({'name': 'clerk', 'login': 't_qr_clerk',
                              'email': 'clerk@example.com', 'groups_id': [
            (6, 0, [cls.env.ref('env_gate_ledger.group_clerk').id])]})
        cls.guard = Users.create({'name': 'guard', 'login': 't_qr_guard',
                              'email': 'guard@example.com', 'groups_id': [
            (6, 0, [cls.env.ref('env_gate_ledger.group_operator').id])]})
        cls.Proposal = cls.env['env.gate.vehicle.proposal']

    def scan(self, event_id, plate=PLATE, text=QR_TEXT, picture=None):
        """A qr event as the gate box sends it (gatebox.box.handle_qr)."""
        event = self._event(self.lane_in, event_id, type='qr', plate=plate, confidence=None,
                            extra={'source': 'qr', 'box': 'test box', 'codes': [{
                                'text': text, 'encoding': 'utf-8',
                                'parsed': gatebox().qr.parse_emission_list(text)}]})
        if picture:
            event['pictures'] = {'list': base64.b64encode(picture).decode('ascii')}
        [result] = self.ingest(self.lane_in, event)
        self.assertEqual(result['status'], 'accepted')
        return self.Proposal.search([('event_id.sender_event_id', '=', event_id)])

    def test_scan_of_a_registered_truck_proposes_its_list(self):
        proposal = self.scan('q1', picture=PNG)
        self.assertEqual(proposal.vehicle_id, self.truck)
        self.assertEqual((proposal.proposed_vin, proposal.proposed_model, proposal.proposed_stage,
                          proposal.proposed_engine_model, proposal.manufacturer),
                         ('LFWSRXSJ1L1A00012', 'CA4250P66K24T1E5', '6', 'CA6DM3-46E61',
                          '中国第一汽车集团有限公司'))
        self.assertEqual(proposal.raw_text, QR_TEXT)
        self.assertEqual(proposal.state, 'proposed')
        self.assertEqual(base64.b64decode(proposal.picture_list), PNG)
        event = proposal.event_id
        attachment = self.env['ir.attachment'].search([('res_model', '=', 'env.gate.event'),
                                                       ('res_id', '=', event.id)])
        self.assertEqual(base64.b64decode(attachment.datas), PNG)

    def test_accept_writes_the_register(self):
        proposal = self.scan('q2', picture=PNG).sudo(self.clerk)
        proposal.write({'proposed_fuel': 'E'})
        proposal.action_accept()
        self.assertEqual(proposal.state, 'accepted')
        self.assertEqual(proposal.decided_by, self.clerk)
        self.assertEqual((self.truck.vin, self.truck.brand_model, self.truck.emission_stage,
                          self.truck.fuel_type, self.truck.engine_model),
                         ('LFWSRXSJ1L1A00012', 'CA4250P66K24T1E5', '6', 'E', 'CA6DM3-46E61'))
        self.assertEqual(base64.b64decode(self.truck.picture_list), PNG)
        with self.assertRaises(UserError):
            proposal.action_accept()

    def test_accept_creates_an_unknown_vehicle(self):
        proposal = self.scan('q3', plate='琼A2N222')
        self.assertFalse(proposal.vehicle_id)
        proposal.sudo(self.clerk).action_accept()
        vehicle = self.Vehicle.search([('plate', '=', '琼A2N222')])
        self.assertEqual(proposal.vehicle_id, vehicle)
        self.assertEqual((vehicle.vin, vehicle.emission_stage, vehicle.category),
                         ('LFWSRXSJ1L1A00012', '6', 'transport'))

    def test_reject_leaves_the_register_alone(self):
        proposal = self.scan('q4')
        with self.assertRaises(AccessError):
            proposal.sudo(self.guard).action_reject()
        proposal.sudo(self.clerk).action_reject()
        self.assertEqual(proposal.state, 'rejected')
        self.assertEqual((self.truck.vin, self.truck.emission_stage), ('LSVAU218XN2183294', '6'))
        with self.assertRaises(UserError):
            proposal.sudo(self.clerk).action_accept()

    def test_a_bad_vin_is_flagged_and_cannot_be_accepted_as_it_is(self):
        proposal = self.scan('q5', plate='琼A2N223', text='VIN:LFWSRXSJ2L1A00012\n排放阶段:国五')
        self.assertEqual((proposal.proposed_vin, proposal.proposed_stage),
                         ('LFWSRXSJ2L1A00012', '5'))
        self.assertIn('LFWSRXSJ2L1A00012', proposal.warnings)
        with self.assertRaises(ValidationError):
            proposal.sudo(self.clerk).action_accept()
        self.assertEqual(proposal.state, 'proposed')

    def test_scan_without_plate_needs_one_to_create(self):
        proposal = self.scan('q6', plate=None)
        self.assertFalse(proposal.plate)
        with self.assertRaises(UserError):
            proposal.sudo(self.clerk).action_accept()
