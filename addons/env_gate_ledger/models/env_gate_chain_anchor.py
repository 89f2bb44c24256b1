"""Where a company's chain resumes after a retention purge removed its oldest records."""
from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .env_gate_chain_mixin import LEDGERS


class EnvGateChainAnchor(models.Model):
    """The last purged record's chain position and hash: the first remaining record must
    follow it, so verification after a purge still proves nothing was removed or edited
    since. Written by the purge only, never changed."""
    _name = 'env.gate.chain.anchor'
    _description = 'Ledger Chain Anchor'
    _order = 'create_date desc, id desc'
    _rec_name = 'chain_seq'

    model = fields.Selection(LEDGERS, 'Ledger', required=True, readonly=True)
    company_id = fields.Many2one('res.company', 'Company', required=True, readonly=True)
    chain_seq = fields.Integer('Last Purged Chain Position', required=True, readonly=True)
    chain_hash = fields.Char('Its Hash', required=True, readonly=True)
    cutoff = fields.Datetime('Cut-off', required=True, readonly=True,
                             help='Only records older than this were purged.')
    count = fields.Integer('Records Purged', readonly=True)
    purge_log_id = fields.Many2one('env.gate.purge.log', 'Purge', readonly=True,
                                   ondelete='restrict')

    _sql_constraints = [
        ('model_company_seq_uniq', 'unique(model, company_id, chain_seq)',
         'A chain position can be anchored only once.'),
    ]

    @api.multi
    def write(self, vals):
        raise UserError(_('Chain anchors cannot be changed.\n链锚点不可修改。'))

    @api.multi
    def unlink(self):
        raise UserError(_('Chain anchors cannot be deleted.\n链锚点不可删除。'))
