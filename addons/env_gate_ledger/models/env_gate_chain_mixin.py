"""Append-only, hash-chained ledger records.

An inspector must be able to trust that nobody rewrote a plate or invented an exit time
after the fact (a real open-source ledger did exactly that). Every ledger model seals each
new record with a SHA-256 over the previous record's hash and its own immutable fields;
editing those fields through the ORM is refused and editing them in the database breaks
the chain, which `verify` reports.
"""
import uuid
import zlib

import psycopg2
from psycopg2.extras import execute_values

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..hj1321 import chain

CHAIN_COLUMNS = ('chain_seq', 'chain_prev', 'chain_hash')
# The chained ledgers, in the order the retention purge removes them (events first).
LEDGERS = [('env.gate.event', 'Device Events'), ('env.gate.passage', 'Passages'),
           ('env.gate.correction', 'Corrections')]


class EnvGateChainMixin(models.AbstractModel):
    _name = 'env.gate.chain.mixin'
    _description = 'Hash-chained ledger record'

    # Fields sealed by the hash; models list them. Everything else is derived state
    # (pairing, review status, links) that the system may still set.
    _chain_fields = ()
    # The column a record's age is read from, for the retention purge.
    _chain_date_field = 'create_date'

    company_id = fields.Many2one(
        'res.company', 'Company', required=True, index=True, readonly=True,
        default=lambda self: self.env.user.company_id)
    chain_seq = fields.Integer('Chain Position', readonly=True, copy=False, index=True)
    chain_prev = fields.Char('Previous Hash', readonly=True, copy=False)
    chain_hash = fields.Char('Record Hash', readonly=True, copy=False)

    # The database itself refuses a fork: two records at one chain position.
    _sql_constraints = [
        ('chain_seq_company_uniq', 'unique(company_id, chain_seq)',
         'Two ledger records cannot take the same chain position.'),
    ]

    @api.model
    def _chain_value(self, name, value):
        """One sealed value as the ORM reads it back, whichever path wrote it."""
        ftype = self._fields[name].type
        if ftype == 'many2one':
            return (value.id if isinstance(value, models.BaseModel) else value) or None
        if ftype in ('one2many', 'many2many'):
            return sorted(value.ids)
        if ftype == 'boolean':
            return bool(value)
        if ftype in ('float', 'monetary'):
            return float(value or 0.0)
        if ftype == 'integer':
            return int(value or 0)
        return value if value not in (False, None, '') else None

    @api.model
    def _chain_payload_from(self, values):
        """The sealed content of a row given as a dict of column values."""
        return {name: self._chain_value(name, values.get(name)) for name in self._chain_fields}

    def _chain_payload(self):
        """The sealed content of one stored record."""
        self.ensure_one()
        return {name: self._chain_value(name, self[name]) for name in self._chain_fields}

    def _chain_lock_key(self):
        return zlib.crc32(self._table.encode()) & 0x7fffffff

    def _chain_head(self, company_id):
        """Lock this table's chain for the company; return its last (seq, hash).

        A transaction-scoped advisory lock per table and company serialises sealing, so
        two workers ingesting at once still build one unbroken chain.
        """
        cr = self.env.cr
        cr.execute('SELECT pg_advisory_xact_lock(%s, %s)', (self._chain_lock_key(), company_id))
        query = ('SELECT chain_seq, chain_hash FROM "%s" '
                 'WHERE company_id = %%s AND chain_seq IS NOT NULL '
                 'ORDER BY chain_seq DESC LIMIT 1' % self._table)
        cr.execute(query, (company_id,))
        heads = [cr.fetchone()]
        # Odoo transactions are REPEATABLE READ: this one's snapshot may predate the commit
        # of whoever held the lock before us (two gate boxes forwarding at once), and a
        # stale head would fork the chain. Read the committed head afresh too; our own
        # uncommitted rows are only in our snapshot, so the later of the two wins.
        heads.append(self._chain_committed_head(query, (company_id,)))
        heads = [head for head in heads if head]
        # every record purged by retention: the chain goes on from the anchor
        return max(heads) if heads else self._chain_start(company_id)

    def _chain_committed_head(self, query, params):
        """The head as committed now, read through a cursor of its own; None when that
        cursor cannot read the table: created or altered by this very transaction (a
        module install or update), which then is the only one writing to it."""
        try:
            with self.pool.cursor() as fresh:
                fresh.execute("SET LOCAL lock_timeout = '2s'")
                fresh.execute(query, params, log_exceptions=False)
                return fresh.fetchone()
        except psycopg2.Error:
            return None

    def _chain_seal(self):
        """Append records just created through the ORM to their company's chain."""
        cr = self.env.cr
        for company in self.mapped('company_id'):
            seq, prev = self._chain_head(company.id)
            for record in self.filtered(lambda r: r.company_id == company).sorted('id'):
                seq += 1
                digest = chain.chain_hash(prev, record._chain_payload())
                cr.execute('UPDATE "%s" SET chain_seq = %%s, chain_prev = %%s, chain_hash = %%s '
                           'WHERE id = %%s' % self._table, (seq, prev, digest, record.id))
                prev = digest
        self.invalidate_cache(list(CHAIN_COLUMNS), self.ids)

    @api.model
    def _chain_reserve_ids(self, count):
        """Ids for rows about to be inserted, so rows of one batch can refer to each other."""
        self.env.cr.execute("SELECT nextval('%s_id_seq') FROM generate_series(1, %%s)"
                            % self._table, (count,))
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _chain_insert(self, company_id, rows):
        """Insert complete rows (column -> value, with 'id') in order, sealed, in one query.

        The ingestion hot path: the ORM's create() costs about 10 ms per passage, this
        about 0.3 ms. Rows must carry every stored field, computed ones included.
        """
        if not rows:
            return
        seq, prev = self._chain_head(company_id)
        now, uid = fields.Datetime.now(), self.env.uid
        columns = sorted(set().union(*rows) | {'company_id', 'create_uid', 'create_date',
                                               'write_uid', 'write_date'} | set(CHAIN_COLUMNS))
        values = []
        for row in rows:
            row = dict(row, company_id=company_id, create_uid=uid, create_date=now,
                       write_uid=uid, write_date=now)
            seq += 1
            digest = chain.chain_hash(prev, self._chain_payload_from(row))
            row.update(chain_seq=seq, chain_prev=prev, chain_hash=digest)
            prev = digest
            values.append(tuple(row.get(column) for column in columns))
        query = 'INSERT INTO "%s" (%s) VALUES %%s' % (
            self._table, ', '.join('"%s"' % column for column in columns))
        execute_values(self.env.cr._obj, query, values, page_size=500)
        self.invalidate_cache(ids=[row['id'] for row in rows])

    @api.model
    def create(self, vals):
        record = super(EnvGateChainMixin, self).create(vals)
        record._chain_seal()
        return record

    @api.multi
    def write(self, vals):
        frozen = set(vals) & (set(self._chain_fields) | set(CHAIN_COLUMNS))
        if frozen:
            raise UserError(_(
                'Ledger records cannot be edited (%s). Record a correction with a reason '
                'instead.\n台账记录不可修改（%s），请另行登记更正并说明原因。')
                % (', '.join(sorted(frozen)), ', '.join(sorted(frozen))))
        return super(EnvGateChainMixin, self).write(vals)

    @api.multi
    def unlink(self):
        self.check_access_rights('unlink')
        raise UserError(_(
            'Ledger records are never deleted; the regulation requires keeping them for at '
            'least 24 months.\n台账记录不可删除，按规定须至少保存24个月。'))

    @api.model
    def _chain_sql_converter(self, name):
        """A function turning the value Odoo's cursor returns for the column `name` into what
        _chain_value gives for the ORM's value, already plain for chain.plain_chain_hash.

        Odoo's cursor returns timestamps and dates as text (with microseconds when the
        database wrote them, e.g. create_date; the ORM cuts them), NUMERIC and float8 as
        float, booleans as bool or NULL, many2one as int or NULL.
        """
        ftype = self._fields[name].type
        if ftype == 'many2one':
            return lambda value: value or None
        if ftype == 'boolean':
            return bool
        if ftype in ('float', 'monetary'):
            return lambda value: chain.plain_float(float(value or 0.0))
        if ftype == 'integer':
            return lambda value: int(value or 0)
        if ftype == 'datetime':
            return lambda value: (value if isinstance(value, str) else fields.Datetime.to_string(
                value))[:19] if value else None
        if ftype == 'date':
            return lambda value: (value if isinstance(value, str) else fields.Date.to_string(
                value))[:10] if value else None
        if ftype in ('char', 'text', 'selection', 'html'):
            return lambda value: value if value not in (False, None, '') else None
        raise NotImplementedError('cannot verify a sealed %s field (%s) with SQL' % (ftype, name))

    @api.model
    def _chain_start(self, company_id):
        """(chain position, hash) the company's remaining chain starts after: the newest
        retention anchor, or (0, GENESIS) when nothing was ever purged."""
        anchor = self.env['env.gate.chain.anchor'].sudo().search([
            ('model', '=', self._name), ('company_id', '=', company_id)],
            order='chain_seq desc', limit=1)
        return (anchor.chain_seq, anchor.chain_hash) if anchor else (0, chain.GENESIS)

    @api.model
    def _chain_check(self, company_id, until_seq=None, itersize=5000, after=None):
        """Walk one company's chain with plain SQL, from the newest anchor, in chain order
        (up to `until_seq` when given; from the record after `after` = (chain position,
        its stored hash) when given: a stretch of the chain, as the audit export checks). Returns a dict: checked (records read), start_seq,
        break (a chain.ChainBreak or None), broken_id, broken_seq, last_seq, last_hash.

        The ORM walk costs ~1 ms a record (845 records/s, bench/README.md); this reads the
        sealed columns through a server-side cursor on the transaction's own connection
        (so it sees what the transaction sees) and hashes the values as they come.
        Records with no chain position (inserted behind the ORM's back) break it too.
        """
        start_seq, start_hash = after or self._chain_start(company_id)
        names = list(self._chain_fields)
        converters = [self._chain_sql_converter(name) for name in names]
        query = ('SELECT id, chain_seq, chain_prev, chain_hash, %s FROM "%s" '
                 'WHERE company_id = %%s AND chain_seq > %%s AND chain_seq <= %%s '
                 'ORDER BY chain_seq' % (', '.join('"%s"' % name for name in names),
                                         self._table))
        result = {'checked': 0, 'start_seq': start_seq, 'break': None, 'broken_id': None,
                  'broken_seq': None, 'last_seq': start_seq, 'last_hash': start_hash}
        current = {}      # the record being checked: id -> chain position

        def records(cursor):
            while True:
                rows = cursor.fetchmany(itersize)
                if not rows:
                    return
                for row in rows:
                    result['checked'] += 1
                    current.clear()
                    current[row[0]] = row[1]
                    yield (row[0], {name: convert(value) for name, convert, value
                                    in zip(names, converters, row[4:])}, row[2], row[3])
                    result['last_seq'], result['last_hash'] = row[1], row[3]

        cursor = self.env.cr._cnx.cursor('env_gate_chain_%s' % uuid.uuid4().hex)
        try:
            cursor.itersize = itersize
            cursor.execute(query, (company_id, start_seq,
                                   until_seq if until_seq is not None else 2 ** 31 - 1))
            found = chain.verify_chain(records(cursor), start_hash, chain.plain_chain_hash)
        finally:
            cursor.close()
        if found:
            result.update({'break': found, 'broken_id': found.record_id,
                           'broken_seq': current.get(found.record_id)})
            return result
        if until_seq is None:
            self.env.cr.execute('SELECT id FROM "%s" WHERE company_id = %%s AND chain_seq IS NULL '
                                'ORDER BY id LIMIT 1' % self._table, (company_id,))
            row = self.env.cr.fetchone()
            if row:
                result.update({'broken_id': row[0], 'break': chain.ChainBreak(
                    row[0], 'chain.unsealed',
                    '记录（%s）没有链位置：它是绕过系统直接写入数据库的' % row[0],
                    'Record %s has no chain position: it was written to the database '
                    'behind the system\'s back' % row[0])})
        return result

    @api.model
    def _chain_verify(self, company=None):
        """The first break in one company's chain, or None (see _chain_check)."""
        company = company or self.env.user.company_id
        return self._chain_check(company.id)['break']
