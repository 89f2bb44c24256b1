"""The managers' dashboard: its figures against what the gate saw, the list behind each
figure, machinery and in-plant vehicles due for replacement, and the analysis views."""
import datetime
import json
from unittest.mock import patch

from odoo.exceptions import UserError

from ..models.env_gate_dashboard import EnvGateDashboard
from ..models.env_gate_lane import hash_token
from .common import PLATE_2, GateCase, call_api

PLATE_3 = '琼A8K321'          # registered, China IV: read with low confidence
REFUSED_PLATE = '琼B11111'
LIFTED_PLATE = '琼B22222'
TOKEN = 'dashboard-test-token'


class TestDashboard(GateCase):

    @classmethod
    def setUpClass(cls):
        super(TestDashboard, cls).setUpClass()
        cls.company = cls.env.user.company_id
        cls.company.env_gate_target_grade = 'A'
        cls.old_truck = cls.Vehicle.create({
            'plate': PLATE_3, 'plate_color': '2', 'emission_stage': '4', 'fuel_type': 'B'})
        cls.board = cls.env['env.gate.dashboard']._for_company(cls.company)
        # the plant's clock two hours after the fixture's first passage (08:00 CST)
        cls.now = cls.t0.astimezone(datetime.timezone.utc).replace(tzinfo=None) \
            + datetime.timedelta(hours=2)

    def at(self, now):
        """The dashboard read at the UTC time `now`, figures recomputed."""
        clock = patch.object(EnvGateDashboard, '_utcnow', lambda board: now)
        clock.start()
        self.addCleanup(clock.stop)
        self.board.invalidate_cache()
        return self.board

    def figures(self, now=None):
        board = self.at(now or self.now)
        return {name: board[name] for name in board._figures()}

    def open(self, board, figure, **ctx):
        return board.with_context(figure=figure, **ctx).action_open_figure()

    def count(self, action):
        return self.env[action['res_model']].search_count(action['domain'])

    def gate_day(self):
        """Entries, an exit, a refusal, a manual lift, an unregistered and a low-confidence
        read, all on the fixture's day."""
        lift = self._event(self.lane_in, 'd-lift', plate=LIFTED_PLATE, minutes=20,
                           type='manual_lift', decision='manual', reason='车牌污损，人工核对放行',
                           confidence=None, extra={'source': 'box', 'user': '门岗老王'})
        results = self.ingest(
            self.lane_in,
            self._event(self.lane_in, 'd-in', minutes=0),
            self._event(self.lane_in, 'd-unreg', plate=PLATE_2, minutes=5),
            self._event(self.lane_in, 'd-low', plate=PLATE_3, minutes=6, confidence=50),
            self._event(self.lane_in, 'd-refused', plate=REFUSED_PLATE, minutes=10,
                        decision='refuse', reason='国三柴油货车 橙色预警禁行'),
            lift)
        results += self.ingest(self.lane_out, self._event(self.lane_out, 'd-out', minutes=30))
        self.assertEqual([r['status'] for r in results], ['accepted'] * 6)

    # ---- figures --------------------------------------------------------------------

    def test_today_figures_count_what_the_gate_saw(self):
        before = self.figures()
        self.gate_day()
        after = self.figures()
        delta = {name: after[name] - before[name] for name in after}
        self.assertEqual(delta, dict(
            entries_today=5, exits_today=1, refusals_today=1, lifts_today=1,
            review_all=4,              # unregistered x3 (incl. refused and lifted), low conf.
            review_unregistered=3, review_low_confidence=1,
            on_site=3,                 # the truck left, the refused one never came in
            cameras_offline=0, boxes_silent=0, in_plant_due=0, machinery_due=0,
            month_entries=2, month_clean_entries=1))   # registered trucks only, one China VI
        self.assertEqual(self.board.plant_date, '2026-01-05')
        self.assertAlmostEqual(self.board.month_clean_share,
                               100.0 * after['month_clean_entries'] / after['month_entries'],
                               places=1)
        reasons = json.loads(self.board.details)['reasons']
        self.assertIn({'decision': '2', 'reason': '国三柴油货车 橙色预警禁行', 'count': 1},
                      [{k: r[k] for k in ('decision', 'reason', 'count')} for r in reasons])
        self.assertIn('车牌污损，人工核对放行', [r['reason'] for r in reasons if r['decision'] == '3'])

    def test_the_next_day_starts_again_at_midnight_plant_time(self):
        self.gate_day()
        before_midnight = self.figures(datetime.datetime(2026, 1, 5, 15, 59))   # 23:59 CST
        after_midnight = self.figures(datetime.datetime(2026, 1, 5, 16, 1))     # 00:01 CST
        self.assertGreaterEqual(before_midnight['entries_today'], 5)
        own = self.Passage.search_count([('pass_date', '=', '2026-01-06'),
                                         ('direction', '=', '1'), ('voided', '=', False),
                                         ('company_id', '=', self.company.id)])
        self.assertEqual(after_midnight['entries_today'], own)

    def test_each_figure_opens_a_list_of_as_many_records(self):
        self.gate_day()
        board = self.at(self.now)
        for figure in board._figures():
            action = self.open(board, figure)
            self.assertEqual(action['type'], 'ir.actions.act_window')
            self.assertEqual(self.count(action), board[figure], figure)
        self.assertGreater(board.refusals_today, 0)
        for row in json.loads(board.details)['reasons']:
            action = self.open(board, 'reason', decision=row['decision'], reason=row['reason'])
            self.assertEqual(self.count(action), row['count'], row)
        refusals = self.open(board, 'refusals_today')
        self.assertIn(REFUSED_PLATE, self.env['env.gate.passage'].search(
            refusals['domain']).mapped('plate_key'))
        with self.assertRaises(UserError):
            self.open(board, 'no_such_figure')

    def test_this_months_clean_transport_is_the_reports(self):
        self.gate_day()
        board = self.at(self.now)
        action = self.open(board, 'clean_transport')
        report = self.env['env.gate.transport.report'].browse(action['res_id'])
        self.assertEqual((action['res_model'], report.date_from, report.date_to),
                         ('env.gate.transport.report', '2026-01-01', '2026-01-05'))
        self.assertEqual(board.clean_transport_known, report.total_tonnage > 0)
        self.assertEqual(board.transport_grade, report.grade)
        if board.clean_transport_known:
            self.assertAlmostEqual(board.clean_transport_share, report.clean_share)

    # ---- regulator uploads ----------------------------------------------------------

    def test_overdue_upload_raises_the_banner_and_is_one_click_away(self):
        regulator = self.env['env.gate.regulator'].create({
            'name': 'Dashboard platform', 'adapter': 'canonical_json',
            'base_url': 'http://127.0.0.1:9', 'enterprise_code': 'T-ENT'})
        self.gate_day()
        uploads = self.env['env.gate.upload'].search([('regulator_id', '=', regulator.id)])
        self.assertEqual(len(uploads), 6)
        late = uploads[0]
        self.env.cr.execute("UPDATE env_gate_upload SET deadline = now() at time zone 'UTC' "
                            "- interval '5 minutes' WHERE id = %s", (late.id,))
        late.invalidate_cache()
        regulator._check_alarms()
        self.assertTrue(regulator.alarm_message)
        board = self.at(datetime.datetime.utcnow())
        [row] = [r for r in json.loads(board.details)['regulators'] if r['id'] == regulator.id]
        self.assertEqual((row['due'], row['on_time'], row['overdue'], row['share'], row['state']),
                         (1, 0, 1, 0.0, 'ok'))
        self.assertIn('Dashboard platform: %s' % regulator.alarm_message, board.upload_warning)
        overdue = self.open(board, 'upload_overdue', regulator_id=regulator.id)
        self.assertEqual(self.env['env.gate.upload'].search(overdue['domain']), late)
        due = self.open(board, 'upload_due', regulator_id=regulator.id)
        self.assertEqual(self.count(due), row['due'])

    def test_no_banner_while_uploads_are_on_time(self):
        regulator = self.env['env.gate.regulator'].create({
            'name': 'Quiet platform', 'adapter': 'canonical_json',
            'base_url': 'http://127.0.0.1:9', 'enterprise_code': 'T-ENT'})
        self.gate_day()
        regulator._check_alarms()
        board = self.at(datetime.datetime.utcnow())
        [row] = [r for r in json.loads(board.details)['regulators'] if r['id'] == regulator.id]
        self.assertEqual((row['due'], row['overdue'], row['share'], row['warning']),
                         (0, 0, None, ''))
        self.assertNotIn('Quiet platform', board.upload_warning or '')

    # ---- lanes ----------------------------------------------------------------------

    def test_camera_offline_and_silent_box(self):
        self.lane_in.sudo().write({'token_hash': hash_token(TOKEN)})
        before = self.figures(datetime.datetime.utcnow())
        status, _body = call_api(self.env, 'status', TOKEN, body={
            'box': {'name': 'east box'}, 'cameras': [{'lane': 'T-IN', 'state': 'offline'}],
            'barriers': [{'lane': 'T-IN', 'driver': 'relay', 'state': 'error',
                          'last_error': 'no answer'}],
            'outbox': {'pending': 3, 'dead': 1}})
        self.assertEqual(status, 200)
        reported = self.lane_in.box_reported_at
        soon = self.figures(datetime.datetime.utcnow() + datetime.timedelta(minutes=1))
        self.assertEqual(soon['cameras_offline'] - before['cameras_offline'], 1)
        self.assertEqual(soon['boxes_silent'], before['boxes_silent'])
        [row] = [r for r in json.loads(self.board.details)['lanes'] if r['code'] == 'T-IN']
        self.assertEqual((row['camera_state'], row['barrier_state'], row['barrier_error'],
                          row['box_silent'], row['outbox_pending'], row['outbox_dead']),
                         ('offline', 'fault', 'no answer', False, 3, 1))
        later = self.figures(datetime.datetime.strptime(reported, '%Y-%m-%d %H:%M:%S')
                             + datetime.timedelta(minutes=20))
        self.assertGreaterEqual(later['boxes_silent'], 1)
        [row] = [r for r in json.loads(self.board.details)['lanes'] if r['code'] == 'T-IN']
        self.assertTrue(row['box_silent'])
        silent = self.open(self.board, 'boxes_silent')
        self.assertIn(self.lane_in, self.env['env.gate.lane'].search(silent['domain']))
        lane = self.open(self.board, 'lane', lane_id=self.lane_in.id)
        self.assertEqual((lane['res_model'], lane['res_id']), ('env.gate.lane', self.lane_in.id))

    # ---- replacement ----------------------------------------------------------------

    def test_replacement_due_follows_the_target_grade(self):
        before = self.figures()
        Machinery = self.env['env.gate.machinery']
        in_plant = {stage_fuel: self.Vehicle.create({
            'category': 'in_plant', 'internal_code': 'DB-%s%s' % stage_fuel,
            'emission_stage': stage_fuel[0], 'fuel_type': stage_fuel[1]})
            for stage_fuel in [('4', 'B'), ('4', 'C'), ('5', 'B'), ('X', 'B')]}
        machines = {stage: Machinery.create({
            'registration_code': 'DB-M%s' % stage, 'kind': '1', 'emission_stage': stage,
            'fuel_type': 'B'}) for stage in ('2', '3')}
        due_vehicles = in_plant[('4', 'B')] | in_plant[('X', 'B')]
        self.assertEqual([v.replacement_due for v in in_plant.values()],
                         [True, False, False, True])
        self.assertFalse(self.old_truck.replacement_due)      # transport: not the rule
        self.assertEqual((machines['2'].replacement_due, machines['3'].replacement_due),
                         (True, False))
        mine = self.Vehicle.search([('internal_code', '=like', 'DB-%')])
        self.assertEqual(self.Vehicle.search(
            [('id', 'in', mine.ids + self.old_truck.ids), ('replacement_due', '=', True)]),
            due_vehicles)
        self.assertEqual(self.Vehicle.search(
            [('id', 'in', mine.ids + self.old_truck.ids), ('replacement_due', '=', False)]),
            (mine - due_vehicles) | self.old_truck)
        self.assertEqual(Machinery.search([('registration_code', '=like', 'DB-M%'),
                                           ('replacement_due', '!=', False)]), machines['2'])
        after = self.figures()
        self.assertEqual((after['in_plant_due'] - before['in_plant_due'],
                          after['machinery_due'] - before['machinery_due']), (2, 1))

        self.company.env_gate_target_grade = 'B'
        self.assertFalse(any(v.replacement_due for v in in_plant.values()))
        self.assertFalse(machines['2'].replacement_due)
        self.assertFalse(self.Vehicle.search([('id', 'in', mine.ids),
                                              ('replacement_due', '=', True)]))
        self.assertEqual(self.figures()['machinery_due'], 0)
        with self.assertRaises(UserError):
            Machinery.search([('replacement_due', 'in', [True])])

    def test_target_grade_is_a_setting(self):
        settings = self.env['res.config.settings'].create({'env_gate_target_grade': 'C'})
        settings.execute()
        self.assertEqual(self.company.env_gate_target_grade, 'C')

    # ---- views and access -----------------------------------------------------------

    def test_analysis_views_load(self):
        for model in ('env.gate.passage', 'env.gate.vehicle', 'env.gate.machinery'):
            for view_type in ('pivot', 'graph', 'search'):
                view = self.env[model].fields_view_get(view_type=view_type)
                self.assertEqual(view['type'], view_type, (model, view_type))
        search = self.env['env.gate.machinery'].fields_view_get(view_type='search')['arch']
        self.assertIn('name="replacement_due"', search)
        for xmlid in ('env_gate_passage_action', 'env_gate_vehicle_action',
                      'env_gate_vehicle_in_plant_action', 'env_gate_machinery_action'):
            modes = self.env.ref('env_gate_ledger.%s' % xmlid).view_mode.split(',')
            self.assertTrue({'pivot', 'graph'} <= set(modes), xmlid)
        kanban = self.env['env.gate.dashboard'].fields_view_get(view_type='kanban')
        self.assertIn('action_open_figure', kanban['arch'])
        action = self.env.ref('env_gate_ledger.env_gate_dashboard_action')
        self.assertEqual(action.res_model, 'env.gate.dashboard')
        self.assertEqual(self.env.ref('env_gate_ledger.env_gate_menu_root').action, action)

    def test_an_auditor_gets_the_dashboard_of_the_company_on_first_use(self):
        auditor = self.env['res.users'].with_context(no_reset_password=True).create({
            'name': 'Auditor', 'login': 't_dash_auditor', 'groups_id': [
                (6, 0, [self.env.ref('env_gate_ledger.group_auditor').id])]})
        self.board.unlink()
        rows = self.env['env.gate.dashboard'].sudo(auditor).search_read([], ['entries_today'])
        self.assertEqual(len(rows), 1)
        board = self.env['env.gate.dashboard'].browse(rows[0]['id'])
        self.assertEqual(board.company_id, self.company)
        # a second read does not make a second one
        self.env['env.gate.dashboard'].sudo(auditor).search_read([], ['entries_today'])
        self.assertEqual(self.env['env.gate.dashboard'].search_count(
            [('company_id', '=', self.company.id)]), 1)
