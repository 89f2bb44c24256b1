"""gatebox.config: the box's INI sections validated, the example file included."""
import os

import pytest

from gatebox import config
from gatebox.config import ConfigError

EXAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', 'addons', 'env_gate_hw',
                       'box.example.conf')


def sections(**lanes):
    out = {'env_gate_hw': {'erp_url': 'http://10.0.0.5:8069/', 'data_dir': '/var/lib/box'}}
    for code, values in (lanes or {'E-IN': {'token': 'tok-1'}}).items():
        out['env_gate_hw lane ' + code] = values
    return out


def test_minimal_configuration_and_defaults():
    cfg = config.parse_sections(sections())
    assert cfg.erp_url == 'http://10.0.0.5:8069'
    assert cfg.dedup_window == 10.0 and cfg.vehicle_window == 600.0 and cfg.forward_batch == 100
    lane = cfg.lanes['E-IN']
    assert (lane.token, lane.direction, lane.camera, lane.barrier.driver) == \
        ('tok-1', 'both', 'none', 'none')
    assert cfg.sync_lane == 'E-IN' and lane.scale is None


def test_full_lane_with_scale_barrier_and_direction_map():
    cfg = config.parse_sections(sections(**{'T-IN': {
        'token': 'tok%x', 'direction': 'in', 'camera': 'alarminfoplate',
        'camera_id': 'e5d5b8e5', 'direction_map': '4:in, 3:out', 'heartbeat_timeout': '90',
        'scale_url': '/dev/ttyUSB0', 'scale_protocol': 'yaohua-eq',
        'scale_options': 'reversed_digits=true', 'scale_tolerance': '0.02',
        'barrier': 'serial', 'barrier_port': '/dev/ttyS1', 'barrier_open': '0xA0 01 01 A2'}}))
    lane = cfg.lanes['T-IN']
    assert lane.token == 'tok%x'
    assert lane.direction_map == {4: 'in', 3: 'out'} and lane.heartbeat_timeout == 90.0
    assert lane.scale.protocol == 'yaohua-eq' and lane.scale.options == {'reversed_digits': True}
    assert lane.scale.unit == 't' and lane.scale.n == 5 and lane.scale.tolerance == '0.02'
    assert lane.barrier.driver == 'serial' and lane.barrier.open_command == b'\xa0\x01\x01\xa2'


def test_modbus_tcp_barrier_and_its_defaults():
    lane = config.parse_sections(sections(**{'W-IN': {
        'token': 't', 'barrier': 'MODBUS_TCP', 'barrier_host': '192.168.3.20',
        'barrier_coil': '0'}})).lanes['W-IN']
    assert (lane.barrier.driver, lane.barrier.host, lane.barrier.tcp_port, lane.barrier.unit,
            lane.barrier.coil, lane.barrier.close_coil, lane.barrier.pulse,
            lane.barrier.poll) == ('modbus_tcp', '192.168.3.20', 502, 1, 0, None, 0.5, 10.0)
    lane = config.parse_sections(sections(**{'W-IN': {
        'token': 't', 'barrier': 'modbus_tcp', 'barrier_host': 'fe80::1', 'barrier_unit': '255',
        'barrier_tcp_port': '5020', 'barrier_coil': '16', 'barrier_close_coil': '17',
        'barrier_pulse_ms': '0', 'barrier_poll': '0'}})).lanes['W-IN']
    assert (lane.barrier.host, lane.barrier.tcp_port, lane.barrier.unit, lane.barrier.coil,
            lane.barrier.close_coil, lane.barrier.pulse, lane.barrier.poll) == \
        ('fe80::1', 5020, 255, 16, 17, 0.0, 0.0)


def test_odoo_booleans_are_accepted():
    # odoo.tools.config turns 'true'/'false' values of every section into booleans
    cfg = config.parse_sections(sections(**{'A': {
        'token': 't', 'scale_url': 'x', 'scale_protocol': 'toledo',
        'scale_options': 'checksum=false', 'camera': 'none'}}))
    assert cfg.lanes['A'].scale.options == {'checksum': False}


@pytest.mark.parametrize('lane,key,code', [
    ({}, 'token', 'config.missing'),
    ({'token': 'with space'}, 'token', 'config.bad_value'),
    ({'token': 't', 'camera': 'axis'}, 'camera', 'config.bad_value'),
    ({'token': 't', 'direction': 'up'}, 'direction', 'config.bad_value'),
    ({'token': 't', 'camera': 'hikvision', 'barrier': 'camera'}, 'barrier', 'config.bad_value'),
    ({'token': 't', 'barrier': 'http_relay'}, 'barrier_url', 'config.missing'),
    ({'token': 't', 'barrier': 'serial', 'barrier_port': '/dev/x'}, 'barrier_open',
     'config.missing'),
    ({'token': 't', 'barrier': 'serial', 'barrier_port': '/dev/x', 'barrier_open': 'zz'},
     'barrier_open', 'config.bad_value'),
    ({'token': 't', 'barrier': 'modbus_tcp', 'barrier_coil': '0'}, 'barrier_host',
     'config.missing'),
    ({'token': 't', 'barrier': 'modbus_tcp', 'barrier_host': '10.0.0.9'}, 'barrier_coil',
     'config.missing'),
    ({'token': 't', 'barrier': 'modbus_tcp', 'barrier_host': '10.0.0.9:502',
      'barrier_coil': '0'}, 'barrier_host', 'config.bad_value'),
    ({'token': 't', 'barrier': 'modbus_tcp', 'barrier_host': 'http://10.0.0.9',
      'barrier_coil': '0'}, 'barrier_host', 'config.bad_value'),
    ({'token': 't', 'barrier': 'modbus_tcp', 'barrier_host': 'h', 'barrier_coil': '65536'},
     'barrier_coil', 'config.bad_value'),
    ({'token': 't', 'barrier': 'modbus_tcp', 'barrier_host': 'h', 'barrier_coil': 'one'},
     'barrier_coil', 'config.bad_value'),
    ({'token': 't', 'barrier': 'modbus_tcp', 'barrier_host': 'h', 'barrier_coil': '0',
      'barrier_unit': '256'}, 'barrier_unit', 'config.bad_value'),
    ({'token': 't', 'barrier': 'modbus_tcp', 'barrier_host': 'h', 'barrier_coil': '0',
      'barrier_tcp_port': '0'}, 'barrier_tcp_port', 'config.bad_value'),
    ({'token': 't', 'barrier': 'modbus_tcp', 'barrier_host': 'h', 'barrier_coil': '4',
      'barrier_close_coil': '4'}, 'barrier_close_coil', 'config.bad_value'),
    ({'token': 't', 'barrier': 'modbus_tcp', 'barrier_host': 'h', 'barrier_coil': '0',
      'barrier_pulse_ms': '-1'}, 'barrier_pulse_ms', 'config.bad_value'),
    ({'token': 't', 'camera': 'dahua'}, 'camera_url', 'config.missing'),
    ({'token': 't', 'heartbeat_timeout': 'soon'}, 'heartbeat_timeout', 'config.bad_value'),
    ({'token': 't', 'direction_map': '4=in'}, 'direction_map', 'config.bad_value'),
    ({'token': 't', 'scale_url': 'x', 'scale_protocol': 'yaohua-eq'}, 'scale_options',
     'config.bad_value'),
    ({'token': 't', 'scale_url': 'x', 'scale_protocol': 'ascii'}, 'scale_protocol',
     'config.bad_value'),
])
def test_lane_errors_name_the_key_in_both_languages(lane, key, code):
    with pytest.raises(ConfigError) as info:
        config.parse_sections(sections(**{'E-IN': lane}))
    assert info.value.code == code and info.value.key == key
    assert key in info.value.message_en and key in info.value.message_zh
    assert 'with space' not in str(info.value)      # a token never reaches a message


def test_global_errors():
    with pytest.raises(ConfigError) as info:
        config.parse_sections({})
    assert info.value.code == 'config.no_section'
    with pytest.raises(ConfigError) as info:
        config.parse_sections({'env_gate_hw': {'erp_url': 'http://x', 'data_dir': '/d'}})
    assert info.value.code == 'config.no_lanes'
    bad = sections()
    bad['env_gate_hw']['erp_url'] = 'ftp://x'
    with pytest.raises(ConfigError) as info:
        config.parse_sections(bad)
    assert info.value.key == 'erp_url'
    bad = sections()
    bad['env_gate_hw']['sync_lane'] = 'N-IN'
    with pytest.raises(ConfigError) as info:
        config.parse_sections(bad)
    assert info.value.key == 'sync_lane'


def test_public_view_hides_secrets():
    cfg = config.parse_sections(sections(**{'E-IN': {
        'token': 'secret-token', 'camera': 'dahua', 'camera_url': 'http://cam',
        'camera_user': 'admin', 'camera_password': 'secret-pass'}}))
    shown = repr(config.public(cfg))
    assert 'secret' not in shown and '(set)' in shown and 'admin' in shown


def test_config_file_is_followed_relative_to_odoo_conf(tmp_path):
    (tmp_path / 'box.ini').write_text(
        '[env_gate_hw]\nerp_url = http://erp:8069\ndata_dir = state\n'
        '[env_gate_hw lane N-IN]\ntoken = abc%def\n', encoding='utf-8')
    cfg = config.load({'env_gate_hw': {'config_file': 'box.ini'}}, base_dir=str(tmp_path))
    assert cfg.data_dir == str(tmp_path / 'state')
    assert cfg.lanes['N-IN'].token == 'abc%def'


def test_the_example_file_is_valid():
    cfg = config.parse_sections(config.read_file(EXAMPLE))
    assert list(cfg.lanes) == ['E-IN', 'E-OUT', 'N-IN', 'N-OUT', 'W-IN']
    assert {lane.camera for lane in cfg.lanes.values()} >= {'alarminfoplate', 'hikvision',
                                                           'dahua'}
    assert {lane.barrier.driver for lane in cfg.lanes.values()} >= {'camera', 'http_relay',
                                                                   'serial', 'modbus_tcp'}
