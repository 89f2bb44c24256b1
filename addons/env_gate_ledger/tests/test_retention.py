import base64
import datetime

from odoo import fields
from odoo.exceptions import UserError, ValidationError

from .common import CST, GateCase, PLATE, PLATE_2
from .test_ingest import JPEG

CHECK_LOGGER = 'odoo.addons.env_gate_ledger.models.env_gate_chain_check'
PURGE_LOGGER = 'odoo.addons.env_gate_ledger.models.env_gate_purge_log'
OLD = datetime.datetime(2023, 6, 1, 8, 0, tzinfo=CST)       # 31 months before NOW
NEW = datetime.datetime(2025, 12, 1, 8, 0, tzinfo=CST)
NOW = '2026-01-10 00:00:00'                                 # ledger cut-off 2024-01-10


class TestRetention(GateCase):
    """A plant of its own, so its chains hold only what each test writes."""

    @classmethod
    def setUpClass(cls):
        super(TestRetention, cls).setUpClass()
        cls.company = cls.env['res.company'].create({'name': 'Retention Test Plant'})
        gate = cls.env['env.gate.gate'].create({'name': 'R Gate', 'code': 'R9',
                                                'company_id': cls.company.id})
        Lane = cls.env['env.gate.lane']
        cls.r_in = Lane.create({'name': 'R in', 'code': 'R-IN', 'gate_id': gate.id,
                                'barrier_no': 'R901', 'direction': '1'})
        cls.r_out = Lane.create({'name': 'R out', 'code': 'R-OUT', 'gate_id': gate.id,
                                 'barrier_no': 'R902', 'direction': '2'})
        cls.manager = cls.env['res.users'].with_context(no_reset_password=True).create({
            'name': 'Retention Manager', 'login': 'retention_manager',
            'company_id': cls.company.id, 'company_ids': [(6, 0, [cls.company.id])],
            'groups_id': [(6, 0, [cls.env.ref('env_gate_ledger.group_manager').id])]})
        cls.Check = cls.env['env.gate.chain.check']
        cls.Purge = cls.env['env.gate.purge.log']

    def _pass(self, lane, event_id, when, plate=PLATE, **extra):
        """One plate read at `when` (aware datetime); returns its passage."""
        event = {'event_id': event_id, 'type': 'plate', 'lane': lane.code,
                 'time': when.isoformat(), 'plate': plate, 'plate_color': '1',
                 'confidence': 93.7}
        event.update(extra)
        result = self.ingest(lane, event)
        self.assertEqual(result[0]['status'], 'accepted', result)
        return self.Passage.search([('name', '=', result[0]['passage'])])

    def _check(self, model='env.gate.passage'):
        return self.Check._verify(model, self.company)

    def _sql(self, query, *params):
        self.env.cr.execute(query, params)
        self.env['env.gate.passage'].invalidate_cache()

    # ---- verification ----------------------------------------------------------------

    def test_sql_verification_agrees_with_the_orm_values(self):
        """Every kind of sealed value (dates, floats, many2one, selections, booleans,
        NULLs, texts, a create_date with microseconds) reads back from SQL as the ORM
        sealed it."""
        entry = self._pass(self.r_in, 'a1', OLD)
        self._pass(self.r_out, 'a2', OLD + datetime.timedelta(hours=2))
        self._pass(self.r_in, 'a3', OLD + datetime.timedelta(hours=3), plate=PLATE_2,
                   confidence=61.25)
        self._pass(self.r_in, 'a4', OLD + datetime.timedelta(hours=4), plate=None,
                   unreadable=True)
        cargo = self.env['env.gate.cargo'].create({'code': 'RT', 'name': '测试货物'})
        self.env['env.gate.correction'].create({
            'passage_id': entry.id, 'kind': 'cargo', 'new_cargo_id': cargo.id,
            'new_quantity': 31.25, 'reason': '过磅单补录'})
        self.env['env.gate.correction'].create({
            'passage_id': entry.id, 'kind': 'plate', 'new_plate': '琼a7k456',
            'reason': '门卫核对'})
        self.env['env.gate.passage'].invalidate_cache()
        for model, count in (('env.gate.passage', 4), ('env.gate.event', 4),
                             ('env.gate.correction', 2)):
            check = self._check(model)
            self.assertTrue(check.ok, check.message)
            self.assertEqual(check.checked, count)
            Model = self.env[model]
            for record in Model.search([('company_id', '=', self.company.id)]):
                self.env.cr.execute('SELECT %s FROM "%s" WHERE id = %%s' % (
                    ', '.join('"%s"' % name for name in Model._chain_fields), Model._table),
                    (record.id,))
                row = self.env.cr.fetchone()
                from_sql = {name: Model._chain_sql_converter(name)(value)
                            for name, value in zip(Model._chain_fields, row)}
                from_orm = {name: value if not isinstance(value, float) else round(value, 6)
                            for name, value in record._chain_payload().items()}
                self.assertEqual(from_sql, from_orm)

    def _three(self):
        return [self._pass(self.r_in, 'v%d' % n, NEW + datetime.timedelta(hours=n),
                           plate=plate) for n, plate in enumerate((PLATE, PLATE_2, '琼B12345'))]

    def test_update_of_a_sealed_column_is_reported(self):
        first, second, third = self._three()
        self.assertTrue(self._check().ok)
        self._sql('UPDATE env_gate_passage SET confidence = 99 WHERE id = %s', second.id)
        check = self._check()
        self.assertFalse(check.ok)
        self.assertEqual((check.broken_res_id, check.broken_seq, check.reason),
                         (second.id, second.chain_seq, 'chain.content'))
        self.assertIn('env.gate.passage', check.message)
        self.assertIn(second.name, check.message)

    def test_deleted_row_is_reported_at_the_next_record(self):
        first, second, third = self._three()
        self._sql('DELETE FROM env_gate_event WHERE passage_id = %s', second.id)
        self._sql('DELETE FROM env_gate_passage WHERE id = %s', second.id)
        check = self._check()
        self.assertEqual((check.ok, check.broken_res_id, check.broken_seq, check.reason),
                         (False, third.id, third.chain_seq, 'chain.link'))

    def test_swapped_order_is_reported(self):
        first, second, third = self._three()
        seq2, seq3 = second.chain_seq, third.chain_seq
        self._sql('UPDATE env_gate_passage SET chain_seq = -chain_seq WHERE id IN %s',
                  (second.id, third.id))
        self._sql('UPDATE env_gate_passage SET chain_seq = %s WHERE id = %s', seq3, second.id)
        self._sql('UPDATE env_gate_passage SET chain_seq = %s WHERE id = %s', seq2, third.id)
        check = self._check()
        self.assertEqual((check.ok, check.broken_res_id, check.broken_seq, check.reason),
                         (False, third.id, seq2, 'chain.link'))

    def test_row_inserted_without_a_chain_position_is_reported(self):
        first = self._three()[0]
        self._sql("INSERT INTO env_gate_passage (name, lane_id, direction, pass_time, source, "
                  "decision, company_id) SELECT name || 'X', lane_id, direction, pass_time, "
                  "source, decision, company_id FROM env_gate_passage WHERE id = %s", first.id)
        check = self._check()
        self.assertEqual((check.ok, check.reason), (False, 'chain.unsealed'))

    def test_daily_job_checks_every_ledger_and_tells_the_managers(self):
        first, second, third = self._three()
        self._sql('UPDATE env_gate_event SET payload = %s WHERE passage_id = %s', '{}', third.id)
        with self.assertLogs(CHECK_LOGGER, 'ERROR') as logged:
            checks = self.Check._cron_verify_all()
        mine = checks.filtered(lambda c: c.company_id == self.company)
        self.assertEqual(sorted(mine.mapped('model')),
                         ['env.gate.correction', 'env.gate.event', 'env.gate.passage'])
        broken = mine.filtered(lambda c: not c.ok)
        self.assertEqual(broken.model, 'env.gate.event')
        self.assertEqual(broken.broken_res_id, third.event_ids.id)
        self.assertIn('env.gate.event', logged.output[0])
        activity = self.env['mail.activity'].search([
            ('res_model', '=', 'env.gate.chain.check'), ('res_id', '=', broken.id)])
        self.assertEqual(activity.user_id, self.manager)
        self.assertTrue(all(c.ok for c in checks - broken))

    def test_wizard_uses_the_same_check(self):
        second = self._three()[1]
        self._sql('UPDATE env_gate_passage SET plate_raw = %s WHERE id = %s', 'X', second.id)
        wizard = self.env['env.gate.verify'].create({'ledger': 'env.gate.passage',
                                                     'company_id': self.company.id})
        wizard.action_verify()
        self.assertEqual((wizard.state, wizard.broken_res_id), ('broken', second.id))
        self.assertEqual(self.Check.search([], limit=1).broken_res_id, second.id)

    # ---- retention -------------------------------------------------------------------

    def test_settings_refuse_less_than_the_regulation(self):
        with self.assertRaises(ValidationError):
            self.company.write({'env_gate_ledger_months': 23})
        with self.assertRaises(ValidationError):
            self.company.write({'env_gate_picture_months': 11})
        with self.assertRaises(ValidationError):
            self.env['res.config.settings'].create({'env_gate_ledger_months': 12}).execute()
        self.company.write({'env_gate_ledger_months': 36, 'env_gate_picture_months': 18})
        self.assertEqual(self.company.env_gate_ledger_months, 36)

    def _ids(self, model):
        return set(self.env[model].search([('company_id', '=', self.company.id)]).ids)

    def test_purge_removes_only_what_is_older_than_the_cutoff(self):
        cutoff = datetime.datetime(2024, 1, 10, 8, 0, tzinfo=CST)    # 00:00 UTC
        old = [self._pass(self.r_in, 'o1', OLD),
               self._pass(self.r_out, 'o2', OLD + datetime.timedelta(hours=1)),
               self._pass(self.r_in, 'o3', cutoff - datetime.timedelta(minutes=1),
                          plate=PLATE_2)]
        new = [self._pass(self.r_in, 'n1', cutoff + datetime.timedelta(minutes=1)),
               self._pass(self.r_in, 'n2', NEW, plate=PLATE_2)]
        # typed in late with an old time, after newer records: removing it would leave a hole
        late = self._pass(self.r_out, 'n3', OLD + datetime.timedelta(hours=5), plate='琼C11111')
        new_events = set(self.Event.search([('passage_id', 'in', [p.id for p in new + [late]])]).ids)
        kept = {p.id for p in new + [late]}
        self.assertEqual(old[1].entry_id, old[0])
        last_old = old[2].chain_seq
        log = self.Purge._purge(self.company, now=NOW)
        self.assertEqual(log.ledger_cutoff, '2024-01-10 00:00:00')
        self.assertEqual((log.passages, log.events), (3, 3))
        self.assertEqual(self._ids('env.gate.passage'), kept)
        self.assertEqual(self._ids('env.gate.event'), new_events)
        anchor = self.env['env.gate.chain.anchor'].search([
            ('company_id', '=', self.company.id), ('model', '=', 'env.gate.passage')])
        self.assertEqual((anchor.chain_seq, anchor.chain_hash, anchor.count),
                         (last_old, new[0].chain_prev, 3))
        check = self._check()
        self.assertTrue(check.ok, check.message)
        self.assertEqual((check.checked, check.start_seq), (3, last_old))
        self.assertTrue(self._check('env.gate.event').ok)
        # the next purge on the same day finds nothing more to remove
        again = self.Purge._purge(self.company, now=NOW)
        self.assertEqual((again.passages, again.events), (0, 0))
        self.assertEqual(self._ids('env.gate.passage'), kept)

    def test_tampering_after_a_purge_is_still_detected(self):
        self._pass(self.r_in, 't1', OLD)
        first, second = self._pass(self.r_in, 't2', NEW), self._pass(self.r_in, 't3', NEW,
                                                                      plate=PLATE_2)
        self.Purge._purge(self.company, now=NOW)
        self.assertTrue(self._check().ok)
        self._sql('UPDATE env_gate_passage SET plate_key = %s WHERE id = %s', '琼A00000',
                  second.id)
        self.assertEqual(self._check().broken_res_id, second.id)
        self._sql('UPDATE env_gate_passage SET plate_key = %s WHERE id = %s', PLATE_2,
                  second.id)
        self.assertTrue(self._check().ok)
        # the first remaining record removed too: it no longer follows the anchor
        self._sql('DELETE FROM env_gate_event WHERE passage_id = %s', first.id)
        self._sql('DELETE FROM env_gate_passage WHERE id = %s', first.id)
        check = self._check()
        self.assertEqual((check.ok, check.broken_res_id, check.reason),
                         (False, second.id, 'chain.link'))

    def test_what_remaining_records_need_stays(self):
        entry = self._pass(self.r_in, 'k1', OLD)
        lone = self._pass(self.r_in, 'k0', OLD + datetime.timedelta(minutes=30), plate=PLATE_2)
        exit_ = self._pass(self.r_out, 'k2', NEW)          # seals entry_id = entry
        self.assertEqual(exit_.entry_id, entry)
        log = self.Purge._purge(self.company, now=NOW)
        self.assertEqual(log.passages, 0)
        self.assertTrue(lone.exists() and entry.exists())
        self.assertTrue(self._check().ok)
        # a correction made today of an old passage keeps that passage too
        other = self.env['res.company'].create({'name': 'Retention Plant 2'})
        gate = self.env['env.gate.gate'].create({'name': 'R2', 'code': 'R8',
                                                 'company_id': other.id})
        lane = self.env['env.gate.lane'].create({'name': 'R2 in', 'code': 'R2-IN',
                                                 'gate_id': gate.id, 'barrier_no': 'R801',
                                                 'direction': '1'})
        corrected = self._pass(lane, 'c1', OLD)
        self.env['env.gate.correction'].create({'passage_id': corrected.id, 'kind': 'confirm',
                                                'reason': '核对无误'})
        log = self.Purge._purge(other, now=NOW)
        self.assertEqual((log.passages, log.corrections), (0, 0))
        self.assertTrue(corrected.exists())

    def test_everything_old_goes_and_the_chain_goes_on_from_the_anchor(self):
        passage = self._pass(self.r_in, 'e1', OLD)
        correction = self.env['env.gate.correction'].create({
            'passage_id': passage.id, 'kind': 'confirm', 'reason': '核对无误'})
        far = fields.Datetime.from_string(correction.create_date) + datetime.timedelta(
            days=25 * 31)
        log = self.Purge._purge(self.company, now=far)
        self.assertEqual((log.passages, log.events, log.corrections), (1, 1, 1))
        self.assertFalse(passage.exists() or correction.exists())
        self.assertEqual(len(log.anchor_ids), 3)
        later = self._pass(self.r_in, 'e2', NEW)
        anchor = log.anchor_ids.filtered(lambda a: a.model == 'env.gate.passage')
        self.assertEqual((later.chain_seq, later.chain_prev),
                         (anchor.chain_seq + 1, anchor.chain_hash))
        for model in ('env.gate.passage', 'env.gate.event', 'env.gate.correction'):
            self.assertTrue(self._check(model).ok, model)
        with self.assertRaises(UserError):
            log.anchor_ids[0].unlink()

    def test_pictures_go_after_their_own_period_and_the_chain_stays_valid(self):
        picture = {'front': base64.b64encode(JPEG).decode()}
        aged = self._pass(self.r_in, 'p1', datetime.datetime(2024, 6, 1, 8, 0, tzinfo=CST),
                          pictures=picture)
        fresh = self._pass(self.r_in, 'p2', NEW, plate=PLATE_2, pictures=picture)
        digests = aged.picture_digests
        Attachment = self.env['ir.attachment']
        domain = [('res_model', '=', 'env.gate.passage'), ('res_field', '=', 'picture_front')]
        self.assertEqual(len(Attachment.search(domain + [('res_id', '=', aged.id)])), 1)
        log = self.Purge._purge(self.company, now=NOW)
        self.assertEqual((log.pictures, log.passages), (1, 0))
        self.assertFalse(Attachment.search(domain + [('res_id', '=', aged.id)]))
        self.assertTrue(Attachment.search(domain + [('res_id', '=', fresh.id)]))
        self.assertEqual(aged.picture_digests, digests)
        self.assertFalse(aged.picture_front)
        check = self._check()
        self.assertTrue(check.ok, check.message)
        self.assertEqual(check.checked, 2)

    def test_a_broken_prefix_is_not_purged(self):
        victim = self._pass(self.r_in, 'b1', OLD)
        self._pass(self.r_in, 'b2', NEW)
        self._sql('UPDATE env_gate_passage SET plate_raw = %s WHERE id = %s', 'X', victim.id)
        with self.assertLogs(PURGE_LOGGER, 'WARNING'):
            log = self.Purge._purge(self.company, now=NOW)
        self.assertEqual(log.passages, 0)
        self.assertIn('env.gate.passage', log.note)
        self.assertTrue(victim.exists())
