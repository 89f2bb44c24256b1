from odoo.exceptions import ValidationError

from .common import GateCase


class TestVehicle(GateCase):

    def test_plate_is_normalised_and_kind_known(self):
        vehicle = self.Vehicle.create({'plate': ' 琼a·8x 901 ', 'plate_color': '1'})
        self.assertEqual(vehicle.plate, '琼A8X901')
        self.assertEqual(vehicle.plate_kind, 'ordinary')

    def test_new_energy_plates_both_shapes(self):
        small = self.Vehicle.create({'plate': '琼AD12345', 'plate_color': '4', 'fuel_type': 'C',
                                     'emission_stage': 'D'})
        large = self.Vehicle.create({'plate': '琼A12345D', 'plate_color': '6', 'fuel_type': 'C',
                                     'emission_stage': 'D'})
        self.assertEqual(small.plate_kind, 'new_energy_small')
        self.assertEqual(large.plate_kind, 'new_energy_large')
        self.assertTrue(large.clean)
        self.assertFalse(large.warnings)

    def test_bad_plate_refused_in_both_languages_and_nothing_saved(self):
        count = self.Vehicle.search_count([])
        with self.assertRaises(ValidationError) as caught:
            self.Vehicle.create({'plate': '琼A123', 'vin': 'LFWSRXRJ6N1A00001'})
        message = caught.exception.name
        self.assertIn('琼A123', message)
        self.assertIn('车牌', message)
        self.assertIn('Plate', message)
        self.assertEqual(self.Vehicle.search_count([]), count)

    def test_vin_check_digit_refused(self):
        with self.assertRaises(ValidationError) as caught:
            self.Vehicle.create({'plate': '琼A8X902', 'vin': 'LFWSRXRJ0N1A00001'})
        self.assertIn('VIN', caught.exception.name)
        with self.assertRaises(ValidationError):
            self.Vehicle.create({'plate': '琼A8X903', 'vin': 'LFWSRXRJ6N1A0000'})
        with self.assertRaises(ValidationError):
            self.Vehicle.create({'plate': '琼A8X904', 'vin': 'LFWSRXRJ6N1AO0001'})

    def test_vin_normalised_on_write(self):
        self.truck.write({'vin': ' lfwsrxrj6n1a00001 '})
        self.assertEqual(self.truck.vin, 'LFWSRXRJ6N1A00001')

    def test_green_plate_with_diesel_warns(self):
        vehicle = self.Vehicle.create({'plate': '琼AD54321', 'plate_color': '4', 'fuel_type': 'B',
                                       'emission_stage': '6'})
        self.assertTrue(vehicle.warnings)
        self.assertIn('柴油', vehicle.warnings)

    def test_transport_vehicle_needs_plate_in_plant_may_use_code(self):
        with self.assertRaises(ValidationError):
            self.Vehicle.create({'category': 'transport', 'internal_code': 'X-1'})
        in_plant = self.Vehicle.create({'category': 'in_plant', 'internal_code': 'JD-T-1',
                                        'fuel_type': 'C', 'emission_stage': 'D'})
        self.assertEqual(in_plant.display_plate, 'JD-T-1')

    def test_missing_ledger_fields_listed(self):
        vehicle = self.Vehicle.create({'plate': '琼A8X905'})
        self.assertIn('VIN', vehicle.missing)
        self.assertFalse(self.truck.missing and 'VIN' in self.truck.missing)

    def test_machinery_register(self):
        machine = self.env['env.gate.machinery'].create({
            'registration_code': '4600000001', 'kind': '1', 'emission_stage': '4',
            'fuel_type': 'B'})
        self.assertFalse(machine.clean)
        self.assertEqual(machine.emission_stage, '4')
