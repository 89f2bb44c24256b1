"""Clean-transport figures and the transport grade for a period, with the records behind
each figure one click away. Aggregation is read_group in the database; the arithmetic and
the grading rules are hj1321.transport."""
from odoo import _, api, fields, models

from ..hj1321 import transport
from ..models.common import bilingual


def _pct(value):
    return round(value * 100.0, 2) if value is not None else 0.0


class EnvGateTransportReport(models.TransientModel):
    _name = 'env.gate.transport.report'
    _description = 'Clean Transport Report'

    def _default_from(self):
        return fields.Date.context_today(self)[:8] + '01'

    date_from = fields.Date('From', required=True, default=_default_from)
    date_to = fields.Date('To', required=True, default=fields.Date.context_today)
    company_id = fields.Many2one('res.company', 'Company', required=True,
                                 default=lambda self: self.env.user.company_id)
    clean_trucks = fields.Selection([('new_energy', 'New-energy trucks only (2024 rules)'),
                                     ('v_plus', 'China V+ and new-energy trucks')],
                                    'Clean Road Transport', required=True,
                                    default=lambda self: self.env['ir.config_parameter'].sudo()
                                    .get_param('env_gate.clean_trucks', 'new_energy'))
    computed = fields.Boolean(readonly=True)
    road_trips = fields.Integer('Truck Entries', readonly=True)
    v_plus_trips = fields.Integer('China V+ / NE Entries', readonly=True)
    v_plus_trip_share = fields.Float('China V+ / NE Share by Trips (%)', readonly=True)
    unknown_stage_trips = fields.Integer('Entries with Unknown Stage', readonly=True)
    road_tonnage = fields.Float('Road Tonnage (t)', digits=(14, 3), readonly=True)
    v_plus_tonnage_share = fields.Float('China V+ / NE Share by Tonnage (%)', readonly=True)
    total_tonnage = fields.Float('Bulk Tonnage, All Modes (t)', digits=(14, 3), readonly=True)
    clean_tonnage = fields.Float('Clean Bulk Tonnage (t)', digits=(14, 3), readonly=True)
    clean_share = fields.Float('Clean-transport Share of Bulk (%)', readonly=True)
    grade = fields.Char('Transport Grade', readonly=True)
    grade_checks = fields.Text('Why', readonly=True)
    ultra_low = fields.Text('2024 Ultra-low-emission Target', readonly=True)
    line_ids = fields.One2many('env.gate.transport.report.line', 'report_id', 'Tonnage',
                               readonly=True)

    def _period_domain(self, field):
        return [(field, '>=', self.date_from), (field, '<=', self.date_to),
                ('company_id', '=', self.company_id.id)]

    def _entry_domain(self):
        return self._period_domain('pass_date') + [
            ('direction', '=', '1'), ('voided', '=', False), ('category', '=', 'transport')]

    def _weighing_domain(self):
        return self._period_domain('weigh_date') + [('state', '=', 'done')]

    def _rows(self):
        """Aggregated tonnage rows: road from weighings, the rest from transport volumes."""
        rows = []
        groups = self.env['env.gate.weighing'].read_group(
            self._weighing_domain(), ['net', 'cargo_id', 'kind', 'emission_stage', 'fuel_type'],
            ['cargo_id', 'kind', 'emission_stage', 'fuel_type'], lazy=False)
        for g in groups:
            rows.append(transport.Row('road', g['cargo_id'] and g['cargo_id'][0], g['kind'],
                                      g['net'] or 0.0, g['__count'], g['emission_stage'] or None,
                                      g['fuel_type'] or None))
        groups = self.env['env.gate.transport.volume'].read_group(
            self._period_domain('date'), ['tonnage', 'mode', 'cargo_id', 'direction'],
            ['mode', 'cargo_id', 'direction'], lazy=False)
        for g in groups:
            rows.append(transport.Row(g['mode'], g['cargo_id'] and g['cargo_id'][0],
                                      g['direction'], g['tonnage'] or 0.0, 0, None, None))
        return rows

    def _by_stage(self, model, domain):
        counts = {}
        for g in self.env[model].read_group(domain, ['emission_stage', 'fuel_type'],
                                            ['emission_stage', 'fuel_type'], lazy=False):
            stage = g['emission_stage'] or 'X'
            if g['fuel_type'] in ('C', 'P'):
                stage = 'D'          # new energy whatever stage was typed
            counts[stage] = counts.get(stage, 0) + g['__count']
        return counts

    @api.multi
    def action_compute(self):
        self.ensure_one()
        lang = self.env.context.get('lang')
        rows = self._rows()
        bulk = set(self.env['env.gate.cargo'].with_context(active_test=False).search(
            [('bulk', '=', True)]).ids)
        bulk_rows = [r for r in rows if r.cargo in bulk] or rows
        everything = transport.summarize(rows, clean_trucks=self.clean_trucks)
        bulk_figures = transport.summarize(bulk_rows, clean_trucks=self.clean_trucks)
        trips = self._by_stage('env.gate.passage', self._entry_domain())
        grade = transport.transport_grade(
            trips,
            in_plant_by_stage=self._by_stage('env.gate.vehicle', [
                ('category', '=', 'in_plant'), ('company_id', '=', self.company_id.id)]),
            machinery_by_stage=self._by_stage('env.gate.machinery', [
                ('company_id', '=', self.company_id.id)]))
        ultra = transport.ultra_low_check(bulk_figures)
        road_trips = sum(trips.values())
        v_plus = sum(n for stage, n in trips.items() if stage in ('5', '6', 'D'))
        lines = {}
        for r in rows:
            key = (r.cargo, r.direction, r.mode)
            line = lines.setdefault(key, {'cargo_id': r.cargo or False, 'direction': r.direction,
                                          'mode': r.mode, 'tonnage': 0.0, 'trips': 0})
            line['tonnage'] += r.tonnage
            line['trips'] += r.trips
        self.line_ids.unlink()
        self.write({
            'computed': True,
            'road_trips': road_trips,
            'v_plus_trips': v_plus,
            'v_plus_trip_share': _pct(float(v_plus) / road_trips) if road_trips else 0.0,
            'unknown_stage_trips': trips.get('X', 0),
            'road_tonnage': everything.road_tonnage,
            'v_plus_tonnage_share': _pct(everything.v_plus_tonnage_share),
            'total_tonnage': bulk_figures.total_tonnage,
            'clean_tonnage': bulk_figures.clean_tonnage,
            'clean_share': _pct(bulk_figures.clean_share),
            'grade': grade.grade,
            'grade_checks': '\n'.join(
                ('✔ ' if c.passed else '✘ ') + bilingual(c.message_zh, c.message_en, lang)
                .replace('\n', ' / ') for c in grade.checks),
            'ultra_low': ('✔ ' if ultra.passed else '✘ ') + bilingual(
                ultra.message_zh, ultra.message_en, lang).replace('\n', ' / '),
            'line_ids': [(0, 0, vals) for vals in lines.values()],
        })
        return {'type': 'ir.actions.act_window', 'res_model': self._name, 'res_id': self.id,
                'view_mode': 'form', 'target': 'current'}

    def _open(self, model, domain, name):
        return {'type': 'ir.actions.act_window', 'res_model': model, 'name': name,
                'view_mode': 'tree,form,pivot', 'domain': domain, 'context': {}}

    @api.multi
    def action_open_trips(self):
        return self._open('env.gate.passage', self._entry_domain(), _('Truck Entries'))

    @api.multi
    def action_open_v_plus_trips(self):
        return self._open('env.gate.passage', self._entry_domain() + [('clean', '=', True)],
                          _('China V+ / NE Entries'))

    @api.multi
    def action_open_unknown(self):
        return self._open('env.gate.passage', self._entry_domain() + [
            '|', ('emission_stage', '=', False), ('emission_stage', '=', 'X')],
            _('Entries with Unknown Stage'))

    @api.multi
    def action_open_weighings(self):
        return self._open('env.gate.weighing', self._weighing_domain(), _('Road Tonnage'))

    @api.multi
    def action_open_volumes(self):
        return self._open('env.gate.transport.volume', self._period_domain('date'),
                          _('Non-road Volumes'))


class EnvGateTransportReportLine(models.TransientModel):
    _name = 'env.gate.transport.report.line'
    _description = 'Clean Transport Report Line'
    _order = 'cargo_id, direction, mode'

    report_id = fields.Many2one('env.gate.transport.report', ondelete='cascade')
    cargo_id = fields.Many2one('env.gate.cargo', 'Cargo')
    direction = fields.Selection([('in', 'In'), ('out', 'Out')], 'Direction')
    mode = fields.Selection([('road', 'Road'), ('rail', 'Rail'), ('waterway', 'Waterway'),
                             ('belt', 'Belt Conveyor'), ('pipeline', 'Pipeline')], 'Mode')
    tonnage = fields.Float('Tonnage (t)', digits=(14, 3))
    trips = fields.Integer('Trips')
