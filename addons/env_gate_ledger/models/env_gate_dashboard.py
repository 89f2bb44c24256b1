"""The managers' dashboard: the app's first screen.

Like account's journal dashboard, a kanban view over records whose figures are non-stored
computed fields: one record per company, made the first time someone of that company opens
it. Every figure is a search_count or read_group over stored, indexed columns (bench/
README.md, screen a) and is defined once in `_figures`, as the list it counts: the number
shown and the list its link opens cannot disagree.
"""
import datetime
import json

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .env_gate_upload import DELIVERED

SILENT_MINUTES = 15         # a gate box that has not reported for this long is shown silent
TOP_REASONS = 5             # reasons listed per control result
ENTRY, EXIT = '1', '2'
REFUSED, MANUAL_LIFT = '2', '3'


class EnvGateDashboard(models.Model):
    _name = 'env.gate.dashboard'
    _description = 'Gate Ledger Dashboard'

    name = fields.Char(related='company_id.name', readonly=True)
    company_id = fields.Many2one('res.company', 'Company', required=True, readonly=True,
                                 ondelete='cascade')
    plant_date = fields.Date('Plant Day', compute='_compute_figures')
    entries_today = fields.Integer('Entries Today', compute='_compute_figures')
    exits_today = fields.Integer('Exits Today', compute='_compute_figures')
    refusals_today = fields.Integer('Refusals Today', compute='_compute_figures')
    lifts_today = fields.Integer('Manual Lifts Today', compute='_compute_figures')
    review_all = fields.Integer('Waiting for Review', compute='_compute_figures')
    review_unregistered = fields.Integer('Unregistered, Waiting', compute='_compute_figures')
    review_low_confidence = fields.Integer('Low Confidence, Waiting',
                                           compute='_compute_figures')
    on_site = fields.Integer('Vehicles on Site', compute='_compute_figures')
    cameras_offline = fields.Integer('Cameras Offline', compute='_compute_figures')
    boxes_silent = fields.Integer('Gate Boxes Silent', compute='_compute_figures')
    in_plant_due = fields.Integer('In-plant Vehicles Due for Replacement',
                                  compute='_compute_figures')
    machinery_due = fields.Integer('Machinery Due for Replacement', compute='_compute_figures')
    month_entries = fields.Integer('Truck Entries This Month', compute='_compute_figures')
    month_clean_entries = fields.Integer('China V+ / NE Entries This Month',
                                         compute='_compute_figures')
    month_clean_share = fields.Float('China V+ / NE Share This Month (%)', digits=(5, 1),
                                     compute='_compute_figures')
    clean_transport_known = fields.Boolean('Clean-transport Share Known',
                                           compute='_compute_clean_transport')
    clean_transport_share = fields.Float('Clean-transport Share This Month (%)', digits=(5, 1),
                                         compute='_compute_clean_transport')
    transport_grade = fields.Char('Transport Grade This Month',
                                  compute='_compute_clean_transport')
    upload_warning = fields.Text('Regulator Alarm', compute='_compute_details')
    details = fields.Text('Details', compute='_compute_details',
                          help='JSON for the kanban template: reasons, platforms and lanes.')

    _sql_constraints = [
        ('company_uniq', 'unique(company_id)', 'A company has one dashboard.'),
    ]

    # ---- computes -------------------------------------------------------------------

    def _compute_figures(self):
        for board in self:
            figures = board._figures()
            for name, (model, domain, _title) in figures.items():
                board[name] = self.env[model].search_count(domain)
            board.plant_date = board._plant_date()
            total = board.month_entries
            board.month_clean_share = 100.0 * board.month_clean_entries / total if total else 0.0

    def _compute_clean_transport(self):
        """This month's clean-transport share and transport grade, as the Clean Transport
        report computes them; known once bulk cargo was carried this month."""
        for board in self:
            report = board._transport_report()
            known = report.total_tonnage > 0
            board.clean_transport_known = known
            board.clean_transport_share = report.clean_share if known else 0.0
            board.transport_grade = report.grade if report.road_trips else False

    def _compute_details(self):
        for board in self:
            regulators = board._regulator_rows()
            board.upload_warning = '\n'.join(
                '%s: %s' % (row['name'], row['warning']) for row in regulators
                if row['warning']) or False
            board.details = json.dumps({
                'reasons': board._reason_rows(),
                'regulators': regulators,
                'lanes': board._lane_rows(),
            }, ensure_ascii=False)

    # ---- CRUD -----------------------------------------------------------------------

    @api.model
    def search_read(self, domain=None, fields=None, offset=0, limit=None, order=None):
        """The kanban view's read: the user's company gets its dashboard on first use."""
        self._for_company(self.env.user.company_id)
        return super(EnvGateDashboard, self).search_read(domain, fields, offset, limit, order)

    @api.model
    def _for_company(self, company):
        board = self.search([('company_id', '=', company.id)], limit=1)
        return board or self.sudo().create({'company_id': company.id}).sudo(self.env.uid)

    # ---- actions --------------------------------------------------------------------

    @api.multi
    def action_open_figure(self):
        """The list behind a figure; the kanban passes the figure (and the platform, lane
        or reason of a row) in the context."""
        self.ensure_one()
        ctx = self.env.context
        figure = ctx.get('figure')
        if figure == 'clean_transport':
            return self._transport_report().action_compute()
        if figure == 'lane':
            return {'type': 'ir.actions.act_window', 'res_model': 'env.gate.lane',
                    'res_id': int(ctx['lane_id']), 'view_mode': 'form', 'target': 'current'}
        found = self._figures().get(figure) or self._row_figure(figure, ctx)
        if not found:
            raise UserError(_('Unknown dashboard figure: %s') % figure)
        model, domain, title = found
        action = {'type': 'ir.actions.act_window', 'res_model': model, 'name': title,
                  'view_mode': 'tree,form', 'views': [(False, 'tree'), (False, 'form')],
                  'domain': domain, 'target': 'current', 'context': {}}
        if figure in ('refusals_today', 'lifts_today'):
            action['context'] = {'group_by': ['reason']}
        return action

    # ---- figures --------------------------------------------------------------------

    def _utcnow(self):
        """The dashboard's clock (naive UTC); every figure reads it, tests move it."""
        return datetime.datetime.utcnow()

    def _plant_now(self):
        tz = self.env['env.gate.passage']._plant_tz()
        return pytz.utc.localize(self._utcnow()).astimezone(tz)

    def _plant_date(self):
        return fields.Date.to_string(self._plant_now().date())

    def _figures(self):
        """{figure field: (model, domain, list title)}: what each figure counts."""
        self.ensure_one()
        mine = [('company_id', '=', self.company_id.id)]
        today = mine + [('pass_date', '=', self._plant_date())]
        month_start = fields.Date.to_string(self._plant_now().date().replace(day=1))
        month = mine + [('pass_date', '>=', month_start), ('direction', '=', ENTRY),
                        ('category', '=', 'transport'), ('voided', '=', False)]
        waiting = mine + [('needs_review', '=', True)]
        silent_since = fields.Datetime.to_string(
            self._utcnow() - datetime.timedelta(minutes=SILENT_MINUTES))
        passage, lane = 'env.gate.passage', 'env.gate.lane'
        return {
            'entries_today': (passage, today + [('direction', '=', ENTRY),
                                                ('voided', '=', False)], _('Entries Today')),
            'exits_today': (passage, today + [('direction', '=', EXIT),
                                              ('voided', '=', False)], _('Exits Today')),
            'refusals_today': (passage, today + [('decision', '=', REFUSED)],
                               _('Refusals Today')),
            'lifts_today': (passage, today + [('decision', '=', MANUAL_LIFT)],
                            _('Manual Lifts Today')),
            'review_all': (passage, waiting, _('Waiting for Review')),
            'review_unregistered': (passage, waiting + [('flag_unregistered', '=', True)],
                                    _('Unregistered, Waiting for Review')),
            'review_low_confidence': (passage, waiting + [('flag_low_confidence', '=', True)],
                                      _('Low Confidence, Waiting for Review')),
            'on_site': (passage, mine + self.env[passage]._on_site_domain(
                now=self._utcnow()),
                        _('Vehicles on Site')),
            'cameras_offline': (lane, mine + [('camera_state', '=', 'offline')],
                                _('Cameras Offline')),
            'boxes_silent': (lane, mine + [('box_reported_at', '!=', False),
                                           ('box_reported_at', '<', silent_since)],
                             _('Gate Boxes Silent')),
            'in_plant_due': ('env.gate.vehicle', mine + [('category', '=', 'in_plant'),
                                                         ('replacement_due', '=', True)],
                             _('In-plant Vehicles Due for Replacement')),
            'machinery_due': ('env.gate.machinery', mine + [('replacement_due', '=', True)],
                              _('Machinery Due for Replacement')),
            'month_entries': (passage, month, _('Truck Entries This Month')),
            'month_clean_entries': (passage, month + [('clean', '=', True)],
                                    _('China V+ / NE Entries This Month')),
        }

    def _row_figure(self, figure, ctx):
        """(model, domain, title) of a figure on a row: a reason, a platform."""
        mine = [('company_id', '=', self.company_id.id)]
        if figure == 'reason':
            decision = ctx['decision']
            return ('env.gate.passage', mine + [
                ('pass_date', '=', self._plant_date()), ('decision', '=', decision),
                ('reason', '=', ctx.get('reason') or False)],
                ctx.get('reason') or _('(no reason given)'))
        if figure in ('upload_due', 'upload_overdue'):
            regulator = self.env['env.gate.regulator'].browse(int(ctx['regulator_id']))
            now = fields.Datetime.to_string(self._utcnow())
            _today, day_start = regulator._plant_day_bounds(now)
            domain = [('regulator_id', '=', regulator.id), ('deadline', '>=', day_start)]
            if figure == 'upload_due':
                return ('env.gate.upload', domain + [
                    '|', ('deadline', '<=', now), ('state', 'in', list(DELIVERED))],
                    _('%s: Due Today') % regulator.name)
            return ('env.gate.upload', domain + [
                ('deadline', '<', now), ('state', 'not in', list(DELIVERED))],
                _('%s: Overdue Today') % regulator.name)
        return None

    def _reason_rows(self):
        """Today's refusals and manual lifts by reason, the most frequent first."""
        groups = self.env['env.gate.passage'].read_group(
            [('company_id', '=', self.company_id.id), ('pass_date', '=', self._plant_date()),
             ('decision', 'in', [REFUSED, MANUAL_LIFT])],
            ['decision', 'reason'], ['decision', 'reason'], lazy=False)
        labels = dict(self.env['env.gate.passage']._fields['decision']._description_selection(
            self.env))
        rows = []
        for decision in (REFUSED, MANUAL_LIFT):
            mine = sorted((g for g in groups if g['decision'] == decision),
                          key=lambda g: (-g['__count'], g['reason'] or ''))
            rows += [{'decision': decision, 'decision_label': labels.get(decision),
                      'reason': g['reason'] or '', 'count': g['__count']}
                     for g in mine[:TOP_REASONS]]
        return rows

    def _regulator_rows(self):
        regulators = self.env['env.gate.regulator'].search(
            [('company_id', '=', self.company_id.id)])
        figures = regulators._delivery_today(fields.Datetime.to_string(self._utcnow()))
        states = dict(regulators._fields['state']._description_selection(self.env))
        rows = []
        for regulator in regulators:
            due, on_time, overdue = figures[regulator.id]
            rows.append({
                'id': regulator.id, 'name': regulator.name, 'state': regulator.state,
                'state_label': states.get(regulator.state), 'due': due, 'on_time': on_time,
                'share': round(100.0 * on_time / due, 1) if due else None,
                'overdue': overdue, 'warning': regulator.warning or '',
            })
        return rows

    def _lane_rows(self):
        tz = self.env['env.gate.passage']._plant_tz()
        silent_since = fields.Datetime.to_string(
            self._utcnow() - datetime.timedelta(minutes=SILENT_MINUTES))
        Lane = self.env['env.gate.lane']
        cameras = dict(Lane._fields['camera_state']._description_selection(self.env))
        barriers = dict(Lane._fields['barrier_state']._description_selection(self.env))

        def local(value):
            if not value:
                return ''
            return pytz.utc.localize(fields.Datetime.from_string(value)).astimezone(tz) \
                .strftime('%m-%d %H:%M')

        rows = []
        for lane in self.env['env.gate.lane'].search([('company_id', '=', self.company_id.id)]):
            try:
                report = json.loads(lane.box_status or '{}')
            except ValueError:
                report = {}
            outbox = report.get('outbox') if isinstance(report, dict) else None
            outbox = outbox if isinstance(outbox, dict) else {}
            rows.append({
                'id': lane.id, 'code': lane.code, 'name': lane.name,
                'gate': lane.gate_id.name, 'camera_state': lane.camera_state or 'unknown',
                'camera_label': cameras.get(lane.camera_state or 'unknown'),
                'barrier_state': lane.barrier_state or 'unknown',
                'barrier_label': barriers.get(lane.barrier_state or 'unknown'),
                'barrier_error': lane.barrier_error or '',
                'last_event': local(lane.last_event_time),
                'box_reported': local(lane.box_reported_at),
                'box_silent': bool(lane.box_reported_at) and lane.box_reported_at < silent_since,
                'outbox_pending': outbox.get('pending'), 'outbox_dead': outbox.get('dead'),
            })
        return rows

    def _transport_report(self):
        """This month's Clean Transport report, computed (the wizard's own figures)."""
        today = self._plant_now().date()
        report = self.env['env.gate.transport.report'].create({
            'date_from': fields.Date.to_string(today.replace(day=1)),
            'date_to': fields.Date.to_string(today), 'company_id': self.company_id.id})
        report.action_compute()
        return report
