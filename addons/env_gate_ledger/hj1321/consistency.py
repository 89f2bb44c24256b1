"""Plausibility checks across plate, colour, fuel and stage: warnings, never refusals.

A green plate on a diesel truck is usually a typing error, but it is the clerk who knows;
the register shows the warning and saves the record.
"""
import collections

from . import codes, plates

Warning = collections.namedtuple('Warning', 'code message_zh message_en')

_NEW_ENERGY_PLATES = ('new_energy_small', 'new_energy_large')
_FOSSIL_ONLY = ('A', 'B', 'D', 'E', 'F', 'L', 'M')


def check_vehicle(plate_kind=None, plate_color=None, fuel=None, stage=None):
    """Warnings about values that contradict each other."""
    found = []
    if plate_kind in _NEW_ENERGY_PLATES and fuel in _FOSSIL_ONLY:
        found.append(Warning(
            'vehicle.green_plate_fossil_fuel',
            '新能源号牌车辆的燃料类型为“%s”，请核对' % codes.label('fuel_type', fuel, 'zh_CN'),
            'a new-energy plate with fuel "%s": please check' % codes.label('fuel_type', fuel)))
    if plate_color in ('4', '6') and plate_kind not in _NEW_ENERGY_PLATES and fuel in _FOSSIL_ONLY:
        found.append(Warning(
            'vehicle.green_color_fossil_fuel',
            '绿色/黄绿色号牌车辆的燃料类型为“%s”（如柴油），请核对'
            % codes.label('fuel_type', fuel, 'zh_CN'),
            'a green plate colour with fuel "%s": please check' % codes.label('fuel_type', fuel)))
    if stage == 'D' and fuel and fuel not in codes.NEW_ENERGY_FUELS:
        found.append(Warning(
            'vehicle.electric_stage_fuel',
            '排放阶段为“电动”，但燃料类型为“%s”' % codes.label('fuel_type', fuel, 'zh_CN'),
            'emission stage "electric" but fuel "%s"' % codes.label('fuel_type', fuel)))
    if fuel == 'C' and stage and stage != 'D':
        found.append(Warning(
            'vehicle.electric_fuel_stage',
            '燃料类型为“电”，但排放阶段为“%s”' % codes.label('emission_stage', stage, 'zh_CN'),
            'fuel "electric" but emission stage "%s"' % codes.label('emission_stage', stage)))
    if plate_kind and plate_color and plate_color not in plates.expected_colors(plate_kind):
        found.append(Warning(
            'vehicle.plate_color',
            '号牌颜色“%s”与号牌类型不符' % codes.label('plate_color', plate_color, 'zh_CN'),
            'plate colour "%s" does not fit this kind of plate'
            % codes.label('plate_color', plate_color)))
    return found
