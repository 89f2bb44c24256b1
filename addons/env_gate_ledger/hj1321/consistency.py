"""Plausibility checks across plate, colour, fuel and stage: warnings, never refusals.

A green plate on a diesel truck is usually a typing error, but it is the clerk holding the
driving licence who knows; the register shows the warning and still saves the record.
"""
import collections

from . import codes, plates

Warning = collections.namedtuple('Warning', 'code message_zh message_en')

NEW_ENERGY_KINDS = frozenset(['new_energy_small', 'new_energy_large'])
NEW_ENERGY_COLORS = frozenset(['4', '6'])           # green, yellow-green
# Fuels of a vehicle that only burns fuel: such a vehicle never gets a new-energy plate.
FOSSIL_ONLY_FUELS = frozenset(['A', 'B', 'D', 'E', 'F', 'L', 'M'])
OLD_STAGES = frozenset(['0', '1', '2', '3', '4'])    # China IV and below


def _zh(table, code):
    return codes.label(table, code, 'zh_CN')


def _en(table, code):
    return codes.label(table, code, 'en_US')


def _colors(color_codes, lang):
    return ('、' if lang == 'zh' else ' or ').join(
        (_zh if lang == 'zh' else _en)('plate_color', c) for c in sorted(color_codes))


def check_vehicle(plate_kind=None, plate_color=None, fuel=None, stage=None):
    """Warnings (a list of `Warning`) about values that contradict each other.

    Every argument is optional; a check runs only when the values it needs are given.
    `plate_kind` is a plates.KINDS value, the others are HJ 1321 codes.
    """
    found = []
    new_energy_plate = plate_kind in NEW_ENERGY_KINDS
    new_energy_color = plate_color in NEW_ENERGY_COLORS
    if new_energy_plate:
        what_zh, what_en = plates.kind_label(plate_kind, 'zh_CN'), plates.kind_label(plate_kind)
    else:
        what_zh = '%s号牌' % _zh('plate_color', plate_color)
        what_en = '%s plate' % _en('plate_color', plate_color).lower()

    if (new_energy_plate or new_energy_color) and fuel in FOSSIL_ONLY_FUELS:
        found.append(Warning(
            'vehicle.new_energy_plate_fuel',
            '%s只发给纯电动、插电式混合动力和燃料电池汽车，但燃料类型为“%s”：请核对号牌或燃料类型'
            % (what_zh, _zh('fuel_type', fuel)),
            'A %s is only issued to electric, plug-in hybrid and fuel-cell vehicles, but the '
            'fuel is "%s": check the plate or the fuel' % (what_en, _en('fuel_type', fuel))))

    if (new_energy_plate or new_energy_color) and stage in OLD_STAGES:
        found.append(Warning(
            'vehicle.new_energy_plate_stage',
            '%s车辆的排放阶段为“%s”：新能源号牌车辆应为电动或国V及以上，请核对排放阶段'
            % (what_zh, _zh('emission_stage', stage)),
            'A vehicle with a %s has emission stage "%s": new-energy plated vehicles are '
            'electric or China V and above; check the stage'
            % (what_en, _en('emission_stage', stage))))

    if stage == 'D' and fuel and fuel not in codes.NEW_ENERGY_FUELS:
        found.append(Warning(
            'vehicle.electric_stage_fuel',
            '排放阶段为“电动”，但燃料类型为“%s”：电动车辆的燃料类型应为“电”或“氢”'
            % _zh('fuel_type', fuel),
            'Emission stage "electric" but fuel "%s": an electric vehicle\'s fuel is '
            '"electric" or "hydrogen"' % _en('fuel_type', fuel)))

    if fuel == 'C' and stage and stage != 'D':
        found.append(Warning(
            'vehicle.electric_fuel_stage',
            '燃料类型为“电”，但排放阶段为“%s”：纯电动车辆的排放阶段应为“电动”(D)'
            % _zh('emission_stage', stage),
            'Fuel "electric" but emission stage "%s": a battery-electric vehicle\'s stage is '
            '"electric" (D)' % _en('emission_stage', stage)))

    # '5' (other) is what an unknown camera colour becomes: nothing to compare.
    if plate_kind and plate_color and plate_color != '5':
        expected = plates.expected_colors(plate_kind)
        if expected and plate_color not in expected:
            found.append(Warning(
                'vehicle.plate_color',
                '号牌颜色为“%s”，与%s不符（应为%s）：请核对号牌颜色'
                % (_zh('plate_color', plate_color), plates.kind_label(plate_kind, 'zh_CN'),
                   _colors(expected, 'zh')),
                'Plate colour "%s" is unusual for this %s (expected %s): check the plate colour'
                % (_en('plate_color', plate_color), plates.kind_label(plate_kind),
                   _colors(expected, 'en'))))
    return found
