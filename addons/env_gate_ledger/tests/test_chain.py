from odoo.exceptions import UserError

from .common import GateCase, PLATE_2


class TestChain(GateCase):

    def _passages(self, n):
        events = [self._event(self.lane_in, 'c%d' % i, minutes=10 * i) for i in range(n)]
        results = self.ingest(self.lane_in, *events)
        return self.Passage.search([('name', 'in', [r['passage'] for r in results])], order='id')

    def _verify(self, ledger='env.gate.passage'):
        wizard = self.env['env.gate.verify'].create({'ledger': ledger})
        wizard.action_verify()
        return wizard

    def test_records_are_chained(self):
        passages = self._passages(3)
        for prev, current in zip(passages, passages[1:]):
            self.assertEqual(current.chain_prev, prev.chain_hash)
            self.assertEqual(current.chain_seq, prev.chain_seq + 1)
        self.assertEqual(self._verify().state, 'ok')
        self.assertEqual(self._verify('env.gate.event').state, 'ok')

    def test_sealed_fields_cannot_be_edited_or_deleted(self):
        passage = self._passages(1)
        with self.assertRaises(UserError):
            passage.write({'plate_key': '琼A00000'})
        with self.assertRaises(UserError):
            passage.unlink()
        event = passage.event_ids
        with self.assertRaises(UserError):
            event.write({'payload': '{}'})
        with self.assertRaises(UserError):
            event.unlink()

    def test_tampering_in_the_database_names_the_first_broken_record(self):
        passages = self._passages(4)
        victim = passages[1]
        self.env.cr.execute("UPDATE env_gate_passage SET plate_key = %s WHERE id = %s",
                            ('琼A00000', victim.id))
        self.env.cr.execute("UPDATE env_gate_passage SET plate_key = %s WHERE id = %s",
                            ('琼A11111', passages[3].id))
        self.env['env.gate.passage'].invalidate_cache()
        self.env['env.gate.event'].invalidate_cache()
        wizard = self._verify()
        self.assertEqual(wizard.state, 'broken')
        self.assertEqual(wizard.broken_res_id, victim.id)
        self.assertIn(victim.name, wizard.result)

    def test_deleted_record_in_the_database_breaks_the_chain(self):
        events = self._passages(3).mapped('event_ids').sorted('id')
        self.env.cr.execute("DELETE FROM env_gate_event WHERE id = %s", (events[1].id,))
        self.env['env.gate.passage'].invalidate_cache()
        self.env['env.gate.event'].invalidate_cache()
        wizard = self._verify('env.gate.event')
        self.assertEqual(wizard.state, 'broken')
        self.assertEqual(wizard.broken_res_id, events[2].id)

    def test_correction_changes_derived_state_and_keeps_the_read(self):
        result = self.ingest(self.lane_in, self._event(self.lane_in, 'k1', plate=PLATE_2))
        passage = self.Passage.search([('name', '=', result[0]['passage'])])
        self.assertTrue(passage.needs_review)
        Correction = self.env['env.gate.correction']
        with self.assertRaises(UserError):
            Correction.create({'passage_id': passage.id, 'kind': 'plate', 'reason': 'x'})
        correction = Correction.create({'passage_id': passage.id, 'kind': 'plate',
                                        'new_plate': '琼a5t123', 'reason': '门卫核对行驶证'})
        self.assertEqual(correction.old_plate, PLATE_2)
        self.assertEqual(correction.user_id, self.env.user)
        self.assertEqual(passage.corrected_plate, '琼A5T123')
        self.assertEqual(passage.plate_key, PLATE_2)          # the read itself is kept
        self.assertEqual(passage.vehicle_id, self.truck)
        self.assertFalse(passage.needs_review)
        with self.assertRaises(UserError):
            correction.write({'reason': 'changed my mind'})
        self.assertEqual(self._verify('env.gate.correction').state, 'ok')
        self.assertEqual(self._verify().state, 'ok')
