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
