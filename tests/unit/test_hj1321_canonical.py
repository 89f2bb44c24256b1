"""The canonical records: every kind validates against its published schema, ids are stable."""
import base64
import copy
import datetime
import hashlib
import json
import re

import jsonschema
import pytest

from hj1321 import canonical, chain, codes
from hj1321.errors import Hj1321Error

JPEG = b'\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00' + bytes(range(256)) + b'\xff\xd9'
PNG = b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01' + b'\x00' * 40
ENTERPRISE = {'code': '1302030001', 'name': '河北冀东钢铁有限公司'}
VIN = 'LFWSRXSJ0K1A12345'

TRUCK = {   # env.gate.vehicle as read: a China VI diesel tractor, Odoo's False for empties
    'category': 'transport', 'plate': '冀B12345', 'plate_color': '1', 'vin': VIN,
    'vehicle_type': 'Q11', 'registration_date': datetime.date(2021, 3, 4),
    'brand_model': '解放牌CA4250P66K24T1A1E6', 'engine_model': 'CA6DM3-46E65',
    'engine_maker': '一汽解放汽车有限公司无锡柴油机厂', 'engine_no': '57863421',
    'fuel_type': 'B', 'emission_stage': '6', 'use_nature': 'F', 'networked': '1',
    'fleet_name': '唐山冀东物流有限公司', 'owner': False, 'active': True,
    'picture_list': base64.b64encode(JPEG), 'picture_license': False,
}
EV_TRUCK = {   # a large new-energy truck: yellow-green plate, electric
    'category': 'transport', 'plate': '冀B12345D', 'plate_color': '6', 'vin': 'LGHXCAE28M6000123',
    'vehicle_type': 'H17', 'registration_date': '2023-06-30', 'fuel_type': 'C',
    'emission_stage': 'D', 'use_nature': 'F', 'networked': '0', 'fleet_name': '个人',
    'picture_license': base64.b64encode(PNG).decode('ascii'),
}
PASSAGE = {   # env.gate.passage as read, many2ones flattened by the caller
    'name': '0101A261128081530', 'direction': '1', 'pass_time': '2026-11-28 00:15:30',
    'decision': '1', 'lift_mode': '2', 'barrier_no': '0101', 'gate_code': '01',
    'lane_code': 'E-IN', 'camera_no': 'CAM-E-IN-1', 'plate_raw': '冀B·12345',
    'plate_key': '冀B12345', 'plate_color': '1', 'confidence': 96.4, 'source': 'device',
    'reason': False, 'emission_stage': '6', 'fuel_type': 'B', 'vin': VIN, 'vehicle_type': 'Q11',
    'use_nature': 'F', 'networked': '1', 'fleet_name': '唐山冀东物流有限公司',
    'category': 'transport', 'clean': True, 'vehicle_id': 12, 'vehicle': TRUCK,
    'cargo_name': '铁矿石', 'quantity': 34.56, 'uom': 't', 'hash': 'ab' * 32,
    'create_date': '2026-11-28 00:15:31', 'flag_unregistered': False,
    'pictures': {'front': JPEG, 'body': JPEG[:-3] + b'\x00\xff\xd9'},
    'picture_digests': 'front:%s,plate:%s' % (hashlib.sha256(JPEG).hexdigest(), 'c' * 64),
}
EXIT = dict(PASSAGE, name='0102B261128101502', direction='2', pass_time='2026-11-28 02:15:02',
            barrier_no='0102', lane_code='E-OUT', entry_name='0101A261128081530',
            cargo_name=False, quantity=0.0, pictures=None, picture_digests=False)
UNREADABLE = {   # a manual entry (补录) of an unreadable, unregistered visitor
    'name': '0201A261128231507', 'direction': '1',
    'pass_time': datetime.datetime(2026, 11, 28, 15, 15, 7), 'decision': 'manual',
    'barrier_no': '0201', 'plate_raw': False, 'plate_key': False, 'plate_color': False,
    'source': 'manual', 'manual_reason_kind': 'unreadable', 'manual_reason': '车牌污损，人工补录',
    'manual_user': (7, '张伟'), 'flag_unreadable': True, 'flag_unregistered': True,
}
NEW_ENERGY_VISIT = dict(PASSAGE, name='0201A261129070001', plate_key='冀AD12345',
                        plate_raw='冀AD12345', plate_color='4', emission_stage='D',
                        fuel_type='C', vin=False, vehicle_type=False, use_nature=False,
                        networked=False, fleet_name=False, vehicle=None, vehicle_id=False,
                        flag_unregistered=True, flag_low_confidence=True, confidence=71.0,
                        cargo_name=False, quantity=False, pictures={'plate': PNG},
                        picture_digests=False, hash=False, decision='refuse',
                        reason='未登记车辆，橙色预警期间禁止进厂')
IN_PLANT = {'category': 'in_plant', 'internal_code': 'CN-017', 'plate': False,
            'production_date': '2019-05-01', 'brand_model': '柳工CLG856H', 'fuel_type': 'B',
            'emission_stage': '4', 'owner': '炼铁厂原料车间', 'vin': False}
MACHINE = {'registration_code': 'HB130203-000123', 'kind': '1', 'production_date': '2020-08-01',
           'plate': False, 'emission_stage': 'X', 'fuel_type': 'B', 'pin': 'CLG0856HCK0123456',
           'env_code': 'HB-ENV-0123', 'machine_model': 'CLG856H', 'engine_model': 'WP10G240E341',
           'engine_maker': '潍柴动力', 'engine_no': '1219A012345', 'owner': '河北冀东钢铁有限公司',
           'picture_nameplate': base64.b64encode(JPEG), 'picture_engine_nameplate': False,
           'picture_env_label': False}
GATE = {'code': '01', 'name': '东门', 'address': '唐山市丰润区钢铁路1号', 'longitude': 118.123456,
        'latitude': 39.8765431, 'manager_name': '王芳', 'manager_phone': '0315-1234567',
        'maintainer': '唐山智联科技', 'maintainer_contact': '13800000000',
        'lanes': [{'code': 'E-IN', 'name': '东门进', 'barrier_no': '0101', 'direction': '1',
                   'camera_model': 'DS-TCG227', 'camera_address': '10.0.1.11'},
                  {'code': 'E-OUT', 'name': '东门出', 'barrier_no': '0102', 'direction': '2'}]}
STATUS = {'gate_code': '01', 'barrier_no': '0101', 'lane_code': 'E-IN',
          'time': '2026-11-28 00:20:00', 'online': True, 'barrier_ok': True, 'camera_ok': None,
          'last_event_time': '2026-11-28 00:15:30'}

SAMPLES = [
    ('passage', PASSAGE, {}),
    ('passage', PASSAGE, {'embed_pictures': True}),
    ('passage', EXIT, {}),
    ('passage', UNREADABLE, {}),
    ('passage', NEW_ENERGY_VISIT, {'embed_pictures': True}),
    ('vehicle', TRUCK, {'embed_pictures': True}),
    ('vehicle', EV_TRUCK, {}),
    ('vehicle', {'plate': '京A12345'}, {}),
    ('in_plant_vehicle', IN_PLANT, {}),
    ('in_plant_vehicle', dict(TRUCK, category='in_plant', internal_code=False), {}),
    ('machinery', MACHINE, {'embed_pictures': True}),
    ('machinery', {'registration_code': 'M-1', 'kind': '4', 'emission_stage': '3'}, {}),
    ('gate', GATE, {}),
    ('gate', {'code': '02', 'name': '北门'}, {}),
    ('gate_status', STATUS, {}),
    ('gate_status', {'barrier_no': '0202', 'time': datetime.datetime(2026, 11, 28, 1, 0),
                     'online': False}, {}),
]


def build(kind, values, **options):
    return canonical.build(kind, values, enterprise=ENTERPRISE, **options)


def validator(kind):
    return jsonschema.Draft7Validator(canonical.load_schema(kind))


@pytest.mark.parametrize('kind,values,options', SAMPLES,
                         ids=['%s-%d' % (s[0], i) for i, s in enumerate(SAMPLES)])
def test_every_record_validates_against_its_schema(kind, values, options):
    record = build(kind, values, **options)
    errors = sorted(validator(kind).iter_errors(record), key=lambda e: list(e.path))
    assert not errors, [(list(e.path), e.message) for e in errors]
    assert record['kind'] == kind and record['schema'] == 'env_gate.%s/1' % kind
    json.dumps(record, ensure_ascii=False)            # plain JSON, no bytes or datetimes


def test_schemas_are_draft7_documented_in_both_languages_and_closed():
    cjk = re.compile('[\u4e00-\u9fff]')
    latin = re.compile('[A-Za-z]{3}')
    for kind in canonical.KINDS:
        schema = canonical.load_schema(kind)
        jsonschema.Draft7Validator.check_schema(schema)
        assert schema['$schema'] == 'http://json-schema.org/draft-07/schema#'
        assert schema['$id'].endswith('canonical_%s.schema.json' % kind)

        def walk(node, where):
            if not isinstance(node, dict):
                return
            if 'properties' in node:
                assert node.get('additionalProperties') is False, where
                assert set(node['required']) <= set(node['properties']), where
                for name, prop in node['properties'].items():
                    text = prop.get('description', '') + prop.get('title', '')
                    assert cjk.search(text) and latin.search(text), (where, name)
                    walk(prop, '%s.%s' % (where, name))
            for key in ('definitions',):
                for name, sub in (node.get(key) or {}).items():
                    walk(sub, '%s#%s' % (where, name))
        walk(schema, kind)


def test_schema_code_enums_are_the_code_tables():
    schema = canonical.load_schema('passage')
    props, vehicle = schema['properties'], schema['properties']['vehicle']['properties']
    for prop, table in ((props['direction'], 'direction'), (props['plate_color'], 'plate_color'),
                        (props['control_result'], 'control_result'),
                        (props['lift_mode'], 'lift_mode'), (vehicle['fuel_type'], 'fuel_type'),
                        (vehicle['emission_stage'], 'emission_stage'),
                        (vehicle['vehicle_type'], 'vehicle_type'),
                        (vehicle['use_nature'], 'use_nature'), (vehicle['networked'], 'networked')):
        assert [c for c in prop['enum'] if c is not None] == [c.code for c in codes.table(table)]
    machinery = canonical.load_schema('machinery')['properties']
    assert machinery['machinery_kind']['enum'] == [c.code for c in codes.table('machinery_kind')]


def test_the_schemas_refuse_what_they_must():
    record = build('passage', PASSAGE)
    check = validator('passage')
    for change in ({'extra': 1}, {'direction': 'A'}, {'plate_color': '9'},
                   {'pass_time': '2026-11-28T08:15:30+08:00'}, {'record_id': ''},
                   {'revision': 'xyz'}, {'enterprise_code': None}):
        bad = dict(record, **change)
        assert list(check.iter_errors(bad)), change
    missing = dict(record)
    del missing['serial']
    assert list(check.iter_errors(missing))
    vehicle = copy.deepcopy(record)
    vehicle['vehicle']['emission_stage'] = '7'
    assert list(check.iter_errors(vehicle))


def test_passage_fields():
    record = build('passage', PASSAGE)
    assert record['record_id'] == 'passage/1302030001/0101A261128081530'
    assert record['platform_serial'] == '13020300010101A261128081530'
    assert record['enterprise_name'] == '河北冀东钢铁有限公司'
    assert record['pass_time'] == '2026-11-28 08:15:30'             # Beijing time
    assert record['pass_time_utc'] == '2026-11-28T00:15:30Z'
    assert record['time_zone'] == '+08:00'
    assert record['recorded_at'] == '2026-11-28 08:15:31'
    assert (record['plate'], record['plate_raw'], record['plate_color']) == ('冀B12345', '冀B·12345', '1')
    assert record['control_result'] == '1' and record['lift_mode'] == '2'
    assert record['cargo'] == {'name': '铁矿石', 'quantity': 34.6, 'unit': 't'}
    assert record['ledger_hash'] == 'ab' * 32
    vehicle = record['vehicle']
    assert vehicle['vin'] == VIN and vehicle['registration_date'] == '2021-03-04'
    assert vehicle['brand_model'] == '解放牌CA4250P66K24T1A1E6' and vehicle['owner'] is None
    assert vehicle['clean'] is True and vehicle['registered'] is True
    assert [p['kind'] for p in vehicle['pictures']] == ['list']
    kinds = [(p['kind'], p['sha256'], p.get('size')) for p in record['pictures']]
    assert kinds == [('front', hashlib.sha256(JPEG).hexdigest(), len(JPEG)),
                     ('body', hashlib.sha256(PASSAGE['pictures']['body']).hexdigest(), len(JPEG)),
                     ('plate', 'c' * 64, None)]
    assert all('base64' not in p for p in record['pictures'])
    assert record['entry_serial'] is None and record['exit_serial'] is None


def test_embedded_pictures_carry_the_bytes_and_change_no_id():
    plain = build('passage', PASSAGE)
    embedded = build('passage', PASSAGE, embed_pictures=True)
    assert (plain['record_id'], plain['revision']) == (embedded['record_id'], embedded['revision'])
    front = embedded['pictures'][0]
    assert base64.b64decode(front['base64']) == JPEG and front['mime'] == 'image/jpeg'
    assert 'base64' not in embedded['pictures'][2]      # digest only: no bytes to embed
    assert canonical.strip_pictures(embedded) == plain


def test_exit_unreadable_and_new_energy_passages():
    exit_ = build('passage', EXIT)
    entry = build('passage', PASSAGE)
    assert exit_['direction'] == '2' and exit_['entry_serial'] == entry['serial']
    assert exit_['entry_record_id'] == entry['record_id']
    assert exit_['cargo'] is None and exit_['pictures'] == []

    manual = build('passage', UNREADABLE)
    assert manual['plate'] is None and manual['plate_raw'] is None
    assert manual['pass_time'] == '2026-11-28 23:15:07' and manual['control_result'] == '3'
    assert manual['manual_entry'] == {'reason_kind': 'unreadable', 'reason': '车牌污损，人工补录',
                                      'entered_by': '张伟'}
    assert manual['flags'] == ['unregistered', 'unreadable'] and manual['source'] == 'manual'
    assert manual['vehicle']['registered'] is False

    visit = build('passage', NEW_ENERGY_VISIT)
    assert visit['plate'] == '冀AD12345' and visit['plate_color'] == '4'
    assert visit['vehicle']['clean'] is True and visit['vehicle']['fuel_type'] == 'C'
    assert visit['control_result'] == '2' and visit['control_reason'].startswith('未登记')
    assert visit['pictures'][0]['mime'] == 'image/png'


def test_a_correction_keeps_the_passage_id_but_changes_its_revision():
    first = build('passage', PASSAGE)
    again = build('passage', dict(PASSAGE))
    corrected = build('passage', dict(PASSAGE, corrected_plate='冀B12346'))
    assert first == again
    assert corrected['record_id'] == first['record_id']
    assert corrected['revision'] != first['revision'] and corrected['plate'] == '冀B12346'


def test_register_ids_carry_the_revision():
    truck = build('vehicle', TRUCK)
    assert truck['record_id'] == 'vehicle/1302030001/冀B12345@%s' % truck['revision']
    assert build('vehicle', dict(TRUCK))['record_id'] == truck['record_id']
    edited = build('vehicle', dict(TRUCK, emission_stage='5'))
    assert edited['record_id'] != truck['record_id'] and edited['clean'] is True
    assert build('vehicle', dict(TRUCK, emission_stage='4'))['clean'] is False
    assert build('in_plant_vehicle', IN_PLANT)['record_id'].startswith('in_plant_vehicle/1302030001/CN-017@')
    machine = build('machinery', MACHINE)
    assert machine['record_id'].startswith('machinery/1302030001/HB130203-000123@')
    assert machine['machinery_kind'] == '1' and machine['emission_stage'] == 'X'
    assert [p['kind'] for p in machine['pictures']] == ['nameplate']
    gate = build('gate', GATE)
    assert gate['latitude'] == 39.876543 and [l['barrier_no'] for l in gate['lanes']] == ['0101', '0102']
    assert gate['lanes'][1]['camera_model'] is None


def test_gate_status():
    status = build('gate_status', STATUS)
    assert status['time'] == '2026-11-28 08:20:00' and status['online'] is True
    assert status['camera_ok'] is None and status['last_event_time'] == '2026-11-28 08:15:30'
    assert status['record_id'] == 'gate_status/1302030001/0101/20261128T002000Z'


@pytest.mark.parametrize('value', [
    '2026-11-28 00:15:30', datetime.datetime(2026, 11, 28, 0, 15, 30),
    datetime.datetime(2026, 11, 28, 8, 15, 30, 999, tzinfo=canonical.CST),
    datetime.datetime(2026, 11, 28, 0, 15, 30, tzinfo=datetime.timezone.utc),
    '2026-11-28T00:15:30'])
def test_times_in_every_form_give_the_same_local_time(value):
    record = build('passage', dict(PASSAGE, pass_time=value))
    assert record['pass_time'] == '2026-11-28 08:15:30'
    assert record['pass_time_utc'] == '2026-11-28T00:15:30Z'


def test_another_plant_time_zone():
    tz = datetime.timezone(datetime.timedelta(hours=6))     # Urumqi local practice
    record = canonical.canonical_passage(PASSAGE, ENTERPRISE, tz=tz)
    assert record['pass_time'] == '2026-11-28 06:15:30' and record['time_zone'] == '+06:00'
    assert not list(validator('passage').iter_errors(record))


@pytest.mark.parametrize('kind,values,code,field', [
    ('passage', dict(PASSAGE, name=False), 'canonical.missing', 'name'),
    ('passage', dict(PASSAGE, pass_time=None), 'canonical.missing', 'pass_time'),
    ('passage', dict(PASSAGE, pass_time='yesterday'), 'canonical.time', 'pass_time'),
    ('passage', dict(PASSAGE, direction='3'), 'canonical.code', 'direction'),
    ('passage', dict(PASSAGE, decision='maybe'), 'canonical.code', 'decision'),
    ('passage', dict(PASSAGE, plate_color='9'), 'canonical.code', 'plate_color'),
    ('passage', dict(PASSAGE, uom='kg'), 'canonical.code', 'uom'),
    ('passage', dict(PASSAGE, quantity='lots'), 'canonical.number', 'quantity'),
    ('passage', dict(PASSAGE, pictures={'roof': JPEG}), 'canonical.picture', None),
    ('passage', dict(PASSAGE, pictures={'front': {'base64': '%%%'}}), 'canonical.picture', 'front'),
    ('passage', dict(PASSAGE, pictures={'front': {'sha256': 'nope'}}), 'canonical.picture', 'front'),
    ('vehicle', dict(TRUCK, plate=False), 'canonical.missing', 'plate'),
    ('vehicle', dict(TRUCK, fleet_name='车' * 101), 'canonical.too_long', 'fleet_name'),
    ('vehicle', dict(TRUCK, registration_date='04/03/2021'), 'canonical.date', 'registration_date'),
    ('in_plant_vehicle', {'owner': '车间'}, 'canonical.missing', 'internal_code'),
    ('machinery', dict(MACHINE, kind=False), 'canonical.missing', 'kind'),
    ('gate', dict(GATE, lanes=[{'code': 'X', 'barrier_no': '9', 'direction': 'up'}]),
     'canonical.code', 'direction'),
    ('gate_status', {'barrier_no': '0101', 'time': '2026-11-28 00:00:00'}, 'canonical.missing',
     'online'),
])
def test_bad_values_raise_bilingual_errors(kind, values, code, field):
    with pytest.raises(Hj1321Error) as info:
        build(kind, values)
    assert info.value.code == code
    assert info.value.message_zh and info.value.message_en
    if field:
        assert info.value.params.get('field') == field


def test_enterprise_code_is_required_and_may_come_from_the_values():
    with pytest.raises(Hj1321Error) as info:
        canonical.canonical_vehicle(TRUCK)
    assert info.value.code == 'canonical.enterprise'
    record = canonical.canonical_vehicle(dict(TRUCK, enterprise_code='1302030001'))
    assert record['enterprise_code'] == '1302030001' and record['enterprise_name'] is None
    with pytest.raises(Hj1321Error):
        canonical.build('weighing', {})


@pytest.mark.parametrize('kind, values, options', SAMPLES)
@pytest.mark.parametrize('extra', [{}, {'quantity': -0.04, 'confidence': 99.96},
                                   {'quantity': 1e-9, 'confidence': 0}])
def test_revision_fast_path_writes_what_canonical_json_writes(kind, values, options, extra):
    """revision() skips canonical_json's normalisation for the records this module builds:
    it must hash the very same text, or uploaded register entries would change their ids."""
    record = build(kind, dict(values, **extra) if kind == 'passage' else values, **options)
    content = {k: v for k, v in record.items() if k not in ('record_id', 'revision')}
    slow = hashlib.sha256(chain.canonical_json(canonical.strip_pictures(content))
                          .encode('utf-8')).hexdigest()[:16]
    assert record['revision'] == canonical.revision(record) == slow
