from odoo import api, fields, models


class EnvGateAppointment(models.Model):
    """A truck expected for a purchase order or a delivery (预约), so its weighings find
    the right transfer even when the haulier is not the supplier."""
    _name = 'env.gate.appointment'
    _description = 'Truck Appointment'
    _inherit = ['env.gate.plate.mixin']
    _order = 'date_expected desc, id desc'

    plate = fields.Char('Plate', required=True)
    vehicle_id = fields.Many2one('env.gate.vehicle', 'Vehicle', compute='_compute_vehicle_id')
    purchase_id = fields.Many2one('purchase.order', 'Purchase Order', ondelete='cascade',
                                  index=True)
    picking_id = fields.Many2one('stock.picking', 'Delivery', ondelete='cascade', index=True)
    picking_ids = fields.Many2many('stock.picking', compute='_compute_picking_ids')
    cargo_id = fields.Many2one('env.gate.cargo', 'Cargo')
    date_expected = fields.Date('Expected On', default=fields.Date.context_today)
    state = fields.Selection([('planned', 'Planned'), ('done', 'Arrived'),
                              ('cancel', 'Cancelled')], default='planned', required=True)
    company_id = fields.Many2one('res.company', 'Company', required=True,
                                 default=lambda self: self.env.user.company_id)

    @api.depends('plate')
    def _compute_vehicle_id(self):
        for appointment in self:
            appointment.vehicle_id = self.env['env.gate.vehicle']._find_by_plate(
                appointment.plate, appointment.company_id) if appointment.plate else False

    @api.depends('purchase_id.picking_ids', 'picking_id')
    def _compute_picking_ids(self):
        for appointment in self:
            appointment.picking_ids = appointment.purchase_id.picking_ids | appointment.picking_id
