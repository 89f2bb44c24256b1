import pytest

from hj1321.consistency import Warning, check_vehicle


def _codes(found):
    return sorted(w.code for w in found)


@pytest.mark.parametrize('kwargs', [
    {},
    dict(plate_kind='ordinary', plate_color='1', fuel='B', stage='6'),
    dict(plate_kind='ordinary', plate_color='0', fuel='A', stage='5'),
    dict(plate_kind='new_energy_large', plate_color='6', fuel='C', stage='D'),
    dict(plate_kind='new_energy_large', plate_color='4', fuel='P', stage='D'),
    dict(plate_kind='new_energy_small', plate_color='4', fuel='O', stage='6'),   # plug-in hybrid
    dict(plate_kind='ordinary', plate_color='5', fuel='B', stage='6'),           # colour unknown
    dict(plate_kind=None, plate_color='1', fuel='E', stage='6'),
    dict(plate_kind='trailer', plate_color='1', fuel='Y', stage='X'),
])
def test_consistent_vehicles_have_no_warnings(kwargs):
    assert check_vehicle(**kwargs) == []


@pytest.mark.parametrize('kwargs, expected', [
    (dict(plate_kind='new_energy_large', plate_color='6', fuel='B', stage='6'),
     ['vehicle.new_energy_plate_fuel']),
    (dict(plate_kind='new_energy_small', plate_color='4', fuel='A'),
     ['vehicle.new_energy_plate_fuel']),
    (dict(plate_color='4', fuel='B'), ['vehicle.new_energy_plate_fuel']),
    (dict(plate_kind=None, plate_color='6', fuel='E'), ['vehicle.new_energy_plate_fuel']),
    (dict(plate_kind='new_energy_large', stage='4'), ['vehicle.new_energy_plate_stage']),
    (dict(plate_color='4', stage='3'), ['vehicle.new_energy_plate_stage']),
    (dict(fuel='B', stage='D'), ['vehicle.electric_stage_fuel']),
    (dict(fuel='O', stage='D'), ['vehicle.electric_stage_fuel']),
    (dict(fuel='C', stage='6'), ['vehicle.electric_fuel_stage']),
    (dict(fuel='C', stage='X'), ['vehicle.electric_fuel_stage']),
    (dict(plate_kind='ordinary', plate_color='4'), ['vehicle.plate_color']),
    (dict(plate_kind='police', plate_color='0'), ['vehicle.plate_color']),
    (dict(plate_kind='new_energy_small', plate_color='1'), ['vehicle.plate_color']),
    (dict(plate_kind='ordinary', plate_color='4', fuel='B', stage='4'),
     ['vehicle.new_energy_plate_fuel', 'vehicle.new_energy_plate_stage', 'vehicle.plate_color']),
])
def test_contradictions_are_warned(kwargs, expected):
    found = check_vehicle(**kwargs)
    assert _codes(found) == expected
    for warning in found:
        assert isinstance(warning, Warning)
        assert warning.message_zh and warning.message_en
        assert warning.message_zh != warning.message_en


def test_messages_name_the_values_in_both_languages():
    [fuel] = check_vehicle(plate_kind='new_energy_large', fuel='B')
    assert '柴油' in fuel.message_zh and 'Diesel' in fuel.message_en
    assert '大型新能源号牌' in fuel.message_zh and 'large new-energy plate' in fuel.message_en
    [stage] = check_vehicle(fuel='C', stage='5')
    assert '国V' in stage.message_zh and 'China V' in stage.message_en
    [color] = check_vehicle(plate_kind='police', plate_color='0')
    assert '蓝色' in color.message_zh and '白色' in color.message_zh
    assert 'Blue' in color.message_en and 'White' in color.message_en
    assert 'police plate' in color.message_en
