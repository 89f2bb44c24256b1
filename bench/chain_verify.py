#!/usr/bin/env python3
"""Whole-ledger hash-chain verification: records per second, SQL walk against the ORM walk.

The daily job (env.gate.chain.check._cron_verify_all) and Verify Ledger read the sealed
columns with plain SQL through a server-side cursor (env.gate.chain.mixin._chain_check);
before that, Verify Ledger walked the chain through the ORM (845 records/s on
env_gate_scale). This times both on every company's chains of a database, read-only
(it rolls back), and the two JSON writers of hj1321.chain on the same payloads.

    .venv/bin/python bench/chain_verify.py -d wt_retain
    .venv/bin/python bench/chain_verify.py -d env_gate_scale --runs 1 --orm-sample 20000
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(ROOT, 'addons', 'env_gate_ledger'))

from hj1321 import chain  # noqa: E402  (framework-free)

LEDGERS = ('env.gate.passage', 'env.gate.event', 'env.gate.correction')


def orm_walk(Model, company, limit):
    """The former _chain_verify: search in chain order by batches, read through the ORM."""
    last, count = 0, 0
    rows = []
    while count < limit:
        records = Model.with_context(active_test=False).search(
            [('company_id', '=', company.id), ('chain_seq', '>', last)], order='chain_seq',
            limit=min(2000, limit - count))
        if not records:
            break
        for record in records:
            rows.append((record.id, record._chain_payload(), record.chain_prev,
                         record.chain_hash))
        count += len(records)
        last = records[-1].chain_seq
        records.invalidate_cache()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-d', '--db', required=True)
    parser.add_argument('-c', '--config', default=os.path.join(ROOT, '.state', 'odoo.conf'))
    parser.add_argument('--runs', type=int, default=5, help='runs of each; medians printed')
    parser.add_argument('--orm-sample', type=int, default=5000,
                        help='records the ORM walk reads per ledger (it is slow)')
    args = parser.parse_args()

    import odoo
    from odoo import api
    odoo.tools.config.parse_config(['-c', args.config, '-d', args.db, '--log-level=warn'])
    registry = odoo.registry(args.db)
    with api.Environment.manage(), registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        cr.execute('SELECT pg_size_pretty(pg_database_size(%s))', (args.db,))
        print('%s (%s), %d runs, medians\n' % (args.db, cr.fetchone()[0], args.runs))
        print('%-22s %-8s %9s %9s %10s  %9s %10s  %s' % (
            'ledger', 'company', 'records', 'SQL s', 'SQL rec/s', 'ORM rec', 'ORM rec/s',
            'result'))
        payloads = []
        for company in env['res.company'].search([]):
            for model in LEDGERS:
                Model = env[model]
                timings, found = [], None
                for _run in range(max(args.runs, 1)):
                    env.clear()
                    started = time.perf_counter()
                    found = Model._chain_check(company.id)
                    timings.append(time.perf_counter() - started)
                if not found['checked']:
                    continue
                sql_s = statistics.median(timings)
                env.clear()
                started = time.perf_counter()
                rows = orm_walk(Model, company, args.orm_sample)
                orm_s = time.perf_counter() - started
                payloads += [row[1] for row in rows[:2000]]
                print('%-22s %-8d %9d %9.3f %10.0f  %9d %10.0f  %s' % (
                    model, company.id, found['checked'], sql_s, found['checked'] / sql_s,
                    len(rows), len(rows) / orm_s if orm_s else 0,
                    'intact' if not found['break'] else 'BROKEN at %s: %s' % (
                        found['broken_id'], found['break'].message_en)), flush=True)
        cr.rollback()
    if payloads:
        plain = [{k: chain.plain_float(v) if isinstance(v, float) else v
                  for k, v in p.items()} for p in payloads]
        for name, function, data in (('chain_hash', chain.chain_hash, payloads),
                                     ('plain_chain_hash', chain.plain_chain_hash, plain)):
            timings = []
            for _run in range(5):
                started = time.perf_counter()
                for payload in data:
                    function(chain.GENESIS, payload)
                timings.append(time.perf_counter() - started)
            print('\n%-17s %7.0f hashes/s (%d ORM payloads)'
                  % (name, len(data) / statistics.median(timings), len(data)), end='')
        print()


if __name__ == '__main__':
    main()
