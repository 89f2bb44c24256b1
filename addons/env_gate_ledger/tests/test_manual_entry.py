from odoo import fields
from odoo.exceptions import UserError, ValidationError

from .common import GateCase, PLATE


class TestManualEntry(GateCase):

    def _wizard(self, **vals):
        data = {'lane_id': self.lane_in.id, 'direction': '1', 'pass_time': '2026-01-04 02:00:00',
                'plate': PLATE, 'reason_kind': 'paper', 'reason': '停电期间纸质台账补录'}
        data.update(vals)
        return self.env['env.gate.manual.entry'].create(data)

    def test_records_who_when_why(self):
        action = self._wizard().action_record()
        passage = self.Passage.browse(action['res_id'])
        self.assertEqual(passage.source, 'manual')
        self.assertEqual(passage.manual_user_id, self.env.user)
        self.assertEqual(passage.manual_reason_kind, 'paper')
        self.assertEqual(passage.manual_reason, '停电期间纸质台账补录')
        self.assertEqual(passage.pass_time, '2026-01-04 02:00:00')
        self.assertEqual(passage.vehicle_id, self.truck)
        self.assertEqual(passage.lift_mode, '1')
        self.assertTrue(passage.chain_hash)

    def test_unreadable_plate_allowed_only_with_that_reason(self):
        with self.assertRaises(UserError):
            self._wizard(plate=False).action_record()
        action = self._wizard(plate=False, reason_kind='unreadable').action_record()
        passage = self.Passage.browse(action['res_id'])
        self.assertTrue(passage.flag_unreadable)
        self.assertTrue(passage.needs_review)

    def test_bad_plate_and_future_time_refused(self):
        with self.assertRaises(ValidationError):
            self._wizard(plate='琼12345').action_record()
        future = fields.Datetime.to_string(
            fields.Datetime.from_string(fields.Datetime.now()).replace(year=2099))
        with self.assertRaises(UserError):
            self._wizard(pass_time=future).action_record()

    def test_manual_exit_closes_device_entry(self):
        entry = self.ingest(self.lane_in, self._event(self.lane_in, 'm1'))
        entry = self.Passage.search([('name', '=', entry[0]['passage'])])
        action = self._wizard(lane_id=self.lane_out.id, direction='2',
                              pass_time='2026-01-05 03:00:00', reason_kind='outage').action_record()
        self.assertEqual(entry.exit_id.id, action['res_id'])
