"""Append-only, hash-chained ledger records.

An inspector must be able to trust that nobody rewrote a plate or invented an exit time
after the fact (a real open-source ledger did exactly that). Every ledger model seals each
new record with a SHA-256 over the previous record's hash and its own immutable fields;
editing those fields through the ORM is refused and editing them in the database breaks
the chain, which `verify` reports.
"""
import zlib

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..hj1321 import chain

CHAIN_COLUMNS = ('chain_seq', 'chain_prev', 'chain_hash')


class EnvGateChainMixin(models.AbstractModel):
    _name = 'env.gate.chain.mixin'
    _description = 'Hash-chained ledger record'

    # Fields sealed by the hash; models list them. Everything else is derived state
    # (pairing, review status, links) that the system may still set.
    _chain_fields = ()

    company_id = fields.Many2one(
        'res.company', 'Company', required=True, index=True, readonly=True,
        default=lambda self: self.env.user.company_id)
    chain_seq = fields.Integer('Chain Position', readonly=True, copy=False, index=True)
    chain_prev = fields.Char('Previous Hash', readonly=True, copy=False)
    chain_hash = fields.Char('Record Hash', readonly=True, copy=False)

    def _chain_payload(self):
        """The sealed content of one record, as plain JSON-able values."""
        self.ensure_one()
        payload = {}
        for name in self._chain_fields:
            field = self._fields[name]
            value = self[name]
            if field.type == 'many2one':
                value = value.id or None
            elif field.type in ('one2many', 'many2many'):
                value = sorted(value.ids)
            elif field.type != 'boolean' and value is False:
                value = None
            payload[name] = value
        return payload

    def _chain_lock_key(self):
        return zlib.crc32(self._table.encode()) & 0x7fffffff

    def _chain_seal(self):
        """Append these new records to their company's chain, in id order.

        A transaction-scoped advisory lock per table and company serialises sealing, so
        two workers ingesting at once still build one unbroken chain.
        """
        cr = self.env.cr
        for company in self.mapped('company_id'):
            records = self.filtered(lambda r: r.company_id == company).sorted('id')
            cr.execute('SELECT pg_advisory_xact_lock(%s, %s)',
                       (self._chain_lock_key(), company.id))
            cr.execute('SELECT chain_seq, chain_hash FROM "%s" '
                       'WHERE company_id = %%s AND chain_seq IS NOT NULL '
                       'ORDER BY chain_seq DESC LIMIT 1' % self._table, (company.id,))
            row = cr.fetchone()
            seq, prev = row if row else (0, chain.GENESIS)
            for record in records:
                seq += 1
                digest = chain.chain_hash(prev, record._chain_payload())
                cr.execute('UPDATE "%s" SET chain_seq = %%s, chain_prev = %%s, chain_hash = %%s '
                           'WHERE id = %%s' % self._table, (seq, prev, digest, record.id))
                prev = digest
        self.invalidate_cache(list(CHAIN_COLUMNS), self.ids)

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
    def _chain_verify(self, company=None, batch=2000):
        """Walk one company's chain in order; return the first break or None."""
        company = company or self.env.user.company_id

        def rows():
            last = 0
            while True:
                records = self.with_context(active_test=False).search(
                    [('company_id', '=', company.id), ('chain_seq', '>', last)],
                    order='chain_seq', limit=batch)
                if not records:
                    return
                for record in records:
                    yield (record.id, record._chain_payload(), record.chain_prev, record.chain_hash)
                last = records[-1].chain_seq
                records.invalidate_cache()
        return chain.verify_chain(rows())
