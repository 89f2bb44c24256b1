#!/usr/bin/env python3
"""Time to compute a month's clean-transport figures over 100,000 weighings.

Copies the database's demo trucks into a month of their own (2031-01): 100,000 done
weighing tickets and their 100,000 entry passages, spread over the register's stages,
fuels and cargo kinds, plus daily rail tonnage. Then runs the Clean Transport report
(`env.gate.transport.report.action_compute`, what a manager's "Compute" button runs)
`--runs` times and prints each time and the median. Everything happens in one
transaction that is rolled back, so the database is left as it was.

    .venv/bin/python bench/clean_transport.py -d env_gate_demo
"""
import argparse
import os
import random
import statistics
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-d', '--db', default='env_gate_demo')
    parser.add_argument('-c', '--config', default=os.path.join(ROOT, '.state', 'odoo.conf'))
    parser.add_argument('--weighings', type=int, default=100000)
    parser.add_argument('--runs', type=int, default=7)
    args = parser.parse_args()

    import odoo
    from odoo import api
    from psycopg2.extras import execute_values
    odoo.tools.config.parse_config(['-c', args.config, '-d', args.db, '--log-level=warn'])
    registry = odoo.registry(args.db)
    with api.Environment.manage(), registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {'lang': 'zh_CN', 'tz': 'Asia/Shanghai'})
        company = env.user.company_id
        vehicles = env['env.gate.vehicle'].search_read(
            [('category', '=', 'transport'), ('company_id', '=', company.id)],
            ['plate', 'emission_stage', 'fuel_type'])
        cargos = env['env.gate.cargo'].search([]).ids
        lane = env['env.gate.lane'].search([('company_id', '=', company.id)], limit=1)
        if not vehicles or not cargos or not lane:
            sys.exit('%s has no demo register: install env_gate_ledger with demo data' % args.db)
        rng = random.Random(1321)
        tickets, passages = [], []
        for n in range(args.weighings):
            v = vehicles[n % len(vehicles)]
            day, minute = 1 + n % 31, rng.randint(0, 23 * 60)
            first = '2031-01-%02d %02d:%02d:00' % (day, minute // 60, minute % 60)
            tare = round(rng.uniform(14, 17.5), 2)
            gross = round(tare + rng.uniform(24, 31), 2)
            cargo = cargos[n % len(cargos)]
            tickets.append(('BENCH%06d' % n, company.id, lane.id, v['id'], v['plate'], cargo,
                            'in', gross, first, tare, first, gross, tare, round(gross - tare, 3),
                            'done', v['emission_stage'], v['fuel_type'], first[:10]))
            passages.append(('BENCH%06d' % n, company.id, lane.id, '1', first, first[:10],
                             'device', '1', v['id'], v['plate'], v['emission_stage'],
                             v['fuel_type'], 'transport', cargo, False))
        t0 = time.perf_counter()
        execute_values(cr._obj, """
            INSERT INTO env_gate_weighing (name, company_id, lane_id, vehicle_id, plate_key,
                cargo_id, kind, first_weight, first_time, second_weight, second_time, gross,
                tare, net, state, emission_stage, fuel_type, weigh_date)
            VALUES %s""", tickets, page_size=5000)
        execute_values(cr._obj, """
            INSERT INTO env_gate_passage (name, company_id, lane_id, direction, pass_time,
                pass_date, source, decision, vehicle_id, plate_key, emission_stage, fuel_type,
                category, cargo_id, voided)
            VALUES %s""", passages, page_size=5000)
        execute_values(cr._obj, """
            INSERT INTO env_gate_transport_volume (date, mode, cargo_id, direction, tonnage,
                source, company_id) VALUES %s""",
            [('2031-01-%02d' % d, 'rail', cargos[0], 'in', 3000.0, 'import', company.id)
             for d in range(1, 32)])
        cr.execute('ANALYZE env_gate_weighing; ANALYZE env_gate_passage')
        print('loaded %d weighings and %d passages in %.1f s'
              % (len(tickets), len(passages), time.perf_counter() - t0))

        Report = env['env.gate.transport.report']
        times = []
        for run in range(args.runs):
            env.clear()          # no warm ORM cache between runs
            report = Report.create({'date_from': '2031-01-01', 'date_to': '2031-01-31',
                                    'company_id': company.id})
            start = time.perf_counter()
            report.action_compute()
            times.append(time.perf_counter() - start)
            print('run %d: %.3f s  (grade %s, %d entries, road %.0f t, clean share %.1f %%)'
                  % (run + 1, times[-1], report.grade, report.road_trips, report.road_tonnage,
                     report.clean_share))
        print('median %.3f s for a month of %d weighings (min %.3f, max %.3f)'
              % (statistics.median(times), len(tickets), min(times), max(times)))
        cr.rollback()


if __name__ == '__main__':
    main()
