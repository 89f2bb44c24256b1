from .common import CSV, XLSX, import_file, xlsx
from .test_weighing import WeighingCase

PLATES = ['琼C%05d' % n for n in range(10)]


class TestCleanTransport(WeighingCase):
    """Ten trucks through the gate on one day; the grade follows their stages."""

    def _fleet(self, stages):
        for plate, stage in zip(PLATES, stages):
            self.Vehicle.create({'plate': plate, 'plate_color': '1', 'emission_stage': stage,
                                 'fuel_type': 'C' if stage == 'D' else 'B'})
        events = [self._event(self.lane_in, 'ct%d' % n, plate=plate, minutes=n)
                  for n, plate in enumerate(PLATES)]
        self.ingest(self.lane_in, *events)

    def _report(self, **vals):
        report = self.env['env.gate.transport.report'].create(dict(
            {'date_from': '2026-01-05', 'date_to': '2026-01-05'}, **vals))
        report.action_compute()
        return report

    def test_exactly_80_percent_is_b(self):
        self._fleet(['6'] * 6 + ['5', 'D', '4', '4'])
        report = self._report()
        self.assertEqual(report.road_trips, 10)
        self.assertEqual(report.v_plus_trips, 8)
        self.assertAlmostEqual(report.v_plus_trip_share, 80.0)
        self.assertEqual(report.grade, 'B')
        self.assertIn('80', report.grade_checks)

    def test_80_percent_with_a_china_iii_truck_is_c(self):
        self._fleet(['6'] * 8 + ['4', '3'])
        self.assertEqual(self._report().grade, 'C')

    def test_exactly_50_percent_is_c_and_below_is_not_graded(self):
        self._fleet(['6'] * 5 + ['4'] * 5)
        self.assertEqual(self._report().grade, 'C')

    def test_below_50_percent(self):
        self._fleet(['6'] * 4 + ['4'] * 6)
        self.assertEqual(self._report().grade, '-')

    def test_tonnage_and_clean_share_with_rail(self):
        self.weigh(45.0, 0)
        self.weigh(15.0, 60)                                    # 30 t by a diesel China VI truck
        self.env['env.gate.transport.volume'].create({
            'date': '2026-01-05', 'mode': 'rail', 'cargo_id': self.cargo.id,
            'direction': 'in', 'tonnage': 90.0})
        report = self._report()
        self.assertAlmostEqual(report.road_tonnage, 30.0)
        self.assertAlmostEqual(report.total_tonnage, 120.0)
        self.assertAlmostEqual(report.clean_tonnage, 90.0)
        self.assertAlmostEqual(report.clean_share, 75.0)
        report_v_plus = self._report(clean_trucks='v_plus')
        self.assertAlmostEqual(report_v_plus.clean_share, 100.0)
        modes = {(l.mode, round(l.tonnage, 3)) for l in report.line_ids}
        self.assertEqual(modes, {('road', 30.0), ('rail', 90.0)})

    def test_records_behind_the_figures(self):
        self._fleet(['6'] * 6 + ['5', 'D', '4', '4'])
        report = self._report()
        action = report.action_open_v_plus_trips()
        self.assertEqual(self.env[action['res_model']].search_count(action['domain']), 8)
        action = report.action_open_trips()
        self.assertEqual(self.env[action['res_model']].search_count(action['domain']), 10)

    def test_summary_prints(self):
        self._fleet(['6'] * 6 + ['5', 'D', '4', '4'])
        report = self._report()
        html = self.env.ref('env_gate_ledger.report_env_gate_transport').render_qweb_html(
            report.ids)[0].decode()
        self.assertIn('>80.0</span>', html)                    # V+/NE share by trips
        self.assertIn('Transport grade: <span', html)
        self.assertIn('>B</span>', html)
        self.assertIn('清洁运输', html)


class TestVolumeImport(WeighingCase):
    """Rail track-scale and port statements come in as CSV or XLSX through the standard
    import; a bad row stops the file with a message and imports nothing."""
    FIELDS = ['date', 'mode', 'cargo_id', 'direction', 'tonnage', 'reference']

    def _import(self, content, name, mimetype):
        return import_file(self.env, 'env.gate.transport.volume', self.FIELDS, content, name,
                           mimetype)

    def _volumes(self):
        return self.env['env.gate.transport.volume'].search(
            [('cargo_id', '=', self.cargo.id)], order='date')

    def test_csv_statement(self):
        content = ('date,mode,cargo,direction,tonnage,reference\n'
                   '2026-01-05,rail,测试矿石,in,3120.5,迁安北站 20260105\n'
                   '2026-01-06,waterway,测试矿石,in,8000,京唐港 0106\n').encode('utf-8')
        self.assertEqual(self._import(content, 'rail.csv', CSV), [])
        volumes = self._volumes()
        self.assertEqual(volumes.mapped('mode'), ['rail', 'waterway'])
        self.assertEqual(volumes.mapped('tonnage'), [3120.5, 8000.0])

    def test_xlsx_statement(self):
        content = xlsx([['date', 'mode', 'cargo', 'direction', 'tonnage', 'reference'],
                        ['2026-01-07', 'rail', '测试矿石', 'in', 2980.25, 'TS-0107']])
        self.assertEqual(self._import(content, 'rail.xlsx', XLSX), [])
        self.assertEqual(self._volumes().mapped('tonnage'), [2980.25])

    def test_bad_row_imports_nothing(self):
        content = ('date,mode,cargo,direction,tonnage,reference\n'
                   '2026-01-05,rail,测试矿石,in,100,a\n'
                   '2026-01-06,rail,测试矿石,in,-5,b\n').encode('utf-8')
        messages = self._import(content, 'bad.csv', CSV)
        self.assertTrue(any('must be positive' in m['message'] for m in messages), messages)
        self.assertFalse(self._volumes())
