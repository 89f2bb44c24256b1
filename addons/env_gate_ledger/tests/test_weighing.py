import datetime

from odoo.exceptions import UserError, ValidationError

from .common import GateCase, PLATE, PLATE_2


class WeighingCase(GateCase):
    """A supplier whose truck brings iron ore against a confirmed purchase order."""

    @classmethod
    def setUpClass(cls):
        super(WeighingCase, cls).setUpClass()
        cls.Weighing = cls.env['env.gate.weighing']
        cls.kg = cls.env.ref('product.product_uom_kgm')
        cls.tonne = cls.env.ref('product.product_uom_ton')
        cls.supplier = cls.env['res.partner'].create({'name': '测试矿业', 'supplier': True})
        cls.product = cls.env['product.product'].create({
            'name': 'Test ore', 'type': 'product', 'uom_id': cls.kg.id, 'uom_po_id': cls.kg.id})
        cls.cargo = cls.env['env.gate.cargo'].create({
            'name': '测试矿石', 'code': 'TST', 'product_id': cls.product.id, 'bulk': True})
        cls.truck.write({'partner_id': cls.supplier.id, 'rated_load': 31.0,
                         'tare_min': 13.0, 'tare_max': 18.0})
        cls.order = cls._order(cls.supplier, cls.product, 100000)
        cls.receipt = cls.order.picking_ids
        cls.start = datetime.datetime(2026, 1, 5, 0, 0)     # naive UTC

    @classmethod
    def _order(cls, partner, product, qty):
        order = cls.env['purchase.order'].create({
            'partner_id': partner.id,
            'order_line': [(0, 0, {'product_id': product.id, 'name': product.name,
                                   'product_qty': qty, 'product_uom': product.uom_po_id.id,
                                   'price_unit': 1.0, 'date_planned': '2026-01-05 00:00:00'})]})
        order.button_confirm()
        return order

    def weigh(self, weight, minutes, plate=PLATE, lane=None):
        return self.Weighing._record_weight(
            lane or self.lane_in, plate, weight,
            self.start + datetime.timedelta(minutes=minutes))


class TestWeighing(WeighingCase):

    def test_two_weighings_pair_in_either_order(self):
        ticket = self.weigh(45.2, 0)
        self.assertEqual(ticket.state, 'first')
        self.assertEqual(self.weigh(15.1, 90), ticket)
        self.assertEqual(ticket.state, 'done')
        self.assertAlmostEqual(ticket.gross, 45.2)
        self.assertAlmostEqual(ticket.tare, 15.1)
        self.assertAlmostEqual(ticket.net, 30.1)
        outbound = self.weigh(14.8, 200)          # empty first, loaded later
        self.weigh(40.0, 260)
        self.assertAlmostEqual(outbound.net, 25.2)
        self.assertAlmostEqual(outbound.tare, 14.8)

    def test_repeated_reading_is_not_a_second_weighing(self):
        ticket = self.weigh(45.2, 0)
        self.assertFalse(self.weigh(45.2, 1))
        self.assertEqual(ticket.state, 'first')

    def test_net_must_be_positive(self):
        self.weigh(20.0, 0)
        with self.assertRaises(ValidationError) as caught:
            self.weigh(20.0, 10)
        self.assertIn('净重', caught.exception.name)

    def test_warnings_for_tare_rated_load_and_missing_passage(self):
        ticket = self.weigh(52.0, 0)
        self.weigh(12.0, 60)
        self.assertIn('12.000', ticket.warnings)             # tare below 13-18
        self.assertIn('rated load', ticket.warnings)         # 40 t net > 31 t
        self.assertIn('entry passage', ticket.warnings)

    def test_entry_passage_linked_and_exit_follows(self):
        self.ingest(self.lane_in, self._event(self.lane_in, 'wi1'))
        entry = self.Passage.search([('plate_key', '=', PLATE)], limit=1)
        ticket = self.weigh(45.0, 5)
        self.assertEqual(ticket.entry_passage_id, entry)
        self.ingest(self.lane_out, self._event(self.lane_out, 'wo1', minutes=60))
        self.assertEqual(ticket.exit_passage_id, entry.exit_id)
        self.assertTrue(ticket.exit_passage_id)

    def test_single_matching_receipt_links_and_gets_net_in_its_unit(self):
        ticket = self.weigh(45.2, 0)
        self.assertEqual(ticket.picking_id, self.receipt)
        self.weigh(15.2, 60)
        move = self.receipt.move_lines
        self.assertEqual(move.product_uom, self.kg)
        self.assertAlmostEqual(move.quantity_done, 30000.0)   # 30 t in kg
        self.weigh(44.0, 300)
        self.weigh(14.0, 360)
        self.assertAlmostEqual(move.quantity_done, 60000.0)
        self.assertNotEqual(self.receipt.state, 'done')        # validating stays a person's job
        self.assertAlmostEqual(self.receipt.env_gate_net, 60.0)

    def test_two_matching_receipts_are_proposed_and_linked_by_a_click(self):
        self._order(self.supplier, self.product, 5000)
        ticket = self.weigh(45.2, 0)
        self.assertFalse(ticket.picking_id)
        self.assertEqual(len(ticket.candidate_picking_ids), 2)
        chosen = ticket.candidate_picking_ids.sorted('id')[-1]
        chosen.with_context(env_gate_weighing_id=ticket.id).action_env_gate_link_weighing()
        self.assertEqual(ticket.picking_id, chosen)
        self.assertEqual(ticket.purchase_id, chosen.purchase_id)
        self.weigh(15.2, 60)
        self.assertAlmostEqual(chosen.move_lines.quantity_done, 30000.0)

    def test_appointment_links_a_haulier_who_is_not_the_supplier(self):
        other = self.env['res.partner'].create({'name': 'Other mine', 'supplier': True})
        order = self._order(other, self.product, 2000)
        self.env['env.gate.appointment'].create({'purchase_id': order.id, 'plate': '琼a7k456',
                                                 'cargo_id': self.cargo.id})
        self.Vehicle.create({'plate': PLATE_2, 'plate_color': '1', 'emission_stage': '6',
                             'fuel_type': 'B'})
        ticket = self.weigh(40.0, 0, plate=PLATE_2)
        self.assertEqual(ticket.picking_id, order.picking_ids)

    def test_outbound_load_sets_the_delivery(self):
        customer = self.env['res.partner'].create({'name': '测试建材', 'customer': True})
        slag = self.env['product.product'].create({
            'name': 'Slag', 'type': 'product', 'uom_id': self.tonne.id, 'uom_po_id': self.tonne.id})
        out_type = self.env.ref('stock.picking_type_out')
        delivery = self.env['stock.picking'].create({
            'partner_id': customer.id, 'picking_type_id': out_type.id,
            'location_id': out_type.default_location_src_id.id,
            'location_dest_id': self.env.ref('stock.stock_location_customers').id,
            'move_lines': [(0, 0, {'name': 'slag', 'product_id': slag.id, 'product_uom_qty': 300,
                                   'product_uom': self.tonne.id,
                                   'location_id': out_type.default_location_src_id.id,
                                   'location_dest_id': self.env.ref(
                                       'stock.stock_location_customers').id})]})
        delivery.action_confirm()
        self.Vehicle.create({'plate': PLATE_2, 'plate_color': '1', 'emission_stage': '6',
                             'fuel_type': 'B', 'partner_id': customer.id})
        ticket = self.weigh(14.6, 0, plate=PLATE_2)            # empty on the way in
        self.assertEqual(ticket.kind, 'out')
        self.assertEqual(ticket.picking_id, delivery)
        self.weigh(46.1, 50, plate=PLATE_2)                    # loaded on the way out
        self.assertAlmostEqual(ticket.net, 31.5)
        self.assertAlmostEqual(delivery.move_lines.quantity_done, 31.5)
        self.assertNotEqual(delivery.state, 'done')

    def test_unlinked_ticket_links_when_completed(self):
        self.receipt.action_cancel()
        ticket = self.weigh(45.2, 0)
        self.assertFalse(ticket.picking_id)
        order = self._order(self.supplier, self.product, 8000)  # ordered while unloading
        self.weigh(15.2, 60)
        self.assertEqual(ticket.kind, 'in')
        self.assertEqual(ticket.picking_id, order.picking_ids)
        self.assertAlmostEqual(order.picking_ids.move_lines.quantity_done, 30000.0)

    def test_tonne_product_gets_tonnes(self):
        coking = self.env['res.partner'].create({'name': '测试焦化', 'supplier': True})
        product = self.env['product.product'].create({
            'name': 'Coke', 'type': 'product', 'uom_id': self.tonne.id, 'uom_po_id': self.tonne.id})
        order = self._order(coking, product, 500)
        self.Vehicle.create({'plate': PLATE_2, 'plate_color': '1', 'emission_stage': '6',
                             'fuel_type': 'B', 'partner_id': coking.id})
        ticket = self.weigh(40.0, 0, plate=PLATE_2)
        self.assertEqual(ticket.picking_id, order.picking_ids)
        self.weigh(15.0, 60, plate=PLATE_2)
        move = order.picking_ids.move_lines
        self.assertEqual(move.product_uom, self.tonne)
        self.assertAlmostEqual(move.quantity_done, 25.0)

    def test_stored_tare_within_validity(self):
        self.weigh(45.0, 0)
        self.weigh(15.5, 60)
        self.assertAlmostEqual(self.truck.stored_tare, 15.5)
        ticket = self.weigh(44.0, 24 * 60)
        ticket.action_use_stored_tare()
        self.assertEqual(ticket.second_source, 'stored')
        self.assertAlmostEqual(ticket.net, 28.5)
        late = self.weigh(44.0, 24 * 60 * 40)
        with self.assertRaises(UserError):
            late.action_use_stored_tare()

    def test_cancel_takes_weight_off_the_receipt(self):
        ticket = self.weigh(45.2, 0)
        self.weigh(15.2, 60)
        ticket.action_cancel()
        self.assertEqual(ticket.state, 'cancel')
        self.assertAlmostEqual(self.receipt.env_gate_net, 0.0)

    def test_weight_events_through_ingestion(self):
        base = dict(type='weight', lane='T-IN', plate=PLATE)
        results = self.ingest(self.lane_in,
                              dict(base, event_id='wt1', time='2026-01-05T08:10:00+08:00',
                                   weight=45200, unit='kg'),
                              dict(base, event_id='wt2', time='2026-01-05T09:40:00+08:00',
                                   weight=15.2),
                              dict(base, event_id='wt3', time='2026-01-05T09:41:00+08:00',
                                   weight=-1))
        self.assertEqual([r['status'] for r in results], ['accepted', 'accepted', 'rejected'])
        self.assertEqual(results[0]['weighing'], results[1]['weighing'])
        ticket = self.Weighing.search([('name', '=', results[0]['weighing'])])
        self.assertAlmostEqual(ticket.net, 30.0)
        self.assertEqual(self.Event.search([('sender_event_id', '=', 'wt1')]).outcome, 'weighing')

    def test_ticket_prints(self):
        ticket = self.weigh(45.2, 0)
        self.weigh(15.2, 60)
        html = self.env.ref('env_gate_ledger.report_env_gate_weighing').render_qweb_html(
            ticket.ids)[0]
        self.assertIn(ticket.name.encode(), html)
        self.assertIn(b'30.000', html)
