from odoo import fields, models


class EnvGateCargo(models.Model):
    """A kind of cargo (运输货物), named as the regulator's ledger names it."""
    _name = 'env.gate.cargo'
    _description = 'Cargo Kind'
    _order = 'code'

    name = fields.Char('Cargo', required=True, size=32, translate=True)
    code = fields.Char('Code', required=True, size=16)
    product_id = fields.Many2one('product.product', 'Product')
    uom = fields.Selection([('t', 't'), ('L', 'L'), ('m3', 'm³')], 'Unit', required=True, default='t')
    bulk = fields.Boolean('Bulk Material', help='Counts as bulk material (大宗物料) for the '
                                                'clean-transport share.')
    company_id = fields.Many2one('res.company', 'Company',
                                 default=lambda self: self.env.user.company_id)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ('code_company_uniq', 'unique(company_id, code)', 'The cargo code must be unique per company.'),
    ]
