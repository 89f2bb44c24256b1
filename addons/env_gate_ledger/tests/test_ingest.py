import base64
import datetime
import json

from .common import GateCase, PLATE, PLATE_2

# A real 1x1 JPEG.
JPEG = base64.b64decode(
    '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////'
    '////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/a'
    'AAgBAQABPxA=')


class TestIngest(GateCase):

    def test_entry_then_exit_pairs(self):
        result = self.ingest(self.lane_in, self._event(self.lane_in, 'a1'))
        self.assertEqual(result[0]['status'], 'accepted')
        entry = self.Passage.search([('name', '=', result[0]['passage'])])
        self.assertEqual(entry.direction, '1')
        self.assertEqual(entry.vehicle_id, self.truck)
        self.assertEqual(entry.emission_stage, '6')
        self.assertEqual(entry.pair_state, 'on_site')
        self.assertFalse(entry.needs_review)
        result = self.ingest(self.lane_out, self._event(self.lane_out, 'b1', minutes=90))
        exit_ = self.Passage.search([('name', '=', result[0]['passage'])])
        self.assertEqual(exit_.entry_id, entry)
        self.assertEqual(entry.exit_id, exit_)
        self.assertEqual(entry.pair_state, 'left')
        self.assertEqual(exit_.pair_state, 'paired')

    def test_refused_and_voided_entries_never_wait_for_an_exit(self):
        """A truck the barrier turned away never came in, and a false trigger a guard voided
        was no truck: neither is on site, and a later exit does not pair with them."""
        refused = self.ingest(self.lane_in, self._event(self.lane_in, 'r1', decision='refuse',
                                                        reason='blacklist'))
        refused = self.Passage.search([('name', '=', refused[0]['passage'])])
        self.assertEqual(refused.pair_state, 'refused')
        false_trigger = self.ingest(self.lane_in, self._event(self.lane_in, 'v1', plate=PLATE_2,
                                                              minutes=5))
        false_trigger = self.Passage.search([('name', '=', false_trigger[0]['passage'])])
        self.env['env.gate.correction'].create({'passage_id': false_trigger.id, 'kind': 'void',
                                                'reason': 'a cyclist triggered the camera'})
        self.assertEqual(false_trigger.pair_state, 'voided')
        result = self.ingest(self.lane_out, self._event(self.lane_out, 'x1', minutes=30))
        exit_ = self.Passage.search([('name', '=', result[0]['passage'])])
        self.assertFalse(exit_.entry_id)
        self.assertTrue(exit_.flag_no_entry)
        self.assertEqual(refused.pair_state, 'refused')

    def test_on_site_counts_recent_admitted_entries_only(self):
        self.ingest(self.lane_in, self._event(self.lane_in, 'o1'),
                    self._event(self.lane_in, 'o2', plate=PLATE_2, minutes=-60 * 49))
        recent, stale = self.Passage.search([('lane_id', '=', self.lane_in.id)],
                                            order='pass_time desc')
        self.assertEqual((recent.pair_state, stale.pair_state), ('on_site', 'on_site'))
        now = self.t0.astimezone(datetime.timezone.utc).replace(tzinfo=None) \
            + datetime.timedelta(hours=1)
        on_site = self.Passage.search(self.Passage._on_site_domain(now=now)
                                      + [('lane_id', '=', self.lane_in.id)])
        self.assertEqual(on_site, recent)
        action = self.Passage.action_on_site()
        self.assertEqual(action['res_model'], 'env.gate.passage')
        self.assertIn(('pair_state', '=', 'on_site'), action['domain'])

    def test_exit_closes_latest_open_entry(self):
        self.ingest(self.lane_in, self._event(self.lane_in, 'a1'),
                    self._event(self.lane_in, 'a2', minutes=30))
        result = self.ingest(self.lane_out, self._event(self.lane_out, 'b1', minutes=60))
        exit_ = self.Passage.search([('name', '=', result[0]['passage'])])
        self.assertEqual(fields_time(exit_.entry_id), fields_time_of(self, 30))

    def test_resent_event_is_duplicate_never_stored_twice(self):
        event = self._event(self.lane_in, 'dup-1')
        first = self.ingest(self.lane_in, event)
        again = self.ingest(self.lane_in, event, dict(event))
        self.assertEqual(first[0]['status'], 'accepted')
        self.assertEqual([r['status'] for r in again], ['duplicate', 'duplicate'])
        self.assertEqual(again[0]['passage'], first[0]['passage'])
        self.assertEqual(self.Event.search_count([('sender_event_id', '=', 'dup-1')]), 1)

    def test_same_plate_within_window_is_one_passage(self):
        results = self.ingest(self.lane_in, self._event(self.lane_in, 'w1'),
                              self._event(self.lane_in, 'w2', seconds=20),
                              self._event(self.lane_in, 'w3', seconds=59))
        self.assertEqual(len({r['passage'] for r in results}), 1)
        passage = self.Passage.search([('name', '=', results[0]['passage'])])
        self.assertEqual(len(passage.event_ids), 3)
        self.assertEqual(sorted(passage.event_ids.mapped('outcome')), ['passage', 'repeat', 'repeat'])

    def test_same_second_in_another_batch_gets_the_next_serial(self):
        """Serials are barrier + second; a read with a fraction of a second must still see
        the serial stored (to the whole second) by an earlier batch."""
        first = self.ingest(self.lane_in, self._event(self.lane_in, 's1'))
        time = (self.t0.replace(microsecond=600000)).isoformat()
        second = self.ingest(self.lane_in, dict(self._event(self.lane_in, 's2', plate=PLATE_2),
                                                time=time))
        self.assertEqual(second[0]['status'], 'accepted')
        self.assertEqual(second[0]['passage'], first[0]['passage'] + '-2')

    def test_outside_window_is_a_new_passage(self):
        self.env['ir.config_parameter'].sudo().set_param('env_gate.dedup_window', '30')
        results = self.ingest(self.lane_in, self._event(self.lane_in, 'w1'),
                              self._event(self.lane_in, 'w2', seconds=45))
        self.assertNotEqual(results[0]['passage'], results[1]['passage'])

    def test_flags_for_a_person(self):
        results = self.ingest(
            self.lane_in,
            self._event(self.lane_in, 'f1', plate=PLATE_2),                  # unregistered
            self._event(self.lane_in, 'f2', plate=PLATE, minutes=5, confidence=60),
            self._event(self.lane_in, 'f3', plate='', minutes=10, unreadable=True),
        )
        unregistered, low, unreadable = [
            self.Passage.search([('name', '=', r['passage'])]) for r in results]
        self.assertTrue(unregistered.flag_unregistered and unregistered.needs_review)
        self.assertTrue(low.flag_low_confidence and low.needs_review)
        self.assertFalse(low.flag_unregistered)
        self.assertTrue(unreadable.flag_unreadable)
        self.assertEqual(unreadable.decision, '4')
        orphan = self.ingest(self.lane_out, self._event(self.lane_out, 'f4', plate=PLATE_2, minutes=1))
        orphan = self.Passage.search([('name', '=', orphan[0]['passage'])])
        self.assertFalse(orphan.flag_no_entry)  # the unregistered entry above is its entry
        lone = self.ingest(self.lane_out, self._event(self.lane_out, 'f5', plate='琼B99999'))
        lone = self.Passage.search([('name', '=', lone[0]['passage'])])
        self.assertTrue(lone.flag_no_entry)
        self.assertEqual(lone.pair_state, 'unpaired')

    def test_rejections_have_reasons_and_do_not_stop_the_batch(self):
        results = self.ingest(
            self.lane_in,
            {'event_id': 'r1', 'type': 'plate', 'lane': 'T-IN'},                      # no time
            self._event(self.lane_in, 'r2', time='yesterday'),                       # bad time
            self._event(self.lane_out, 'r3'),                                        # other lane
            self._event(self.lane_in, 'r4', pictures={'front': 'not base64!!'}),
            'not an object',
            self._event(self.lane_in, 'r5'),
        )
        self.assertEqual([r['status'] for r in results],
                         ['rejected'] * 5 + ['accepted'])
        for result in results[:5]:
            self.assertTrue(result['reason'])
        self.assertIn('T-OUT', results[2]['reason'])
        self.assertFalse(self.Event.search([('sender_event_id', 'in', ['r1', 'r2', 'r3', 'r4'])]))

    def test_two_way_lane_needs_direction(self):
        results = self.ingest(self.lane_both, self._event(self.lane_both, 'd1'),
                              self._event(self.lane_both, 'd2', plate=PLATE_2, direction='out'))
        self.assertEqual(results[0]['status'], 'rejected')
        self.assertIn('direction', results[0]['reason'])
        self.assertEqual(results[1]['status'], 'accepted')

    def test_pictures_become_attachments_and_raw_payload_keeps_digest(self):
        event = self._event(self.lane_in, 'p1', pictures={'front': base64.b64encode(JPEG).decode()})
        result = self.ingest(self.lane_in, event)
        passage = self.Passage.search([('name', '=', result[0]['passage'])])
        self.assertEqual(base64.b64decode(passage.picture_front), JPEG)
        stored = self.Event.search([('sender_event_id', '=', 'p1')])
        payload = json.loads(stored.payload)
        self.assertEqual(payload['plate'], PLATE)
        self.assertEqual(payload['pictures']['front']['bytes'], len(JPEG))
        self.assertEqual(len(payload['pictures']['front']['sha256']), 64)
        self.assertIn(payload['pictures']['front']['sha256'], passage.picture_digests)
        repeat = self._event(self.lane_in, 'p2', seconds=5,
                             pictures={'body': base64.b64encode(JPEG).decode()})
        self.ingest(self.lane_in, repeat)
        stored = self.Event.search([('sender_event_id', '=', 'p2')])
        self.assertEqual(stored.outcome, 'repeat')
        attachment = self.env['ir.attachment'].search(
            [('res_model', '=', 'env.gate.event'), ('res_id', '=', stored.id)])
        self.assertEqual(base64.b64decode(attachment.datas), JPEG)

    def test_other_event_types_are_kept(self):
        result = self.ingest(self.lane_in, {
            'event_id': 'h1', 'type': 'heartbeat', 'lane': 'T-IN',
            'time': self.t0.isoformat()})
        self.assertEqual(result[0]['status'], 'accepted')
        self.assertEqual(self.Event.search([('sender_event_id', '=', 'h1')]).outcome, 'stored')

    def test_decision_from_the_gate_box_is_kept(self):
        result = self.ingest(self.lane_in, self._event(
            self.lane_in, 'x1', decision='refuse', reason='国三柴油车 橙色预警禁行'))
        passage = self.Passage.search([('name', '=', result[0]['passage'])])
        self.assertEqual(passage.decision, '2')
        self.assertEqual(passage.reason, '国三柴油车 橙色预警禁行')


def fields_time(passage):
    return passage.pass_time


def fields_time_of(case, minutes):
    import datetime
    when = case.t0 + datetime.timedelta(minutes=minutes)
    return when.astimezone(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S')
