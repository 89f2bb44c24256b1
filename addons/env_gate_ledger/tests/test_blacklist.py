"""The authority blacklist: validity, what the vehicle form shows, CSV/XLSX import."""
import datetime

from odoo import fields
from odoo.exceptions import ValidationError

from .common import CSV, PLATE, XLSX, GateCase, import_file, xlsx


def _stamp(**delta):
    return fields.Datetime.to_string(datetime.datetime.utcnow() + datetime.timedelta(**delta))


class TestBlacklist(GateCase):

    @classmethod
    def setUpClass(cls):
        super(TestBlacklist, cls).setUpClass()
        cls.Blacklist = cls.env['env.gate.blacklist']

    def _entry(self, plate=PLATE, **vals):
        return self.Blacklist.create(dict({'plate': plate, 'source': '海口市生态环境局',
                                           'reason': '超标排放'}, **vals))

    def test_plate_is_stored_as_its_key_and_checked(self):
        entry = self._entry(plate=' 琼a·5t123 ')
        self.assertEqual(entry.plate, PLATE)
        self.assertEqual(entry.vehicle_id, self.truck)
        with self.assertRaises(ValidationError):
            self._entry(plate='琼A5T12')

    def test_currently_valid_follows_the_period_and_archive(self):
        open_ended = self._entry(valid_from=_stamp(days=-1))
        expired = self._entry(plate='琼A1E001', valid_from=_stamp(days=-10),
                              valid_to=_stamp(seconds=-1))
        future = self._entry(plate='琼A1E002', valid_from=_stamp(days=1))
        archived = self._entry(plate='琼A1E003', active=False)
        self.assertEqual([e.currently_valid for e in (open_ended, expired, future, archived)],
                         [True, False, False, False])
        ours = open_ended | expired | future | archived
        valid = self.Blacklist.with_context(active_test=False).search(
            [('currently_valid', '=', True), ('id', 'in', ours.ids)])
        self.assertEqual(valid, open_ended)
        not_valid = self.Blacklist.with_context(active_test=False).search(
            [('currently_valid', '=', False), ('id', 'in', ours.ids)])
        self.assertEqual(not_valid, expired | future | archived)
        with self.assertRaises(ValidationError):
            self._entry(plate='琼A1E004', valid_from=_stamp(days=1), valid_to=_stamp(days=1))

    def test_vehicle_shows_whether_it_is_blacklisted(self):
        self.assertFalse(self.truck.blacklisted)
        expired = self._entry(valid_from=_stamp(days=-5), valid_to=_stamp(days=-1))
        self.truck.invalidate_cache()
        self.assertFalse(self.truck.blacklisted)
        self.assertEqual(self.truck.blacklist_ids, expired)
        self._entry(valid_to=_stamp(days=30))
        self.truck.invalidate_cache()
        self.assertTrue(self.truck.blacklisted)
        self.assertEqual(self.truck.blacklist_count, 2)
        self.assertIn(self.truck, self.Vehicle.search([('blacklisted', '=', True)]))
        self.assertNotIn(self.truck, self.Vehicle.search([('blacklisted', '=', False)]))


class TestBlacklistImport(GateCase):
    """The bureau's list comes as a spreadsheet; Odoo's standard import takes it."""
    FIELDS = ['plate', 'plate_color', 'source', 'reason', 'valid_from', 'valid_to']

    def _import(self, content, name, mimetype):
        return import_file(self.env, 'env.gate.blacklist', self.FIELDS, content, name,
                           mimetype)

    def _imported(self):
        return self.env['env.gate.blacklist'].search(
            [('source', '=', '海口市生态环境局 2026-01')], order='plate')

    def test_csv_list(self):
        content = ('plate,plate_color,source,reason,valid_from,valid_to\n'
                   '琼A5T123,1,海口市生态环境局 2026-01,超标排放,2026-01-01 00:00:00,\n'
                   '琼 A7K456,1,海口市生态环境局 2026-01,黑烟,2026-01-01 00:00:00,'
                   '2026-02-01 00:00:00\n').encode('utf-8')
        self.assertEqual(self._import(content, 'list.csv', CSV), [])
        entries = self._imported()
        self.assertEqual(entries.mapped('plate'), ['琼A5T123', '琼A7K456'])
        self.assertEqual(entries.mapped('valid_to'), [False, '2026-02-01 00:00:00'])
        self.assertEqual(entries[0].vehicle_id, self.truck)

    def test_xlsx_list(self):
        content = xlsx([self.FIELDS, ['琼A5T123', '1', '海口市生态环境局 2026-01', '超标排放',
                                      '2026-01-01 08:00:00', '']])
        self.assertEqual(self._import(content, 'list.xlsx', XLSX), [])
        [entry] = self._imported()
        self.assertEqual((entry.plate, entry.reason, entry.valid_from),
                         ('琼A5T123', '超标排放', '2026-01-01 08:00:00'))

    def test_a_bad_plate_stops_the_file(self):
        content = ('plate,plate_color,source,reason,valid_from,valid_to\n'
                   '琼A5T123,1,海口市生态环境局 2026-01,超标排放,,\n'
                   '琼A5T1,1,海口市生态环境局 2026-01,超标排放,,\n').encode('utf-8')
        messages = self._import(content, 'bad.csv', CSV)
        self.assertTrue(any('琼A5T1' in m['message'] for m in messages), messages)
        self.assertFalse(self._imported())
