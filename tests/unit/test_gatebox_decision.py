"""Barrier decisions: each rule at its boundary, exemptions, lane policies, exit, texts."""
import datetime
import json

import pytest

from gatebox import cameras, decision
from gatebox.decision import (BlacklistEntry, HOLD, LanePolicy, PASS, REFUSE, Rule, Strategy,
                              Vehicle, decide)

NOW = datetime.datetime(2026, 11, 28, 1, 0, 0)          # naive UTC, 09:00 Beijing
HOUR = datetime.timedelta(hours=1)
TICK = datetime.timedelta(microseconds=1)
PLATE = '冀B12345'


def read(key=PLATE, confidence=96.0, direction='in', raw=None):
    return cameras.PlateRead(
        camera_event_id='aip/dev/1/0', lane_hint='dev/0', plate_raw=key if raw is None else raw,
        plate_key=key, plate_color='1', confidence=confidence, direction=direction,
        time_utc=NOW, pictures={}, is_offline=False, is_heartbeat=False,
        raw_kind=cameras.ALARMINFOPLATE, extra={})


def truck(stage='4', fuel='B', vehicle_type='Q11', **fields):
    return Vehicle(PLATE, stage, fuel, vehicle_type, 'transport', **fields)


def alert(level, start=NOW - HOUR, end=NOW + HOUR, **fields):
    return Strategy(level, start, end, **fields)


def run(vehicle=None, strategies=(), lane=None, blacklist=None, plate_read=None, now=NOW):
    return decide(plate_read or read(), vehicle, blacklist, strategies, lane, now)


# ---------------------------------------------------------------------------------------
# Emergency strategies: default rules at their thresholds
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('level,threshold,above', [('yellow', '3', '4'), ('orange', '4', '5'),
                                                   ('red', '5', '6')])
def test_default_rules_refuse_at_threshold_and_pass_just_above(level, threshold, above):
    at = run(truck(stage=threshold), [alert(level)])
    assert (at.action, at.reason) == (REFUSE, 'emergency_' + level)
    assert at.detail['level'] == level and at.detail['rule_index'] == 0
    over = run(truck(stage=above), [alert(level)])
    assert (over.action, over.reason) == (PASS, 'ok')


def test_red_refuses_china_v_diesel_heavy_truck_orange_lets_it_in():
    assert run(truck(stage='5', fuel='B'), [alert('red')]).reason == 'emergency_red'
    assert run(truck(stage='5', fuel='B'), [alert('orange')]).action == PASS


def test_orange_includes_gas_trucks_and_every_heavy_truck_type():
    assert run(truck(stage='4', fuel='E'), [alert('orange')]).action == REFUSE
    assert run(truck(stage='2', vehicle_type='H17'), [alert('orange')]).action == REFUSE


@pytest.mark.parametrize('stage,fuel', [('D', 'C'), ('X', 'P'), ('6', 'B')])
def test_new_energy_and_china_vi_pass_even_red(stage, fuel):
    result = run(truck(stage=stage, fuel=fuel), [alert('red')])
    assert (result.action, result.reason) == (PASS, 'ok')


def test_light_trucks_are_not_heavy_goods_vehicles():
    light = truck(stage='3', vehicle_type='H31')
    assert run(light, [alert('red')]).action == PASS
    # unknown stage does not matter when the type already rules the vehicle out
    assert run(light._replace(stage='X'), [alert('red')]).reason == 'ok'


@pytest.mark.parametrize('changes', [{'stage': 'X'}, {'stage': None}, {'vehicle_type': None},
                                     {'vehicle_type': 'X99'}])
def test_missing_register_data_a_rule_needs_holds_for_the_guard(changes):
    result = run(truck(**changes), [alert('orange')])
    assert (result.action, result.reason) == (HOLD, 'register_incomplete')
    assert result.detail['strategy_id'] == 0


def test_no_active_strategy_lets_an_old_truck_in():
    assert run(truck(stage='2'), []).reason == 'ok'


# -- period: start inclusive, end exclusive ------------------------------------------------

def test_period_start_is_inclusive():
    strategy = alert('orange', start=NOW, end=NOW + HOUR)
    assert run(truck(), [strategy], now=NOW).action == REFUSE
    assert run(truck(), [strategy], now=NOW - TICK).action == PASS


def test_period_end_is_exclusive():
    strategy = alert('orange', start=NOW - HOUR, end=NOW)
    assert run(truck(), [strategy], now=NOW - TICK).action == REFUSE
    assert run(truck(), [strategy], now=NOW).action == PASS


def test_open_period_bounds():
    endless = alert('orange', start=NOW - HOUR, end=None)
    assert run(truck(), [endless], now=NOW + datetime.timedelta(days=400)).action == REFUSE
    no_start = alert('orange', start=None, end=NOW + HOUR)
    assert run(truck(), [no_start], now=datetime.datetime(2000, 1, 1)).action == REFUSE


def test_strongest_active_strategy_wins_and_expired_ones_are_ignored():
    yellow = alert('yellow', id=1)
    red = alert('red', id=3)
    assert run(truck(stage='3'), [yellow, red]).reason == 'emergency_red'
    assert run(truck(stage='3'), [red, yellow]).detail['strategy_id'] == 3
    expired_red = alert('red', start=NOW - 2 * HOUR, end=NOW - HOUR, id=3)
    assert run(truck(stage='3'), [expired_red, yellow]).reason == 'emergency_yellow'
    # China V: only the red rule would stop it, and that one has expired
    assert run(truck(stage='5'), [expired_red, alert('orange')]).reason == 'ok'


# -- custom rules ---------------------------------------------------------------------------

def test_fuel_filter_rule_leaves_other_fuels_alone():
    diesel_only = alert('orange', rules=(Rule('4', fuels=frozenset('B'),
                                              vehicle_classes=('H1', 'Q1')),))
    assert run(truck(fuel='B'), [diesel_only]).action == REFUSE
    assert run(truck(fuel='E'), [diesel_only]).action == PASS
    # a failing criterion beats an unknown one: a gas truck of unknown stage passes
    assert run(truck(fuel='E', stage='X'), [diesel_only]).action == PASS
    assert run(truck(fuel=None), [diesel_only]).reason == 'register_incomplete'


def test_rule_action_hold_holds_with_the_level_as_reason():
    strategy = alert('orange', rules=(Rule('4', action=HOLD),))
    result = run(truck(), [strategy])
    assert (result.action, result.reason) == (HOLD, 'emergency_orange')


def test_empty_rule_set_stops_nothing_and_stop_all_rule_stops_electric_too():
    assert run(truck(stage='0'), [alert('red', rules=())]).reason == 'ok'
    stop_road_transport = alert('red', rules=(Rule(None, vehicle_classes=('H1', 'Q1')),))
    assert run(truck(stage='D', fuel='C'), [stop_road_transport]).action == REFUSE


def test_category_rule():
    transport_only = alert('orange', rules=(Rule('4', categories=('transport',)),))
    assert run(truck(), [transport_only]).action == REFUSE
    assert run(truck()._replace(category='in_plant'), [transport_only]).action == PASS


def test_rule_matches_reports_unknown_separately():
    rule = decision.DEFAULT_RULES['orange'][0]
    assert decision.rule_matches(rule, truck(stage='4')) == decision.MATCH
    assert decision.rule_matches(rule, truck(stage='5')) == decision.NO_MATCH
    assert decision.rule_matches(rule, truck(stage='X')) == decision.UNKNOWN


# ---------------------------------------------------------------------------------------
# Exemptions
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('flag', [decision.FLAG_SPECIAL, decision.FLAG_HAZARDOUS])
def test_special_and_hazardous_vehicles_are_exempt_by_default(flag):
    result = run(truck(flags=(flag,)), [alert('red')])
    assert (result.action, result.reason) == (PASS, 'exempt')
    assert result.led_lines[2] == '豁免放行'


def test_other_flags_are_exempt_only_when_the_strategy_lists_them():
    livelihood = truck(flags=(decision.FLAG_LIVELIHOOD,))
    assert run(livelihood, [alert('orange')]).action == REFUSE
    listed = alert('orange', exempt_flags=frozenset([decision.FLAG_LIVELIHOOD]))
    assert run(livelihood, [listed]).reason == 'exempt'
    no_flags = alert('orange', exempt_flags=frozenset())
    assert run(truck(flags=('hazardous',)), [no_flags]).action == REFUSE


def test_plate_on_the_exemption_list():
    strategy = alert('orange', exempt_plates=frozenset([PLATE]))
    assert run(truck(), [strategy]).reason == 'exempt'
    assert run(truck()._replace(plate_key='冀B99999'), [strategy],
               plate_read=read('冀B99999')).action == REFUSE


def test_exempt_only_shows_when_a_rule_would_have_stopped_the_vehicle():
    result = run(truck(stage='6', flags=('hazardous',)), [alert('orange')])
    assert result.reason == 'ok'


def test_exemption_applies_per_strategy():
    exempting = alert('orange', exempt_plates=frozenset([PLATE]), id=1)
    other = alert('yellow', id=2)
    result = run(truck(stage='3'), [exempting, other])
    assert (result.action, result.reason) == (REFUSE, 'emergency_yellow')


# ---------------------------------------------------------------------------------------
# Blacklist
# ---------------------------------------------------------------------------------------

def test_blacklisted_vehicle_is_refused_even_when_exempt():
    entry = BlacklistEntry(PLATE, '市生态环境局', '超标排放', NOW - HOUR, None, 5)
    result = run(truck(stage='6', flags=('hazardous',)), [alert('red')],
                 blacklist=[entry])
    assert (result.action, result.reason) == (REFUSE, 'blacklisted')
    assert result.detail['blacklist_source'] == '市生态环境局'
    assert result.detail['blacklist_id'] == 5
    assert '市生态环境局' in result.text_en


def test_blacklist_validity_from_inclusive_to_exclusive():
    entry = BlacklistEntry(PLATE, 'city', '', NOW, NOW + HOUR)
    vehicle = truck(stage='6')
    assert run(vehicle, blacklist=entry, now=NOW).reason == 'blacklisted'
    assert run(vehicle, blacklist=entry, now=NOW - TICK).reason == 'ok'
    assert run(vehicle, blacklist=entry, now=NOW + HOUR - TICK).reason == 'blacklisted'
    assert run(vehicle, blacklist=entry, now=NOW + HOUR).reason == 'ok'


def test_expired_entry_does_not_count_but_a_valid_one_beside_it_does():
    expired = BlacklistEntry(PLATE, 'old list', '', NOW - 3 * HOUR, NOW - HOUR, 1)
    valid = BlacklistEntry(PLATE, 'new list', '', NOW - HOUR, None, 2)
    assert run(truck(stage='6'), blacklist=(expired,)).reason == 'ok'
    result = run(truck(stage='6'), blacklist=(expired, valid))
    assert result.reason == 'blacklisted' and result.detail['blacklist_source'] == 'new list'


def test_unregistered_blacklisted_plate_is_refused():
    entry = BlacklistEntry(PLATE, 'city')
    lane = LanePolicy(unregistered=PASS)
    assert run(None, lane=lane, blacklist=entry).reason == 'blacklisted'


# ---------------------------------------------------------------------------------------
# Lane policies: unregistered, low confidence, no plate, clean-only lanes
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('policy', [PASS, HOLD, REFUSE])
def test_unregistered_follows_the_lane_policy(policy):
    result = run(None, lane=LanePolicy(unregistered=policy))
    assert (result.action, result.reason) == (policy, 'unregistered')
    assert result.detail['policy'] == 'unregistered'


def test_default_lane_holds_unregistered_vehicles():
    assert run(None).action == HOLD


def test_unregistered_pass_lane_holds_during_an_alert_stage_unknown():
    lane = LanePolicy(unregistered=PASS)
    result = run(None, [alert('orange')], lane=lane)
    assert (result.action, result.reason) == (HOLD, 'unregistered')
    assert result.detail['level'] == 'orange'


def test_unregistered_pass_lane_under_stop_all_rule_refuses():
    stop_all = alert('red', rules=(Rule(None),))
    result = run(None, [stop_all], lane=LanePolicy(unregistered=PASS))
    assert (result.action, result.reason) == (REFUSE, 'emergency_red')


def test_unregistered_plate_on_exemption_list_passes_during_alert():
    strategy = alert('orange', exempt_plates=frozenset([PLATE]))
    result = run(None, [strategy], lane=LanePolicy(unregistered=PASS))
    assert (result.action, result.reason) == (PASS, 'exempt')


def test_unregistered_pass_lane_holds_on_a_clean_only_lane():
    result = run(None, lane=LanePolicy(unregistered=PASS, require_clean=True))
    assert (result.action, result.reason) == (HOLD, 'unregistered')


@pytest.mark.parametrize('policy', [HOLD, REFUSE])
def test_low_confidence_follows_the_lane_policy(policy):
    lane = LanePolicy(min_confidence=90.0, low_confidence=policy)
    result = run(truck(stage='6'), lane=lane, plate_read=read(confidence=89.9))
    assert (result.action, result.reason) == (policy, 'low_confidence')


def test_confidence_exactly_at_the_minimum_is_enough():
    lane = LanePolicy(min_confidence=90.0)
    assert run(truck(stage='6'), lane=lane, plate_read=read(confidence=90.0)).reason == 'ok'


def test_low_confidence_pass_policy_decides_on_the_read():
    lane = LanePolicy(min_confidence=90.0, low_confidence=PASS)
    assert run(truck(stage='6'), lane=lane, plate_read=read(confidence=10.0)).reason == 'ok'
    assert run(truck(stage='4'), [alert('orange')], lane=lane,
               plate_read=read(confidence=10.0)).reason == 'emergency_orange'


def test_low_confidence_is_checked_before_the_blacklist():
    # a doubtful read must not refuse whoever it happens to match: a person looks
    result = run(truck(), blacklist=BlacklistEntry(PLATE, 'city'),
                 plate_read=read(confidence=50.0))
    assert (result.action, result.reason) == (HOLD, 'low_confidence')


def test_read_without_confidence_is_not_judged_low():
    assert run(truck(stage='6'), plate_read=read(confidence=None)).reason == 'ok'


@pytest.mark.parametrize('policy', [HOLD, REFUSE])
def test_no_plate_read(policy):
    result = run(None, lane=LanePolicy(no_plate=policy), plate_read=read('', raw='无牌车'))
    assert (result.action, result.reason) == (policy, 'no_plate')
    assert result.plate_key == ''
    assert result.event_decision == ('unrecognised' if policy == HOLD else 'refuse')


def test_no_plate_default_holds():
    result = run(None, plate_read=read(''))
    assert (result.action, result.reason) == (HOLD, 'no_plate')
    assert result.led_lines == ('车牌未识别', '', '未识别请稍候')


@pytest.mark.parametrize('stage,fuel,action,reason', [
    ('4', 'B', REFUSE, 'stage_not_allowed'), ('5', 'B', PASS, 'ok'), ('D', 'C', PASS, 'ok'),
    ('X', 'B', HOLD, 'register_incomplete'), ('X', 'C', PASS, 'ok')])
def test_clean_only_lane(stage, fuel, action, reason):
    result = run(truck(stage=stage, fuel=fuel), lane=LanePolicy(require_clean=True))
    assert (result.action, result.reason) == (action, reason)


def test_clean_only_lane_ignores_strategy_exemptions():
    hazardous = truck(stage='4', flags=('hazardous',))
    result = run(hazardous, [alert('orange')], lane=LanePolicy(require_clean=True))
    assert (result.action, result.reason) == (REFUSE, 'stage_not_allowed')


def test_unknown_policy_value_never_opens_the_barrier():
    assert run(None, lane=LanePolicy(unregistered='open')).action == HOLD


# ---------------------------------------------------------------------------------------
# Exit direction
# ---------------------------------------------------------------------------------------

def test_exit_is_never_refused_because_of_a_strategy():
    result = run(truck(stage='0'), [alert('red')], plate_read=read(direction='out'))
    assert (result.action, result.reason, result.direction) == (PASS, 'ok', 'out')


def test_exit_ignores_clean_only_lanes():
    lane = LanePolicy(require_clean=True)
    assert run(truck(stage='3'), lane=lane, plate_read=read(direction='out')).action == PASS


def test_blacklisted_exit_is_held_by_default_and_passed_when_the_lane_says_so():
    entry = BlacklistEntry(PLATE, 'city')
    held = run(truck(), blacklist=entry, plate_read=read(direction='out'))
    assert (held.action, held.reason) == (HOLD, 'blacklisted')
    assert held.detail['policy'] == 'blacklist_exit'
    let_out = run(truck(), blacklist=entry, plate_read=read(direction='out'),
                  lane=LanePolicy(blacklist_exit=PASS))
    assert (let_out.action, let_out.reason) == (PASS, 'blacklisted')


@pytest.mark.parametrize('field,reason,plate_read', [
    ('unregistered', 'unregistered', read(direction='out')),
    ('low_confidence', 'low_confidence', read(direction='out', confidence=10.0)),
    ('no_plate', 'no_plate', read('', direction='out'))])
def test_refusing_lane_policies_only_hold_on_exit(field, reason, plate_read):
    result = run(None, lane=LanePolicy(**{field: REFUSE}), plate_read=plate_read)
    assert (result.action, result.reason) == (HOLD, reason)


def test_unregistered_exit_on_a_pass_lane_passes_even_during_an_alert():
    result = run(None, [alert('red')], lane=LanePolicy(unregistered=PASS),
                 plate_read=read(direction='out'))
    assert (result.action, result.reason) == (PASS, 'unregistered')


def test_direction_comes_from_the_read_then_the_lane_then_defaults_to_entry():
    exit_lane = LanePolicy(direction='out')
    assert run(truck(), [alert('orange')], lane=exit_lane,
               plate_read=read(direction=None)).action == PASS
    assert run(truck(), [alert('orange')], lane=exit_lane,
               plate_read=read(direction='in')).action == REFUSE
    two_way = LanePolicy(direction='both')
    result = run(truck(), [alert('orange')], lane=two_way, plate_read=read(direction=None))
    assert (result.action, result.direction) == (REFUSE, 'in')


# ---------------------------------------------------------------------------------------
# Texts, reason codes, camera reply
# ---------------------------------------------------------------------------------------

def test_led_lines_voice_and_log_text_of_a_pass():
    result = run(truck(stage='5'))
    assert result.led_lines == (PLATE, '国V 柴油', '放行')
    assert result.voice == PLATE + ' 放行'
    assert result.text_zh == PLATE + ' 国V 柴油 放行'
    assert result.text_en.startswith('in %s (China V, Diesel, Q11): pass [ok]' % PLATE)
    assert result.opens and result.event_decision == 'pass'


def test_led_lines_voice_and_log_text_of_a_refusal():
    result = run(truck(stage='4'), [alert('orange', id=7, name='橙色预警')])
    assert result.led_lines == (PLATE, '国IV 柴油', '橙色预警禁止通行')
    assert result.voice == PLATE + ' 橙色预警管控 禁止通行'
    assert 'strategy 7' in result.text_en and 'China IV and below' in result.text_en
    assert not result.opens and result.event_decision == 'refuse'


def test_hold_voice_asks_to_wait_for_the_guard_and_has_no_automatic_event_decision():
    result = run(None)
    assert result.voice == PLATE + ' 未登记车辆 请稍候 等待人工确认'
    assert result.led_lines[1] == '未登记'
    assert result.event_decision is None


def test_led_lines_fit_a_16_byte_gbk_board_line():
    cases = [run(truck(stage='3'), [alert(level)]) for level in decision.LEVELS]
    cases += [run(truck(flags=('special',)), [alert('red')]), run(None),
              run(None, plate_read=read('')), run(truck(stage='X'), [alert('red')]),
              run(truck(), lane=LanePolicy(require_clean=True)),
              run(truck(), blacklist=BlacklistEntry(PLATE, 'x')),
              run(truck(), plate_read=read(confidence=1.0))]
    assert {c.reason for c in cases} >= set(decision.REASON_CODES) - {'ok'}
    for case in cases:
        for line in case.led_lines:
            assert len(line.encode('gbk')) <= 16, (case.reason, line)


def test_every_reason_code_has_texts_and_the_set_is_stable():
    assert decision.REASON_CODES == (
        'ok', 'exempt', 'blacklisted', 'emergency_yellow', 'emergency_orange',
        'emergency_red', 'stage_not_allowed', 'register_incomplete', 'unregistered',
        'low_confidence', 'no_plate')
    for code, (short_zh, long_zh, english) in decision.REASONS.items():
        assert english
        assert code == 'ok' or (short_zh and long_zh)


def test_level_names_and_codes():
    assert decision.level_name('2') == 'orange'
    assert decision.level_name('RED') == 'red'
    with pytest.raises(ValueError):
        decision.level_name('purple')


def test_camera_read_to_decision_to_camera_reply():
    body = json.dumps({'AlarmInfoPlate': {'serialno': 'dev1', 'channel': 0, 'result': {
        'PlateResult': {'license': '冀B·12345', 'confidence': 97, 'colorType': 2,
                        'plateid': 8, 'timeStamp': {'Timeval': {'sec': 1795824930}}}}}},
                      ensure_ascii=False).encode('utf-8')
    plate_read = cameras.parse_alarminfoplate(body)
    result = decide(plate_read, truck(stage='4'), None, [alert('orange')],
                    LanePolicy(code='E-IN', direction='in'), NOW)
    assert result.plate_key == PLATE and result.detail['plate_raw'] == '冀B·12345'
    reply = cameras.alarminfoplate_reply(result.opens, result.led_lines, result.voice)
    assert reply['Response_AlarmInfoPlate']['info'] == 'no'
    assert len(reply['Response_AlarmInfoPlate']['serialData']) == 4
