from decimal import Decimal
from fractions import Fraction

import pytest

from hj1321 import transport
from hj1321.errors import Hj1321Error
from hj1321.transport import Row, summarize, transport_grade, ultra_low_check

FINE_IN_PLANT = {'6': 3, 'D': 2}
FINE_MACHINERY = {'3': 1, '4': 2, 'D': 1}


def road(tonnage, trips, stage, fuel='B', cargo=1, direction='in'):
    return Row('road', cargo, direction, tonnage, trips, stage, fuel)


def other(mode, tonnage, cargo=1, direction='in'):
    return Row(mode, cargo, direction, tonnage, 0, None, None)


def grade(road_by_stage, **kwargs):
    kwargs.setdefault('in_plant_by_stage', FINE_IN_PLANT)
    kwargs.setdefault('machinery_by_stage', FINE_MACHINERY)
    return transport_grade(road_by_stage, **kwargs)


# -- labels -------------------------------------------------------------------------

def test_modes_and_bilingual_labels():
    assert transport.MODES == ('road', 'rail', 'waterway', 'belt', 'pipeline')
    assert [transport.mode_label(m, 'zh_CN') for m in transport.MODES] == [
        '公路', '铁路', '水路', '皮带通廊', '管道']
    assert transport.mode_label('belt', 'en_US') == 'Belt conveyor'
    assert transport.mode_selection('zh_CN')[0] == ('road', '公路')
    assert transport.mode_label('ship') == 'ship'


# -- grade boundaries ---------------------------------------------------------------

def test_exactly_80_percent_with_the_rest_china_iv_is_b():
    result = grade({'5': 5, '6': 3, '4': 2})
    assert result.grade == 'B'
    assert result.share == 0.8
    share = result.check('B.share')
    assert share.passed and share.threshold == 0.8
    assert share.message_zh == '国五及以上/新能源占比 80.0%（8/10 趟），B级要求≥80%'
    assert share.message_en == ('China V+/new-energy share 80.0 % (8 of 10 trips), '
                                'grade B needs ≥ 80 %')
    assert result.check('B.rest').passed
    assert not result.check('A.road').passed


def test_80_percent_with_one_china_iii_is_c_not_b():
    result = grade({'6': 8, '4': 1, '3': 1})
    assert result.grade == 'C'
    assert result.check('B.share').passed
    rest = result.check('B.rest')
    assert not rest.passed and rest.value == 1
    assert '国四以下或排放阶段不明 1 趟' in rest.message_zh
    assert '1 trips below China IV' in rest.message_en


def test_80_percent_with_an_unknown_stage_is_not_b():
    result = grade({'6': 8, '4': 1, 'X': 1})
    assert result.grade == 'C'
    assert 'unknown stage: 1 trips' in result.check('B.rest').message_en
    assert grade({'6': 8, '4': 1, None: 1}).grade == 'C'
    assert grade({'6': 8, '4': 1, 'unknown': 1}).grade == 'C'


def test_half_is_c():
    result = grade({'5': 5, '4': 5})
    assert result.grade == 'C'
    assert result.share == 0.5
    assert not result.check('B.share').passed
    assert result.check('C.share').passed
    assert 'C级要求≥50%' in result.check('C.share').message_zh


def test_just_below_half_is_below_c_and_never_shown_as_50():
    result = grade({'6': 4999, '4': 5001})
    assert result.grade == '-'
    check = result.check('C.share')
    assert not check.passed
    assert '49.99%' in check.message_zh and '49.99 %' in check.message_en
    assert '50.0' not in check.message_en.split(',')[0]


def test_percentages_are_cut_not_rounded_up():
    almost_all = grade({'6': 99999, '4': 1})
    assert almost_all.grade == 'B'
    assert '99.99 %' in almost_all.check('A.road').message_en
    assert not almost_all.check('A.road').passed
    assert '49.99 %' in grade({'6': 49996, '4': 50004}).check('C.share').message_en
    assert '66.66%' in grade({'6': 2, '4': 1}).check('B.share').message_zh


def test_just_below_80_percent_is_c():
    assert grade({'6': 7999, '4': 2001}).grade == 'C'
    assert '79.99 %' in grade({'6': 7999, '4': 2001}).check('B.share').message_en


def test_all_v_plus_with_fine_registers_is_a():
    result = grade({'5': 4, '6': 5, 'D': 1})
    assert result.grade == 'A'
    assert result.share == 1.0
    assert all(c.passed for c in result.checks)
    assert [c.rule for c in result.checks] == [
        'A.road', 'A.in_plant', 'A.machinery', 'B.share', 'B.rest', 'C.share']


def test_one_china_iv_in_plant_vehicle_costs_the_a():
    result = grade({'6': 10}, in_plant_by_stage={'6': 3, '4': 1})
    assert result.grade == 'B'
    check = result.check('A.in_plant')
    assert not check.passed and check.value == 1
    assert '不符合要求 1' in check.message_zh


def test_china_ii_machinery_costs_the_a_but_iii_is_fine():
    assert grade({'6': 10}, machinery_by_stage={'3': 2}).grade == 'A'
    result = grade({'6': 10}, machinery_by_stage={'3': 2, '2': 1})
    assert result.grade == 'B'
    assert not result.check('A.machinery').passed
    unknown = grade({'6': 10}, machinery_by_stage={'X': 1})
    assert unknown.grade == 'B'
    assert 'unknown stage: 1' in unknown.check('A.machinery').message_en


def test_a_without_machinery_data_is_not_granted_and_says_not_checked():
    result = transport_grade({'6': 10}, in_plant_by_stage=FINE_IN_PLANT)
    assert result.grade == 'B'
    check = result.check('A.machinery')
    assert check.passed is False and check.value is None
    assert 'not checked' in check.message_en and '未核查' in check.message_zh
    assert result.check('A.in_plant').passed
    both = transport_grade({'6': 10})
    assert both.grade == 'B'
    assert 'not checked' in both.check('A.in_plant').message_en


def test_empty_registers_pass_and_say_so():
    result = transport_grade({'6': 10}, in_plant_by_stage={}, machinery_by_stage={})
    assert result.grade == 'A'
    assert 'none registered' in result.check('A.in_plant').message_en


def test_gas_china_v_counts_as_v_plus_and_new_energy_fuel_counts_via_stage_counts():
    rows = [road(10, 1, '5', 'E'), road(10, 1, None, 'C'), road(10, 1, '4', 'P')]
    counts = transport.stage_counts(rows)
    assert counts == {'5': 1, 'D': 2}
    assert grade(counts).grade == 'A'


def test_tonnage_basis_and_trips_basis_differ():
    # 8 of 10 trips by China VI, but the two China IV trips haul most of the tonnage.
    rows = [road(10, 8, '6'), road(90, 2, '4')]
    by_trips = transport_grade(transport.stage_counts(rows, 'trips'), FINE_IN_PLANT,
                               FINE_MACHINERY, basis='trips')
    by_tonnage = transport_grade(transport.stage_counts(rows, 'tonnage'), FINE_IN_PLANT,
                                 FINE_MACHINERY, basis='tonnage')
    assert by_trips.grade == 'B' and by_trips.share == 0.8
    assert by_tonnage.grade == '-' and by_tonnage.share == 0.1
    assert '10/100 吨' in by_tonnage.check('C.share').message_zh
    assert '10 of 100 t' in by_tonnage.check('C.share').message_en


def test_tonnage_basis_accepts_fractional_tonnage_exactly():
    result = grade({'6': 0.8, '4': 0.2}, basis='tonnage')
    assert result.grade == 'B'
    with pytest.raises(Hj1321Error) as info:
        grade({'6': 0.8, '4': 0.2}, basis='trips')
    assert info.value.code == 'transport.count'


def test_zero_road_haulage_is_below_c_with_a_clear_check():
    for empty in ({}, {'6': 0, '4': 0}):
        result = grade(empty)
        assert result.grade == '-'
        assert result.share is None
        data = result.check('road.data')
        assert data.passed is False
        assert 'No road haulage recorded' in data.message_en
        assert '没有公路运输数据' in data.message_zh


# -- summarize ----------------------------------------------------------------------

def test_eight_of_ten_trips_is_exactly_point_eight():
    rows = [road(Decimal('0.1'), 1, '6') for _ in range(8)] + [road(0.1, 1, '4')] * 2
    figures = summarize(rows)
    assert figures.v_plus_trips == 8 and figures.road_trips == 10
    assert figures.v_plus_trip_share == 0.8
    assert figures.v_plus_trip_fraction == Fraction(4, 5)
    assert figures.v_plus_tonnage_fraction == Fraction(4, 5)
    assert figures.road_tonnage == 1.0


def test_float_tonnages_are_read_through_their_decimal_text():
    figures = summarize([road(0.1, 1, 'D'), road(0.2, 1, 'D'), road(0.7, 1, '4')])
    assert figures.clean_fraction == Fraction(3, 10)
    assert figures.total_tonnage == 1.0


def test_clean_share_new_energy_only_by_default_and_v_plus_on_request():
    rows = [road(50, 5, '6'), road(25, 2, 'D', 'C'), other('rail', 25)]
    default = summarize(rows)
    assert default.clean_tonnage == 50.0
    assert default.clean_share == 0.5
    assert default.clean_trucks == 'new_energy'
    v_plus = summarize(rows, clean_trucks='v_plus')
    assert v_plus.clean_tonnage == 100.0
    assert v_plus.clean_share == 1.0


def test_rail_belt_and_new_energy_trucks_are_clean_diesel_vi_is_not():
    rows = [other('rail', 30), other('belt', 20), road(10, 1, '6', 'P'),
            road(15, 1, 'X', 'C'), road(25, 2, '6', 'B')]
    figures = summarize(rows)
    assert figures.clean_tonnage == 75.0
    assert figures.clean_fraction == Fraction(3, 4)
    assert figures.total_tonnage == 100.0
    assert figures.tonnage_by_mode == {'road': 50.0, 'rail': 30.0, 'waterway': 0.0,
                                       'belt': 20.0, 'pipeline': 0.0}
    assert figures.road_tonnage_by_fuel == {'P': 10.0, 'C': 15.0, 'B': 25.0}
    # a hydrogen / electric truck is V+ whatever stage was recorded, and not "unknown"
    assert figures.v_plus_trips == 4 and figures.unknown_stage_trips == 0


def test_clean_modes_can_be_narrowed():
    rows = [other('pipeline', 40), other('rail', 60)]
    assert summarize(rows).clean_share == 1.0
    assert summarize(rows, clean_modes=('rail',)).clean_share == 0.6


def test_unknown_stage_is_counted_reported_and_neither_clean_nor_v_plus():
    rows = [road(30, 3, None, None), road(20, 2, 'X', 'B'), road(50, 5, '6')]
    figures = summarize(rows, clean_trucks='v_plus')
    assert figures.unknown_stage_trips == 5
    assert figures.unknown_stage_tonnage == 50.0
    assert figures.road_tonnage_by_stage == {'unknown': 50.0, '6': 50.0}
    assert figures.road_trips_by_stage == {'unknown': 5, '6': 5}
    assert figures.road_tonnage_by_fuel == {'unknown': 30.0, 'B': 70.0}
    assert figures.v_plus_trips == 5 and figures.v_plus_trip_share == 0.5
    assert figures.clean_tonnage == 50.0


def test_zero_totals_give_no_shares():
    for rows in ([], [road(0, 0, '6'), other('rail', 0)]):
        figures = summarize(rows)
        assert figures.total_tonnage == 0.0
        assert figures.clean_share is None and figures.clean_fraction is None
        assert figures.v_plus_trip_share is None
        assert figures.v_plus_tonnage_share is None


def test_by_cargo_direction_splits_without_nesting():
    rows = [road(10, 1, '6', cargo=1, direction='in'),
            road(30, 3, 'D', 'C', cargo=1, direction='in'),
            other('rail', 60, cargo=1, direction='out'),
            road(5, 1, '4', cargo=2, direction='in'),
            road(5, 1, '5', cargo=False, direction='in')]
    figures = summarize(rows)
    assert set(figures.by_cargo_direction) == {(1, 'in'), (1, 'out'), (2, 'in'), (None, 'in')}
    coal_in = figures.by_cargo_direction[(1, 'in')]
    assert coal_in.total_tonnage == 40.0 and coal_in.road_trips == 4
    assert coal_in.clean_share == 0.75
    assert coal_in.by_cargo_direction == {}
    assert figures.by_cargo_direction[(1, 'out')].clean_share == 1.0
    assert figures.by_cargo_direction[(2, 'in')].v_plus_trip_share == 0.0
    assert figures.total_tonnage == 110.0
    as_dict = figures.as_dict()
    assert as_dict['by_cargo_direction'][(1, 'in')]['clean_tonnage'] == 30.0
    assert as_dict['road_trips'] == 6


# -- 2024 ultra-low-emission target -------------------------------------------------

def test_ultra_low_met_by_clean_share():
    figures = summarize([other('rail', 80), road(20, 2, '4')])
    check = ultra_low_check(figures)
    assert check.passed and check.value == 0.8 and check.threshold == 0.8
    assert 'reaches the ≥ 80 % target' in check.message_en
    assert '清洁运输占比 80.0%' in check.message_zh


def test_ultra_low_met_by_all_china_vi_road_haulage():
    figures = summarize([other('rail', 40), road(50, 5, '6'), road(10, 1, '4', 'C')])
    check = ultra_low_check(figures)
    assert check.passed
    assert check.value == 0.5
    assert 'entirely China VI or new energy' in check.message_en
    assert '全部为国六或新能源' in check.message_zh


def test_ultra_low_not_met_explains_both_conditions():
    figures = summarize([other('rail', 40), road(50, 5, '6'), road(10, 1, '5'),
                         road(3, 1, None)])
    check = ultra_low_check(figures)
    assert not check.passed
    assert 'Not met' in check.message_en
    assert '2 trips (13 t)' in check.message_en
    assert '1 of them with unknown stage' in check.message_en
    assert '未达到目标' in check.message_zh


def test_ultra_low_target_is_compared_exactly_and_can_be_changed():
    figures = summarize([other('rail', 85), road(15, 1, '4')])
    assert ultra_low_check(figures).passed
    assert not ultra_low_check(figures, target=0.9).passed
    assert ultra_low_check(figures, target=0.85).passed


def test_ultra_low_without_data_fails_clearly():
    check = ultra_low_check(summarize([]))
    assert not check.passed and check.value is None
    assert 'no tonnage recorded' in check.message_en
    assert 'no road haulage is recorded' in check.message_en


# -- bad input ----------------------------------------------------------------------

@pytest.mark.parametrize('row, code', [
    (road(-1, 1, '6'), 'transport.tonnage'),
    (road(float('nan'), 1, '6'), 'transport.tonnage'),
    (road('12', 1, '6'), 'transport.tonnage'),
    (road(True, 1, '6'), 'transport.tonnage'),
    (road(1, -1, '6'), 'transport.trips'),
    (road(1, 1.5, '6'), 'transport.trips'),
    (Row('truck', 1, 'in', 1, 1, '6', 'B'), 'transport.mode'),
    (road(1, 1, '7'), 'transport.stage'),
    (road(1, 1, '6', 'Diesel'), 'transport.fuel'),
    (Row('rail', 1, 'in', 1, 0, '6', None), 'transport.stage'),
    (road(1, 1, '6', direction='1'), 'transport.direction'),
    (road(1, 1, '6', cargo=[1]), 'transport.cargo'),
    (('road', 1, 'in', 1), 'transport.row'),
])
def test_bad_rows_raise(row, code):
    with pytest.raises(Hj1321Error) as info:
        summarize([row])
    assert info.value.code == code
    assert info.value.message_zh and info.value.message_en


def test_negative_tonnage_message_names_the_value():
    with pytest.raises(Hj1321Error) as info:
        summarize([other('belt', -3.5)])
    assert '-3.5' in info.value.message_en and '负数' in info.value.message_zh


@pytest.mark.parametrize('kwargs, code', [
    (dict(clean_trucks='green'), 'transport.clean_trucks'),
    (dict(clean_modes=('rail', 'road')), 'transport.clean_modes'),
    (dict(clean_modes=('air',)), 'transport.clean_modes'),
])
def test_bad_settings_raise(kwargs, code):
    with pytest.raises(Hj1321Error) as info:
        summarize([other('rail', 1)], **kwargs)
    assert info.value.code == code


@pytest.mark.parametrize('args, kwargs, code', [
    (({'6': 1},), dict(basis='tons'), 'transport.basis'),
    (({'6': -1},), {}, 'transport.count'),
    (({'9': 1},), {}, 'transport.stage'),
    (({'6': 1}, {'6': -2}), {}, 'transport.count'),
    (({'6': 1}, None, {'Q': 1}), {}, 'transport.stage'),
    (([('6', 1)],), {}, 'transport.stages'),
])
def test_bad_grade_input_raises(args, kwargs, code):
    with pytest.raises(Hj1321Error) as info:
        transport_grade(*args, **kwargs)
    assert info.value.code == code


def test_bad_basis_in_stage_counts_and_bad_target_raise():
    with pytest.raises(Hj1321Error) as info:
        transport.stage_counts([], basis='weight')
    assert info.value.code == 'transport.basis'
    figures = summarize([other('rail', 1)])
    for target in (0, 1.5, -0.1):
        with pytest.raises(Hj1321Error) as info:
            ultra_low_check(figures, target=target)
        assert info.value.code == 'transport.target'
    with pytest.raises(Hj1321Error) as info:
        ultra_low_check({'clean_share': 0.9})
    assert info.value.code == 'transport.figures'
