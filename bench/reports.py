#!/usr/bin/env python3
"""How fast the manager's screens are on 24 months of a large plant (bench/generate.py).

Runs, through Odoo's ORM and as the manager would (user `bench_manager`, record rules on,
zh_CN, Asia/Shanghai), what each screen asks the database, each `--runs` times with the
ORM cache cleared in between, and prints every run and the median:

  a. the dashboard (env.gate.dashboard, the app's first screen) as it opens: today's
     entries, exits, refusals and manual lifts with reasons, reads waiting for a person,
     vehicles on site, uploads, lanes, this month's V+/new-energy and clean-transport
     shares, fleet due for replacement;
  b. a month's pivot of passages by emission stage and gate (the four read_group calls
     the pivot view makes, lazy=False);
  c. the yearly clean-transport figures (env.gate.transport.report, Compute);
  d. the passage list: search_read of the list view's 80 rows + search_count for the
     pager, with the action's default "This Month" filter and with no filter;
  e. the vehicle list, one vehicle's form (passage count) and its passages;
  f. the other lists a manager opens: Waiting for Review, Vehicles on Site, weighbridge
     tickets, device events.

Every SQL statement is timed on the way; the slowest are shown with EXPLAIN ANALYZE.
`--indexes` then creates the recommended indexes (RECOMMENDED below), measures again and
prints before/after; they are dropped at the end unless `--keep-indexes`.

    .venv/bin/python bench/reports.py                    # env_gate_scale
    .venv/bin/python bench/reports.py --indexes --explain 6
"""
import argparse
import collections
import datetime
import os
import re
import statistics
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

# (name, CREATE statement, DROP statement, why). Tested by --indexes; figures in
# bench/README.md. Partial and covering indexes are beyond `index=True`: the models would
# create them in init() with CREATE INDEX IF NOT EXISTS.
RECOMMENDED = [
    ('env_gate_passage_entry_cover_idx',
     'CREATE INDEX env_gate_passage_entry_cover_idx ON env_gate_passage (pass_date) '
     'INCLUDE (company_id, category, voided, clean, emission_stage, fuel_type, id) '
     "WHERE direction = '1'",
     'DROP INDEX IF EXISTS env_gate_passage_entry_cover_idx',
     'entries by day with what the trips-by-stage and V+-share figures read: an index-only '
     'scan instead of reading the heap (the yearly clean-transport report, the dashboard)'),
    ('env_gate_weighing_done_cover_idx',
     'CREATE INDEX env_gate_weighing_done_cover_idx ON env_gate_weighing (weigh_date) '
     'INCLUDE (company_id, cargo_id, kind, emission_stage, fuel_type, net, id) '
     "WHERE state = 'done'",
     'DROP INDEX IF EXISTS env_gate_weighing_done_cover_idx',
     'done tickets by day with the tonnage columns: an index-only scan for the road '
     'tonnage of the clean-transport report'),
    ('env_gate_weighing_group_stats',
     'CREATE STATISTICS env_gate_weighing_group_stats (ndistinct) '
     'ON cargo_id, kind, emission_stage, fuel_type FROM env_gate_weighing',
     'DROP STATISTICS IF EXISTS env_gate_weighing_group_stats',
     'the planner otherwise expects 120,000 (cargo, kind, stage, fuel) groups instead of '
     '~100 and sorts 700,000 rows on disk instead of hashing them'),
    ('env_gate_passage_on_site_idx',
     'CREATE INDEX env_gate_passage_on_site_idx ON env_gate_passage (company_id, pass_time) '
     "WHERE pair_state = 'on_site'",
     'DROP INDEX IF EXISTS env_gate_passage_on_site_idx',
     'open entries only (thousands, not millions): "on site now" without heap reads'),
    ('env_gate_passage_review_idx',
     'CREATE INDEX env_gate_passage_review_idx ON env_gate_passage (company_id, pass_time) '
     'WHERE needs_review',
     'DROP INDEX IF EXISTS env_gate_passage_review_idx',
     'the review queue only; can replace the full index on the boolean needs_review'),
    ('env_gate_passage_vehicle_time_idx',
     'CREATE INDEX env_gate_passage_vehicle_time_idx ON env_gate_passage '
     '(vehicle_id, pass_time DESC, id DESC)',
     'DROP INDEX IF EXISTS env_gate_passage_vehicle_time_idx',
     "a vehicle's latest passages in list order without sorting all of them"),
]

TRACE = None            # list of (seconds, query, params) while an operation runs


def install_tracer(odoo):
    """Time every statement the ORM sends, so the slow ones can be explained."""
    original = odoo.sql_db.Cursor.execute

    def execute(self, query, params=None, log_exceptions=None):
        start = time.perf_counter()
        try:
            return original(self, query, params, log_exceptions)
        finally:
            if TRACE is not None:
                TRACE.append((time.perf_counter() - start, query, params))
    odoo.sql_db.Cursor.execute = execute


# ---- the operations ----------------------------------------------------------------

def tree_fields(env, model, xmlid):
    """The fields of a list view, as the web client asks for them."""
    view = env.ref(xmlid)
    return env[model].fields_view_get(view_id=view.id, view_type='tree')['fields'].keys()


def list_open(env, model, domain, fields, limit=80, order=None):
    """What /web/dataset/search_read does: a page of rows, and the count for the pager."""
    Model = env[model]
    records = Model.search_read(domain, list(fields), limit=limit, order=order)
    count = Model.search_count(domain) if len(records) == limit else len(records)
    return count


class Operations(object):
    def __init__(self, env):
        self.env = env
        self.Passage = env['env.gate.passage']
        tz_now = datetime.datetime.utcnow() + datetime.timedelta(hours=8)
        self.today = tz_now.date()
        self.month_start = self.today.replace(day=1)
        last_month_end = self.month_start - datetime.timedelta(days=1)
        self.last_month = (last_month_end.replace(day=1), last_month_end)
        self.company = env.user.company_id
        self.passage_fields = tree_fields(env, 'env.gate.passage',
                                          'env_gate_ledger.env_gate_passage_view_tree')
        self.vehicle_fields = tree_fields(env, 'env.gate.vehicle',
                                          'env_gate_ledger.env_gate_vehicle_view_tree')
        self.weighing_fields = tree_fields(env, 'env.gate.weighing',
                                           'env_gate_ledger.env_gate_weighing_view_tree')
        self.event_fields = tree_fields(env, 'env.gate.event',
                                        'env_gate_ledger.env_gate_event_view_tree')
        # the busiest truck: the worst case for "its passages"
        env.cr.execute('SELECT vehicle_id FROM env_gate_passage WHERE vehicle_id IS NOT NULL '
                       'GROUP BY vehicle_id ORDER BY count(*) DESC LIMIT 1')
        self.vehicle_id = env.cr.fetchone()[0]

    # a. dashboard ----------------------------------------------------------------------

    def dashboard(self):
        """What the dashboard (the app's first screen) reads when it opens: its kanban
        view's fields of the company's env.gate.dashboard record."""
        Dashboard = self.env['env.gate.dashboard']
        fields = list(Dashboard.fields_view_get(view_type='kanban')['fields'])
        values = Dashboard.search_read([], fields)[0]     # as the kanban view asks
        return {key: values[key] for key in ('entries_today', 'exits_today', 'refusals_today',
                                             'lifts_today', 'review_all', 'on_site',
                                             'month_clean_share', 'clean_transport_share')
                if key in values}

    # b. pivot --------------------------------------------------------------------------

    def month_pivot(self):
        """The pivot view's calls: totals, by gate, by stage, by stage and gate."""
        start, end = self.last_month
        domain = [('pass_date', '>=', str(start)), ('pass_date', '<=', str(end))]
        cells = 0
        for groupby in ([], ['gate_id'], ['emission_stage'], ['emission_stage', 'gate_id']):
            cells += len(self.Passage.read_group(domain, groupby + ['quantity'], groupby,
                                                 lazy=False))
        return {'month': str(start)[:7], 'cells': cells}

    def month_pivot_single(self):
        start, end = self.last_month
        groups = self.Passage.read_group(
            [('pass_date', '>=', str(start)), ('pass_date', '<=', str(end))],
            ['emission_stage', 'gate_id', 'quantity'], ['emission_stage', 'gate_id'], lazy=False)
        return {'groups': len(groups), 'passages': sum(g['__count'] for g in groups)}

    # c. clean transport over a year ----------------------------------------------------

    def yearly_clean_transport(self):
        report = self.env['env.gate.transport.report'].create({
            'date_from': str(self.today - datetime.timedelta(days=364)),
            'date_to': str(self.today), 'company_id': self.company.id})
        report.action_compute()
        return {'entries': report.road_trips, 'road t': round(report.road_tonnage),
                'V+ share %': report.v_plus_trip_share, 'clean share %': report.clean_share,
                'grade': report.grade}

    # d. passage list -------------------------------------------------------------------

    def passage_list_month(self):
        return {'count': list_open(self.env, 'env.gate.passage',
                                   [('pass_date', '>=', str(self.month_start))],
                                   self.passage_fields)}

    def passage_list_all(self):
        return {'count': list_open(self.env, 'env.gate.passage', [], self.passage_fields)}

    # e. vehicles -----------------------------------------------------------------------

    def vehicle_list(self):
        return {'count': list_open(self.env, 'env.gate.vehicle',
                                   [('category', '=', 'transport')], self.vehicle_fields)}

    def vehicle_form_and_passages(self):
        vehicle = self.env['env.gate.vehicle'].browse(self.vehicle_id)
        form = self.env['env.gate.vehicle'].fields_view_get(view_type='form')['fields']
        vehicle.read(list(form))
        action = vehicle.action_view_passages()
        count = list_open(self.env, 'env.gate.passage', action['domain'], self.passage_fields)
        return {'vehicle': vehicle.plate, 'passages': count,
                'passage_count': vehicle.passage_count}

    # f. other lists --------------------------------------------------------------------

    def review_list(self):
        return {'count': list_open(self.env, 'env.gate.passage', [('needs_review', '=', True)],
                                   self.passage_fields)}

    def on_site_list(self):
        return {'count': list_open(self.env, 'env.gate.passage',
                                   self.Passage._on_site_domain(), self.passage_fields)}

    def weighing_list(self):
        return {'count': list_open(self.env, 'env.gate.weighing', [], self.weighing_fields)}

    def event_list(self):
        return {'count': list_open(self.env, 'env.gate.event', [], self.event_fields)}


OPERATIONS = [
    ('a', 'dashboard: the first screen as it opens (all its figures)', 'dashboard', 1.0),
    ('b', 'month pivot by stage x gate (4 read_group, as the view)', 'month_pivot', 2.0),
    ('b1', 'month pivot, one read_group(stage, gate)', 'month_pivot_single', 2.0),
    ('c', 'yearly clean-transport figures (create + Compute)', 'yearly_clean_transport', 3.0),
    ('d1', 'passage list, This Month filter (80 rows + count)', 'passage_list_month', None),
    ('d2', 'passage list, no filter (80 rows + count of all)', 'passage_list_all', None),
    ('e1', 'vehicle list (80 rows + count)', 'vehicle_list', None),
    ('e2', 'busiest vehicle: form + its passages', 'vehicle_form_and_passages', None),
    ('f1', 'Waiting for Review list', 'review_list', None),
    ('f2', 'Vehicles on Site list', 'on_site_list', None),
    ('f3', 'weighbridge ticket list (no filter)', 'weighing_list', None),
    ('f4', 'device event list (no filter)', 'event_list', None),
]


def measure(env, ops, runs, selected):
    """{key: (median, [times], result, slowest statements of the last run)}"""
    global TRACE
    results = collections.OrderedDict()
    for key, label, method, target in OPERATIONS:
        if selected and key not in selected:
            continue
        times = []
        for _run in range(runs):
            env.clear()         # no warm ORM cache between runs
            TRACE = []
            start = time.perf_counter()
            result = getattr(ops, method)()
            times.append(time.perf_counter() - start)
            trace, TRACE = TRACE, None
            env.cr.rollback()        # the transient report rows, nothing else changes
        median = statistics.median(times)
        flag = '' if target is None else ('  OK (< %g s)' % target if median < target
                                          else '  SLOW (target %g s)' % target)
        print('%-3s %-58s median %7.3f s  runs %s%s' % (
            key, label, median, ' '.join('%.3f' % t for t in times), flag), flush=True)
        print('      %s' % ', '.join('%s: %s' % kv for kv in result.items()), flush=True)
        results[key] = (median, times, result, sorted(trace, key=lambda t: -t[0])[:5])
    return results


def normalise(query):
    return re.sub(r'\s+', ' ', query if isinstance(query, str) else query.decode()).strip()


def explain(env, results, top):
    """EXPLAIN ANALYZE of the `top` slowest distinct statements seen in the last runs."""
    seen = {}
    for key, (_m, _t, _r, slowest) in results.items():
        for seconds, query, params in slowest:
            text = normalise(query)
            if text.startswith(('SELECT', 'WITH')) and (
                    text not in seen or seen[text][0] < seconds):
                seen[text] = (seconds, key, query, params)
    print('\n== the %d slowest statements, with EXPLAIN (ANALYZE, BUFFERS)' % top)
    for seconds, key, query, params in sorted(seen.values(), key=lambda s: -s[0])[:top]:
        sql = env.cr._obj.mogrify(query, params).decode()
        print('\n-- %.3f s in %s:\n%s' % (seconds, key, normalise(sql)))
        env.cr.execute('EXPLAIN (ANALYZE, BUFFERS) ' + sql)
        for (line,) in env.cr.fetchall():
            print('   ' + line)
        env.cr.rollback()


def set_indexes(cr, create):
    for _name, create_sql, drop_sql, _why in RECOMMENDED:
        if create:
            start = time.perf_counter()
            cr.execute(create_sql)
            print('   %5.1f s  %s' % (time.perf_counter() - start, create_sql))
        else:
            cr.execute(drop_sql)
    cr.execute('ANALYZE env_gate_passage')
    cr.execute('ANALYZE env_gate_weighing')
    cr.commit()


def verify(env, ledgers):
    """Time Verify Ledger (the model's own _chain_verify) over whole chains, once each."""
    print('\n== chain verification (%s)' % ', '.join(ledgers))
    for model in ledgers:
        Model = env[model].sudo()
        count = Model.search_count([])
        start = time.perf_counter()
        found = Model._chain_verify()
        seconds = time.perf_counter() - start
        print('%-22s %9d records  %7.1f s  %6.0f records/s  %s' % (
            model, count, seconds, count / seconds if seconds else 0,
            'intact' if found is None else 'BROKEN at %s: %s' % (found.record_id,
                                                                found.message_en)),
              flush=True)
        env.clear()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-d', '--db', default='env_gate_scale')
    parser.add_argument('-c', '--config', default=os.path.join(ROOT, '.state', 'odoo.conf'))
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--user', default='bench_manager',
                        help='login to run as (record rules apply); "admin" for superuser')
    parser.add_argument('--only', default='', help='comma-separated keys, e.g. a,b,c')
    parser.add_argument('--explain', type=int, default=0, metavar='N',
                        help='EXPLAIN ANALYZE the N slowest statements')
    parser.add_argument('--indexes', action='store_true',
                        help='measure, create the recommended indexes, measure again')
    parser.add_argument('--keep-indexes', action='store_true',
                        help='leave the recommended indexes in the database')
    parser.add_argument('--verify', default='', metavar='MODELS',
                        help='also time Verify Ledger over whole chains, e.g. '
                             'env.gate.event,env.gate.correction,env.gate.passage')
    parser.add_argument('--pg', action='append', default=[], metavar='NAME=VALUE',
                        help='PostgreSQL setting for this session, e.g. --pg jit=off')
    args = parser.parse_args()

    import odoo
    from odoo import api
    odoo.tools.config.parse_config(['-c', args.config, '-d', args.db, '--log-level=warn'])
    install_tracer(odoo)
    registry = odoo.registry(args.db)
    selected = set(filter(None, args.only.split(',')))
    with api.Environment.manage(), registry.cursor() as cr:
        admin = api.Environment(cr, odoo.SUPERUSER_ID, {})
        user = admin['res.users'].search([('login', '=', args.user)], limit=1)
        if not user:
            sys.exit('no user %s in %s: make the database with bench/generate.py'
                     % (args.user, args.db))
        for setting in args.pg:
            name, _sep, value = setting.partition('=')
            cr.execute('SELECT set_config(%s, %s, false)', (name, value))
        cr.commit()
        cr.execute('SELECT count(*) FROM env_gate_passage')
        print('%s: %d passages; running as %s, %d runs each%s\n'
              % (args.db, cr.fetchone()[0], args.user, args.runs,
                 ''.join('; SET %s' % s for s in args.pg)))
        if args.indexes:
            set_indexes(cr, create=False)       # "before" means without them
        env = api.Environment(cr, user.id, {'lang': 'zh_CN', 'tz': 'Asia/Shanghai'})
        ops = Operations(env)
        before = measure(env, ops, args.runs, selected) if args.runs else {}
        if args.verify:
            verify(env, args.verify.split(','))
        if args.explain:
            explain(env, before, args.explain)
        if args.indexes:
            print('\n== creating the recommended indexes')
            set_indexes(cr, create=True)
            after = measure(env, ops, args.runs, selected)
            if args.explain:
                explain(env, after, args.explain)
            print('\n== medians before -> after the recommended indexes')
            for key, label, _method, target in OPERATIONS:
                if key in before:
                    print('%-3s %-58s %7.3f s -> %7.3f s' % (key, label, before[key][0],
                                                               after[key][0]))
            if not args.keep_indexes:
                set_indexes(cr, create=False)
                print('(dropped them again; --keep-indexes leaves them)')


if __name__ == '__main__':
    main()
