from odoo.exceptions import AccessError

from .common import GateCase


class TestAccess(GateCase):

    @classmethod
    def setUpClass(cls):
        super(TestAccess, cls).setUpClass()
        Users = cls.env['res.users'].with_context(no_reset_password=True)

        def user(login, group):
            return Users.create({'name': login, 'login': login, 'groups_id': [
                (6, 0, [cls.env.ref('env_gate_ledger.%s' % group).id])]})
        cls.operator = user('t_operator', 'group_operator')
        cls.clerk = user('t_clerk', 'group_clerk')
        cls.auditor = user('t_auditor', 'group_auditor')
        result = cls.env['env.gate.event']._ingest(cls.lane_in, [cls._event(cls.lane_in, 'acc1')])
        cls.passage = cls.env['env.gate.passage'].search([('name', '=', result[0]['passage'])])

    def test_operator_cannot_delete_a_passage(self):
        with self.assertRaises(AccessError):
            self.passage.sudo(self.operator).unlink()

    def test_operator_can_read_and_correct(self):
        self.assertEqual(self.passage.sudo(self.operator).plate_key, self.passage.plate_key)
        self.env['env.gate.correction'].sudo(self.operator).create({
            'passage_id': self.passage.id, 'kind': 'confirm', 'reason': '已核对'})
        self.assertTrue(self.passage.reviewed)

    def test_auditor_reads_but_cannot_write(self):
        as_auditor = self.passage.sudo(self.auditor)
        self.assertTrue(as_auditor.name)
        with self.assertRaises(AccessError):
            as_auditor.write({'quantity': 1})
        with self.assertRaises(AccessError):
            self.truck.sudo(self.auditor).write({'fleet_name': 'x'})
        with self.assertRaises(AccessError):
            self.env['env.gate.correction'].sudo(self.auditor).create({
                'passage_id': self.passage.id, 'kind': 'confirm', 'reason': 'x'})

    def test_clerk_keeps_the_register_operator_does_not(self):
        self.truck.sudo(self.clerk).write({'fleet_name': '新车队'})
        self.assertEqual(self.truck.fleet_name, '新车队')
        with self.assertRaises(AccessError):
            self.truck.sudo(self.operator).write({'fleet_name': 'x'})

    def test_other_company_sees_nothing(self):
        other = self.env['res.company'].create({'name': 'Other Plant'})
        outsider = self.env['res.users'].with_context(no_reset_password=True).create({
            'name': 'outsider', 'login': 't_outsider', 'company_id': other.id,
            'company_ids': [(6, 0, [other.id])],
            'groups_id': [(6, 0, [self.env.ref('env_gate_ledger.group_manager').id])]})
        Passage = self.env['env.gate.passage'].sudo(outsider)
        self.assertFalse(Passage.search([('id', '=', self.passage.id)]))
        self.assertFalse(self.env['env.gate.vehicle'].sudo(outsider).search(
            [('id', '=', self.truck.id)]))
