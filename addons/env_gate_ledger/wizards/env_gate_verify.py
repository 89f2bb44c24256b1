from odoo import _, api, fields, models

LEDGERS = [('env.gate.event', 'Device Events'), ('env.gate.passage', 'Passages'),
           ('env.gate.correction', 'Corrections')]


class EnvGateVerify(models.TransientModel):
    """Recompute the hash chain and name the first record that no longer matches."""
    _name = 'env.gate.verify'
    _description = 'Verify Ledger'

    ledger = fields.Selection(LEDGERS, 'Ledger', required=True, default='env.gate.passage')
    company_id = fields.Many2one('res.company', 'Company', required=True,
                                 default=lambda self: self.env.user.company_id)
    state = fields.Selection([('draft', 'Draft'), ('ok', 'Intact'), ('broken', 'Broken')],
                             default='draft', readonly=True)
    checked = fields.Integer('Records Checked', readonly=True)
    result = fields.Text('Result', readonly=True)
    broken_res_id = fields.Integer('First Broken Record', readonly=True)

    @api.multi
    def action_verify(self):
        self.ensure_one()
        Model = self.env[self.ledger].sudo()
        checked = Model.search_count([('company_id', '=', self.company_id.id),
                                      ('chain_seq', '!=', False)])
        found = Model._chain_verify(self.company_id)
        if found:
            record = Model.browse(found.record_id)
            self.write({
                'state': 'broken', 'checked': checked, 'broken_res_id': found.record_id,
                'result': _('First broken record: %s (id %s)\n%s\n%s') % (
                    record.display_name, found.record_id, found.message_zh, found.message_en),
            })
        else:
            self.write({'state': 'ok', 'checked': checked,
                        'result': _('All %s records match their chain.\n全部 %s 条记录与哈希链一致。')
                        % (checked, checked)})
        return {'type': 'ir.actions.act_window', 'res_model': self._name, 'res_id': self.id,
                'view_mode': 'form', 'target': 'new'}

    @api.multi
    def action_open_broken(self):
        self.ensure_one()
        return {'type': 'ir.actions.act_window', 'res_model': self.ledger,
                'res_id': self.broken_res_id, 'view_mode': 'form', 'target': 'current'}
