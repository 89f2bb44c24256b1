import csv
import os
import re

import pytest

from hj1321 import codes
from hj1321.errors import Hj1321Error

TABLES = ('emission_stage', 'plate_color', 'fuel_type', 'use_nature', 'vehicle_type',
          'machinery_kind', 'direction', 'lift_mode', 'networked', 'alert_level',
          'control_result', 'camera_plate_color')
CJK = re.compile('[\u4e00-\u9fff]')


def test_all_tables_are_shipped():
    assert set(TABLES) <= set(codes.table_names())


@pytest.mark.parametrize('name', TABLES)
def test_table_is_well_formed(name):
    path = os.path.join(os.path.dirname(codes.__file__), 'codes', name + '.csv')
    with open(path, encoding='utf-8', newline='') as handle:
        header = next(csv.reader(handle))
    assert header[:3] == ['code', 'name_zh', 'name_en']
    rows = codes.table(name)
    assert rows, name
    assert len({c.code for c in rows}) == len(rows), 'duplicate codes in %s' % name
    for entry in rows:
        assert entry.code and entry.code == entry.code.strip()
        assert CJK.search(entry.name_zh), (name, entry)
        assert entry.name_en and not CJK.search(entry.name_en), (name, entry)
        assert entry.name_en.isascii() if hasattr(str, 'isascii') else True


def test_tables_are_loaded_once():
    assert codes.table('fuel_type') is codes.table('fuel_type')


def test_unknown_table_is_a_key_error_naming_it():
    with pytest.raises(KeyError) as info:
        codes.table('no_such_table')
    assert 'no_such_table' in str(info.value)


@pytest.mark.parametrize('name, expected', [
    ('emission_stage', ['0', '1', '2', '3', '4', '5', '6', 'D', 'X']),
    ('plate_color', ['0', '1', '2', '3', '4', '5', '6']),
    ('fuel_type', ['A', 'B', 'C', 'D', 'E', 'F', 'L', 'M', 'N', 'O', 'P', 'Q', 'Y', 'Z']),
    ('machinery_kind', ['1', '2', '3', '4', '5', '6']),
    ('direction', ['1', '2']),
    ('lift_mode', ['1', '2']),
    ('networked', ['0', '1']),
    ('alert_level', ['1', '2', '3']),
    ('control_result', ['1', '2', '3', '4']),
    ('camera_plate_color', ['0', '1', '2', '3', '4', '5', '6']),
])
def test_table_codes(name, expected):
    assert [c.code for c in codes.table(name)] == expected


@pytest.mark.parametrize('name, code, zh, en', [
    ('emission_stage', '0', '国0', 'China 0'),
    ('emission_stage', '6', '国VI', 'China VI'),
    ('emission_stage', 'D', '电动', 'Electric'),
    ('emission_stage', 'X', '无/不明', 'None / unknown'),
    ('plate_color', '0', '蓝色', 'Blue'),
    ('plate_color', '1', '黄色', 'Yellow'),
    ('plate_color', '4', '绿色', 'Green (new energy)'),
    ('plate_color', '6', '黄绿色', 'Yellow-green (large new energy)'),
    ('fuel_type', 'B', '柴油', 'Diesel'),
    ('fuel_type', 'C', '电', 'Electric'),
    ('fuel_type', 'P', '氢', 'Hydrogen'),
    ('use_nature', 'A', '非营运', 'Non-commercial'),
    ('use_nature', 'F', '货运', 'Freight transport'),
    ('use_nature', 'R', '危化品运输', 'Hazardous chemicals transport'),
    ('vehicle_type', 'H11', '重型普通货车', 'Heavy ordinary truck'),
    ('vehicle_type', 'H17', '重型自卸货车', 'Heavy dump truck'),
    ('vehicle_type', 'Q11', '重型半挂牵引车', 'Heavy semi-trailer tractor'),
    ('vehicle_type', 'B11', '重型普通半挂车', 'Heavy ordinary semi-trailer'),
    ('vehicle_type', 'G11', '重型普通全挂车', 'Heavy ordinary full trailer'),
    ('vehicle_type', 'Z11', '大型专项作业车', 'Large special-purpose vehicle'),
    ('vehicle_type', 'K33', '小型轿车', 'Small sedan'),
    ('vehicle_type', 'X99', '其他', 'Other'),
    ('machinery_kind', '2', '挖掘机', 'Excavator'),
    ('direction', '1', '进厂', 'In'),
    ('direction', '2', '出厂', 'Out'),
    ('lift_mode', '1', '手动抬杆', 'Manual lift'),
    ('lift_mode', '2', '自动抬杆', 'Automatic lift'),
    ('alert_level', '3', '红色预警', 'Red alert'),
    ('control_result', '3', '人工抬杆', 'Manual lift'),
    ('control_result', '4', '未识别', 'Unrecognised'),
])
def test_labels_in_both_languages(name, code, zh, en):
    assert codes.label(name, code, 'zh_CN') == zh
    assert codes.label(name, code, 'en_US') == en
    assert codes.label(name, code) == en


def test_use_nature_follows_ga_24():
    table = {c.code: c.name_zh for c in codes.table('use_nature')}
    for code in 'ABCDEFGHIJKLMNOPQRSTU':
        assert code in table, code
    assert table['Q'] == '初中生校车'
    assert table['T'] == '预约出租客运'
    assert table['Z'] == '其他'


def test_vehicle_type_is_reasonably_complete():
    table = {c.code: c for c in codes.table('vehicle_type')}
    assert len(table) > 150
    for entry in table.values():
        assert re.match(r'^[A-Z][0-9][0-9A-Z]$', entry.code), entry.code
    for prefix in ('H1', 'H2', 'H3', 'H4', 'Q1', 'Q2', 'Q3', 'G1', 'B1', 'Z', 'K1', 'K3'):
        assert any(code.startswith(prefix) for code in table), prefix
    for code in ('H11', 'H12', 'H13', 'H14', 'H15', 'H16', 'H17', 'H18', 'H19', 'Q12', 'Z21',
                 'Z31', 'K11', 'K21', 'K31'):
        assert code in table, code
    # sizes in the name match the code's size digit for trucks
    size = {'1': '重型', '2': '中型', '3': '轻型', '4': '微型'}
    for code, entry in table.items():
        if code[0] in 'HQ' and code[1] in size:
            assert entry.name_zh.startswith(size[code[1]]), entry


def test_camera_plate_color_maps_to_hj_codes():
    mapping = {c.code: c.extra['hj_code'] for c in codes.table('camera_plate_color')}
    assert mapping == {'0': '5', '1': '0', '2': '1', '3': '2', '4': '3', '5': '4', '6': '6'}
    for hj in mapping.values():
        assert codes.is_valid('plate_color', hj)


def test_selection_for_odoo_fields():
    assert codes.selection('direction') == [('1', 'In'), ('2', 'Out')]
    assert codes.selection('direction', 'zh_CN') == [('1', '进厂'), ('2', '出厂')]
    assert codes.selection('direction', None) == [('1', 'In'), ('2', 'Out')]
    assert len(codes.selection('vehicle_type', 'zh_CN')) == len(codes.table('vehicle_type'))


def test_label_of_unknown_or_empty_code():
    assert codes.label('fuel_type', 'W') == 'W'
    assert codes.label('fuel_type', None) == ''
    assert codes.label('fuel_type', False) == ''


@pytest.mark.parametrize('name, code, valid', [
    ('fuel_type', 'B', True), ('fuel_type', 'b', False), ('fuel_type', 'W', False),
    ('plate_color', '1', True), ('plate_color', 1, False), ('plate_color', None, False),
    ('plate_color', ['1'], False), ('emission_stage', 'D', True), ('emission_stage', '7', False),
    ('vehicle_type', 'H11', True), ('vehicle_type', 'H1', False),
])
def test_is_valid(name, code, valid):
    assert codes.is_valid(name, code) is valid


def test_check_code_returns_the_code_or_names_table_and_value():
    assert codes.check_code('emission_stage', '6') == '6'
    with pytest.raises(Hj1321Error) as info:
        codes.check_code('emission_stage', '7')
    exc = info.value
    assert exc.code == 'code.invalid'
    assert 'emission_stage' in exc.message_en and "'7'" in exc.message_en
    assert 'emission_stage' in exc.message_zh and "'7'" in exc.message_zh
    assert 'D' in exc.message_en          # lists what is allowed
    assert exc.params == {'table': 'emission_stage', 'value': '7'}


@pytest.mark.parametrize('color_type, hj', [
    (0, '5'), (1, '0'), (2, '1'), (3, '2'), (4, '3'), (5, '4'), (6, '6'),
    ('2', '1'), (' 5 ', '4'), (None, '5'), (99, '5'), (True, '5'),
    ('blue', '0'), ('Yellow', '1'), ('yellowGreen', '6'), ('yellow-green', '6'),
    ('green', '4'), ('蓝色', '0'), ('黄绿色', '6'), ('purple', '5'),
])
def test_camera_color_to_hj(color_type, hj):
    assert codes.camera_color_to_hj(color_type) == hj


def test_clean_sets():
    assert codes.CLEAN_STAGES == {'5', '6', 'D'}
    assert {'C', 'P'} <= codes.NEW_ENERGY_FUELS
    assert 'B' not in codes.NEW_ENERGY_FUELS and 'O' not in codes.NEW_ENERGY_FUELS
    for code in codes.NEW_ENERGY_FUELS:
        assert codes.is_valid('fuel_type', code)


@pytest.mark.parametrize('stage, fuel, clean', [
    ('6', 'B', True), ('5', 'E', True), ('D', 'C', True), ('4', 'B', False),
    ('3', None, False), ('X', 'C', True), ('X', 'P', True), (None, None, False),
    ('4', 'O', False), (False, False, False),
])
def test_is_v_plus_or_new_energy(stage, fuel, clean):
    assert codes.is_v_plus_or_new_energy(stage, fuel) is clean
