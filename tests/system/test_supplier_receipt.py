"""A supplier's truck through the real HTTP API: entry, two weighings, exit; then the
purchase order's receipt shows the net quantity in the product's unit."""
import datetime
import uuid

from test_http_ingest import CST, TOKEN_IN, TOKEN_OUT, event, post


def weight(lane, plate, when, value, unit='t'):
    return {'event_id': uuid.uuid4().hex, 'type': 'weight', 'lane': lane,
            'time': when.isoformat(), 'plate': plate, 'weight': value, 'unit': unit}


def test_supplier_truck_weighings_set_the_receipt_quantity(odoo_server):
    rpc = odoo_server.rpc()
    tag = uuid.uuid4().hex[:6]
    plate = '琼D%05d' % (uuid.uuid4().int % 100000)
    supplier = rpc('res.partner', 'create', {'name': 'Ore supplier %s' % tag, 'supplier': True})
    kg = rpc('ir.model.data', 'xmlid_to_res_id', 'product.product_uom_kgm')
    product = rpc('product.product', 'create', {
        'name': 'Iron ore %s' % tag, 'type': 'product', 'uom_id': kg, 'uom_po_id': kg})
    rpc('env.gate.cargo', 'create', {'name': 'Iron ore %s' % tag, 'code': 'ORE%s' % tag,
                                     'product_id': product, 'bulk': True})
    order = rpc('purchase.order', 'create', {
        'partner_id': supplier,
        'order_line': [(0, 0, {'product_id': product, 'name': 'ore', 'product_qty': 100000,
                               'product_uom': kg, 'price_unit': 0.8,
                               'date_planned': '2026-03-01 00:00:00'})]})
    rpc('purchase.order', 'button_confirm', [order])
    rpc('env.gate.vehicle', 'create', {'plate': plate, 'plate_color': '1', 'emission_stage': '6',
                                       'fuel_type': 'B', 'partner_id': supplier})

    t0 = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=CST)
    minutes = datetime.timedelta(minutes=1)
    assert post(odoo_server, TOKEN_IN, [event('E-IN', plate, t0)]).json()['accepted'] == 1
    gross = post(odoo_server, TOKEN_IN, [weight('E-IN', plate, t0 + 3 * minutes, 49.26)]).json()
    assert gross['accepted'] == 1, gross
    # the tare arrives in kg from the other scale
    tare = post(odoo_server, TOKEN_OUT,
                [weight('E-OUT', plate, t0 + 40 * minutes, 17420, unit='kg')]).json()
    assert tare['accepted'] == 1, tare
    assert post(odoo_server, TOKEN_OUT,
                [event('E-OUT', plate, t0 + 43 * minutes)]).json()['accepted'] == 1

    tickets = rpc('env.gate.weighing', 'search_read', [('plate_key', '=', plate)],
                  fields=['state', 'gross', 'tare', 'net', 'picking_id', 'partner_id',
                          'entry_passage_id', 'cargo_id'])
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket['state'] == 'done'
    assert (ticket['gross'], ticket['tare']) == (49.26, 17.42)
    assert abs(ticket['net'] - 31.84) < 1e-6
    assert ticket['partner_id'][0] == supplier and ticket['entry_passage_id']
    assert ticket['picking_id'], 'the only open receipt of the supplier links by itself'

    picking = rpc('stock.picking', 'read', [ticket['picking_id'][0]],
                  ['origin', 'state', 'move_lines'])[0]
    po_name = rpc('purchase.order', 'read', [order], ['name'])[0]['name']
    assert picking['origin'] == po_name
    assert picking['state'] not in ('done', 'cancel'), 'validating stays a person\'s decision'
    moves = rpc('stock.move', 'read', picking['move_lines'], ['product_id', 'quantity_done',
                                                               'product_uom'])
    assert [(m['product_id'][0], m['product_uom'][0]) for m in moves] == [(product, kg)]
    assert abs(moves[0]['quantity_done'] - 31840.0) < 1e-6     # tonnes -> kg
