import datetime

from odoo.tests.common import SavepointCase

CST = datetime.timezone(datetime.timedelta(hours=8))
# Hainan plates: the demo plant's fleet never uses them, so tests never collide with demo data.
PLATE = '琼A5T123'
PLATE_2 = '琼A7K456'


class GateCase(SavepointCase):
    """A gate with a one-way in lane, a one-way out lane, a two-way lane and one truck."""

    @classmethod
    def setUpClass(cls):
        super(GateCase, cls).setUpClass()
        cls.Vehicle = cls.env['env.gate.vehicle']
        cls.Passage = cls.env['env.gate.passage']
        cls.Event = cls.env['env.gate.event']
        cls.gate = cls.env['env.gate.gate'].create({'name': 'Test Gate', 'code': 'T9'})
        Lane = cls.env['env.gate.lane']
        cls.lane_in = Lane.create({'name': 'T in', 'code': 'T-IN', 'gate_id': cls.gate.id,
                                   'barrier_no': 'T901', 'direction': '1'})
        cls.lane_out = Lane.create({'name': 'T out', 'code': 'T-OUT', 'gate_id': cls.gate.id,
                                    'barrier_no': 'T902', 'direction': '2'})
        cls.lane_both = Lane.create({'name': 'T both', 'code': 'T-BOTH', 'gate_id': cls.gate.id,
                                     'barrier_no': 'T903', 'direction': 'both'})
        cls.truck = cls.Vehicle.create({
            'plate': PLATE, 'plate_color': '1', 'vin': 'LSVAU218XN2183294',
            'emission_stage': '6', 'fuel_type': 'B', 'vehicle_type': 'Q11',
            'fleet_name': '测试车队'})
        cls.t0 = datetime.datetime(2026, 1, 5, 8, 0, 0, tzinfo=CST)

    @classmethod
    def _event(cls, lane, event_id, plate=PLATE, minutes=0, seconds=0, **extra):
        data = {
            'event_id': event_id, 'type': 'plate', 'lane': lane.code,
            'time': (cls.t0 + datetime.timedelta(minutes=minutes, seconds=seconds)).isoformat(),
            'plate': plate, 'plate_color': '1', 'confidence': 97,
        }
        data.update(extra)
        return data

    def ingest(self, lane, *events):
        return self.Event._ingest(lane, list(events))


CSV = 'text/csv'
XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'


def import_file(env, model, fields, content, name, mimetype):
    """Odoo's standard import (what a clerk's Import button runs) of a CSV or XLSX file;
    returns its messages ([] when every row went in)."""
    wizard = env['base_import.import'].create({
        'res_model': model, 'file': content, 'file_name': name, 'file_type': mimetype})
    return wizard.with_context(tz='UTC').do(fields, {
        'headers': True, 'quoting': '"', 'separator': ',', 'encoding': 'utf-8',
        'datetime_format': '%Y-%m-%d %H:%M:%S'})


def xlsx(rows):
    """The bytes of a one-sheet workbook holding `rows`."""
    import io
    import xlsxwriter
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet()
    for number, row in enumerate(rows):
        sheet.write_row(number, 0, row)
    book.close()
    return out.getvalue()


def call_api(env, endpoint, token=None, body=b'', **params):
    """Call a GateApi endpoint (controllers/main.py) in this test's transaction: a stand-in
    request carries the cursor, the Authorization header and the body. Returns (HTTP
    status, decoded JSON reply)."""
    import json
    import types

    from odoo import http
    from odoo.addons.env_gate_ledger.controllers.main import GateApi

    headers = {'Authorization': 'Bearer %s' % token} if token else {}
    if not isinstance(body, bytes):
        body = json.dumps(body).encode('utf-8')
    fake = types.SimpleNamespace(
        db=env.cr.dbname, cr=env.cr, endpoint=None,
        httprequest=types.SimpleNamespace(headers=headers, remote_addr='127.0.0.1',
                                          get_data=lambda: body))
    http._request_stack.push(fake)
    try:
        response = getattr(GateApi(), endpoint)(**params)
    finally:
        http._request_stack.pop()
    return response.status_code, json.loads(response.get_data().decode('utf-8'))


def gatebox():
    """The gate box's framework-free package (addons/env_gate_hw/gatebox), imported the way
    the box imports it (with hj1321 top-level), so tests check the ERP against the box's
    own parsers. Nothing of it is imported by the add-on itself."""
    import os
    import sys
    addons = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..',
                                           '..'))
    for addon in ('env_gate_ledger', 'env_gate_hw'):
        if os.path.join(addons, addon) not in sys.path:
            sys.path.insert(0, os.path.join(addons, addon))
    import gatebox.cache
    import gatebox.qr
    return gatebox
