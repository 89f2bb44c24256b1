"""The gate box's configuration: INI sections in, validated settings out.

The box reads an `[env_gate_hw]` section and one `[env_gate_hw lane <CODE>]` section per
lane, either from the odoo.conf it is started with (Odoo keeps sections other than
[options] in `odoo.tools.config.misc`) or from a file named by `config_file` in
`[env_gate_hw]` (same sections). `parse_sections({section: {key: value}})` validates them
into a `BoxConfig`; values are strings as INI files give them (Odoo turns 'true'/'false'
into booleans first, which is accepted too). Every problem raises `ConfigError` naming
the section and key in both languages; a token is never part of a message.

[env_gate_hw] keys (defaults in brackets):
    erp_url             the ERP's base URL, e.g. http://10.0.0.5:8069 (required)
    data_dir            where outbox.sqlite, cache.json and quarantine/ live (required)
    box_name            shown on the status page and sent with the status [host name]
    dedup_window        seconds: a repeat read of one plate on one lane with the same
                        outcome is not queued again [10]
    vehicle_window      seconds a plate read stays the lane's current vehicle (weights,
                        QR codes and manual lifts are tied to it) [600]
    sync_interval       seconds between register syncs [30]
    sync_lane           the lane whose token is used for the sync [the first lane]
    status_interval     seconds between status reports to the ERP [30]
    forward_batch       events per request to the ERP, at most 500 [100]: a backlog
                        goes in short ERP transactions (a 500-event batch holds the
                        lane's rows for seconds and collides with other writers)
    forward_timeout     seconds to wait for the ERP's answer [30]
    backoff_base / backoff_cap   retry delays towards the ERP, seconds [1 / 60]
    camera_lift_window  seconds a manual lift waits for the camera's next push on lanes
                        whose barrier is driven by the camera reply [30]
    quarantine_max_files  rejected payloads kept before the oldest go [10000]
    operator_password   enables manual lift from the box's own status page [none]
    config_file         read the sections from this file instead

[env_gate_hw lane <CODE>] keys:
    token               the lane's gate-box token, as issued in the ERP (required)
    direction           in / out / both [both]
    name                display name [the code]
    camera              alarminfoplate / hikvision / dahua / none [none]
    camera_id           the device id in the camera's pushes: AlarmInfoPlate serialno (or
                        ipaddr), Hikvision macAddress (or ipAddress), Dahua: any name
    camera_ip           the camera's address (pushes from it are this lane's)
    camera_channel      only this channel/lane of a multi-lane camera
    camera_url          Dahua: http://<camera> to subscribe to
    camera_user / camera_password   Dahua: HTTP digest credentials
    heartbeat_timeout   seconds without any push or heartbeat after which the camera is
                        offline; 0 = never judged [60]
    direction_map       camera direction -> in/out, e.g. "4:in, 3:out" (AlarmInfoPlate)
                        or "forward:in, reverse:out" (Hikvision)
    led_channel, relay  AlarmInfoPlate reply: RS-485 channel and relay number [0, 0]
    scale_url           weighbridge serial port or pyserial URL [none]
    scale_protocol      xk3190 / xk3190-command / yaohua-eq / toledo
    scale_unit          t / kg for protocols that do not send it [t]
    scale_baudrate, scale_bytesize, scale_parity, scale_stopbits   [9600 8 N 1]
    scale_n, scale_tolerance, scale_min_weight   stability: N equal readings within
                        tolerance, at least min_weight [5, 0, 0.5]
    scale_options       parser options, e.g. "reversed_digits=true" (yaohua-eq),
                        "checksum=false" (toledo), "address=A" (xk3190-command)
    barrier             camera / http_relay / serial / modbus_tcp / none [camera when the
                        camera is alarminfoplate, else none]
    barrier_url         http_relay: the relay board URL that opens the barrier
    barrier_method      http_relay: GET or POST [GET]
    barrier_body        http_relay: POST body [empty]
    barrier_port        serial: port or pyserial URL
    barrier_baudrate    serial [9600]
    barrier_open        serial: the open command as hex bytes, e.g. "A0 01 01 A2"
    barrier_host        modbus_tcp: the relay board's host name or IP address
    barrier_tcp_port    modbus_tcp: its TCP port [502]
    barrier_unit        modbus_tcp: the unit id (slave id) it answers to, 0-255 [1]
    barrier_coil        modbus_tcp: the coil wired to the controller's "open" input, as the
                        protocol address (0-based: coil 00001 of a vendor table is 0)
    barrier_close_coil  modbus_tcp: the coil wired to its "close" input, pulsed on close
                        [none: close only turns the open coil off]
    barrier_pulse_ms    modbus_tcp: an open turns the coil on for this long, then off; 0 =
                        the board releases it by itself (jog mode) [500]
    barrier_poll        modbus_tcp: seconds between status reads while idle (they notice
                        a board that went away); 0 = only on demand [10]
    barrier_timeout     seconds per attempt [2]
    barrier_expire      seconds an open command may be retried before it is dropped
                        (a barrier must not open long after the vehicle left) [5]

Standard library only.
"""
import collections
import configparser
import os
import re
import socket
import urllib.parse

from hj1321.errors import BilingualError

SECTION = 'env_gate_hw'
LANE_PREFIX = 'env_gate_hw lane '

CAMERAS = ('alarminfoplate', 'hikvision', 'dahua', 'none')
BARRIERS = ('camera', 'http_relay', 'serial', 'modbus_tcp', 'none')
DIRECTIONS = ('in', 'out', 'both')
SCALE_PROTOCOLS = ('xk3190', 'xk3190-command', 'yaohua-eq', 'toledo')

ScaleConfig = collections.namedtuple('ScaleConfig', (
    'url protocol unit baudrate bytesize parity stopbits n tolerance min_weight options'))
BarrierConfig = collections.namedtuple('BarrierConfig', (
    'driver url method body port baudrate open_command timeout expire host tcp_port unit '
    'coil close_coil pulse poll'))
LaneConfig = collections.namedtuple('LaneConfig', (
    'code name token direction camera camera_id camera_ip camera_channel camera_url '
    'camera_user camera_password heartbeat_timeout direction_map led_channel relay scale '
    'barrier'))
BoxConfig = collections.namedtuple('BoxConfig', (
    'erp_url data_dir box_name dedup_window vehicle_window sync_interval sync_lane '
    'status_interval forward_batch forward_timeout backoff_base backoff_cap '
    'camera_lift_window quarantine_max_files operator_password lanes'))
BoxConfig.__doc__ = """The whole box: global settings and `lanes`, an OrderedDict code ->
LaneConfig in file order. See the module docstring for each key."""

_SECRET_KEYS = ('token', 'camera_password', 'operator_password')


class ConfigError(BilingualError):
    """A setting the box cannot run with: stable `code`, messages in both languages."""

    def __init__(self, code, message_zh, message_en, section=None, key=None):
        super(ConfigError, self).__init__(code, message_zh, message_en, section=section,
                                          key=key)
        self.section = section
        self.key = key


def _bad(section, key, zh, en):
    return ConfigError('config.bad_value', '配置 [%s] %s：%s' % (section, key, zh),
                       'setting [%s] %s: %s' % (section, key, en), section, key)


def _text(values, section, key, default=None, required=False):
    value = values.get(key)
    if value is True:
        value = 'true'
    elif value is False:
        value = 'false'
    value = value.strip() if isinstance(value, str) else value
    if value in (None, ''):
        if required:
            raise ConfigError('config.missing', '配置 [%s] 缺少 %s' % (section, key),
                              'setting [%s] %s is missing' % (section, key), section, key)
        return default
    return value


def _number(values, section, key, default, minimum=0.0, integer=False, maximum=None):
    text = _text(values, section, key)
    if text is None:
        return default
    try:
        number = int(text) if integer else float(text)
    except ValueError:
        raise _bad(section, key, '须为%s（收到 %r）' % ('整数' if integer else '数字', text),
                   'must be a%s number (got %r)' % (' whole' if integer else '', text))
    if number < minimum:
        raise _bad(section, key, '不能小于 %s' % minimum, 'must be at least %s' % minimum)
    if maximum is not None and number > maximum:
        raise _bad(section, key, '不能大于 %s' % maximum, 'must be at most %s' % maximum)
    return number


def _choice(values, section, key, choices, default):
    text = _text(values, section, key, default)
    text = text.lower() if isinstance(text, str) else text
    if text not in choices:
        raise _bad(section, key, '须为 %s 之一（收到 %r）' % ('、'.join(choices), text),
                   'must be one of %s (got %r)' % (', '.join(choices), text))
    return text


def _url(values, section, key, required=False):
    text = _text(values, section, key, required=required)
    if text is None:
        return None
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ('http', 'https') or not parts.netloc:
        raise _bad(section, key, '须为 http:// 或 https:// 地址', 'must be an http:// or https:// URL')
    return text.rstrip('/') if key == 'erp_url' else text


def _bool_text(text):
    lowered = str(text).strip().lower()
    if lowered in ('1', 'true', 'yes', 'on'):
        return True
    if lowered in ('0', 'false', 'no', 'off'):
        return False
    return None


def _mapping(values, section, key):
    """"4:in, 3:out" -> {4: 'in', 3: 'out'} (digit keys become ints)."""
    text = _text(values, section, key)
    if text is None:
        return None
    mapping = {}
    for item in re.split(r'[,;]', text):
        if not item.strip():
            continue
        name, sep, direction = item.partition(':')
        direction = direction.strip().lower()
        if not sep or direction not in ('in', 'out') or not name.strip():
            raise _bad(section, key, '格式为 "代码:in, 代码:out"（收到 %r）' % item.strip(),
                       'format is "code:in, code:out" (got %r)' % item.strip())
        name = name.strip()
        mapping[int(name) if name.isdigit() else name.lower()] = direction
    return mapping


def _options(values, section, key):
    """"reversed_digits=true, address=A" -> {'reversed_digits': True, 'address': 'A'}."""
    text = _text(values, section, key)
    options = {}
    for item in re.split(r'[,;]', text or ''):
        if not item.strip():
            continue
        name, sep, value = item.partition('=')
        if not sep or not name.strip():
            raise _bad(section, key, '格式为 "名称=值, ..."（收到 %r）' % item.strip(),
                       'format is "name=value, ..." (got %r)' % item.strip())
        value = value.strip()
        flag = _bool_text(value)
        options[name.strip()] = flag if flag is not None else value
    return options


def _hex_bytes(values, section, key):
    text = _text(values, section, key)
    if text is None:
        return None
    cleaned = re.sub(r'(?i)0x|[\s,:]', '', text)
    try:
        data = bytes.fromhex(cleaned)
    except ValueError:
        data = b''
    if not data:
        raise _bad(section, key, '须为十六进制字节，如 "A0 01 01 A2"',
                   'must be hex bytes such as "A0 01 01 A2"')
    return data


def _scale(values, section):
    url = _text(values, section, 'scale_url')
    if url is None:
        return None
    protocol = _choice(values, section, 'scale_protocol', SCALE_PROTOCOLS, None)
    options = _options(values, section, 'scale_options')
    if protocol == 'yaohua-eq' and 'reversed_digits' not in options:
        raise _bad(section, 'scale_options', 'yaohua-eq 协议须设置 reversed_digits=true 或 false',
                   'the yaohua-eq protocol needs reversed_digits=true or false')
    return ScaleConfig(
        url, protocol, _choice(values, section, 'scale_unit', ('t', 'kg'), 't'),
        _number(values, section, 'scale_baudrate', 9600, 1, integer=True),
        _number(values, section, 'scale_bytesize', 8, 5, integer=True),
        _choice(values, section, 'scale_parity', ('N', 'E', 'O', 'M', 'S', 'n', 'e', 'o'),
                'N').upper(),
        _number(values, section, 'scale_stopbits', 1, 1),
        _number(values, section, 'scale_n', 5, 1, integer=True),
        _text(values, section, 'scale_tolerance', '0'),
        _text(values, section, 'scale_min_weight', '0.5'), options)


def _host(values, section, key, required):
    text = _text(values, section, key, required=required)
    if text is not None and ('/' in text or text.count(':') == 1 or ' ' in text):
        raise _bad(section, key, '只填主机名或 IP 地址（端口填在 barrier_tcp_port）',
                   'a host name or IP address only (the port goes in barrier_tcp_port)')
    return text


def _barrier(values, section, camera):
    driver = _choice(values, section, 'barrier', BARRIERS,
                     'camera' if camera == 'alarminfoplate' else 'none')
    if driver == 'camera' and camera != 'alarminfoplate':
        raise _bad(section, 'barrier', '只有 AlarmInfoPlate 相机能通过应答抬杆',
                   'only an AlarmInfoPlate camera opens the barrier through its reply')
    method = _choice(values, section, 'barrier_method', ('get', 'post'), 'get').upper()
    modbus_tcp = driver == 'modbus_tcp'
    coil = _number(values, section, 'barrier_coil', None, 0, integer=True, maximum=0xFFFF)
    close_coil = _number(values, section, 'barrier_close_coil', None, 0, integer=True,
                         maximum=0xFFFF)
    config = BarrierConfig(
        driver, _url(values, section, 'barrier_url', required=driver == 'http_relay'),
        method, _text(values, section, 'barrier_body', ''),
        _text(values, section, 'barrier_port', required=driver == 'serial'),
        _number(values, section, 'barrier_baudrate', 9600, 1, integer=True),
        _hex_bytes(values, section, 'barrier_open'),
        _number(values, section, 'barrier_timeout', 2.0, 0.1),
        _number(values, section, 'barrier_expire', 5.0, 0.0),
        _host(values, section, 'barrier_host', required=modbus_tcp),
        _number(values, section, 'barrier_tcp_port', 502, 1, integer=True, maximum=65535),
        _number(values, section, 'barrier_unit', 1, 0, integer=True, maximum=255),
        coil, close_coil,
        _number(values, section, 'barrier_pulse_ms', 500, 0, integer=True,
                maximum=10000) / 1000.0,
        _number(values, section, 'barrier_poll', 10.0, 0.0))
    if driver == 'serial' and config.open_command is None:
        raise ConfigError('config.missing', '配置 [%s] 缺少 barrier_open' % section,
                          'setting [%s] barrier_open is missing' % section, section,
                          'barrier_open')
    if modbus_tcp and coil is None:
        raise ConfigError('config.missing', '配置 [%s] 缺少 barrier_coil' % section,
                          'setting [%s] barrier_coil is missing' % section, section,
                          'barrier_coil')
    if modbus_tcp and close_coil == coil:
        raise _bad(section, 'barrier_close_coil', '不能与 barrier_coil 相同',
                   'must differ from barrier_coil')
    return config


def _lane(code, values):
    section = LANE_PREFIX + code
    if not re.match(r'\A[!-~]{1,32}\Z', code):
        raise _bad(section, '', '车道编码须为 1-32 个可打印 ASCII 字符',
                   'the lane code must be 1-32 printable ASCII characters')
    token = _text(values, section, 'token', required=True)
    if not re.match(r'\A[!-~]+\Z', token):
        raise _bad(section, 'token', '令牌含空格或非 ASCII 字符',
                   'the token has spaces or characters outside printable ASCII')
    camera = _choice(values, section, 'camera', CAMERAS, 'none')
    camera_url = _url(values, section, 'camera_url', required=camera == 'dahua')
    return LaneConfig(
        code, _text(values, section, 'name', code), token,
        _choice(values, section, 'direction', DIRECTIONS, 'both'), camera,
        _text(values, section, 'camera_id'), _text(values, section, 'camera_ip'),
        _text(values, section, 'camera_channel'), camera_url,
        _text(values, section, 'camera_user'), _text(values, section, 'camera_password'),
        _number(values, section, 'heartbeat_timeout', 60.0),
        _mapping(values, section, 'direction_map'),
        _number(values, section, 'led_channel', 0, integer=True),
        _number(values, section, 'relay', 0, integer=True),
        _scale(values, section), _barrier(values, section, camera))


def parse_sections(sections, base_dir=None):
    """BoxConfig of {section name: {key: value}}; raises ConfigError.

    Relative data_dir paths are taken from `base_dir` (the config file's directory).
    """
    if SECTION not in sections:
        raise ConfigError('config.no_section', '配置中没有 [%s] 段' % SECTION,
                          'the configuration has no [%s] section' % SECTION, SECTION)
    values = sections[SECTION]
    lanes = collections.OrderedDict()
    for name, lane_values in sections.items():
        if name.startswith(LANE_PREFIX):
            code = name[len(LANE_PREFIX):].strip()
            lanes[code] = _lane(code, lane_values)
    if not lanes:
        raise ConfigError('config.no_lanes', '配置中没有车道段 [%sE-IN] 等' % LANE_PREFIX,
                          'the configuration has no lane sections such as [%sE-IN]'
                          % LANE_PREFIX, SECTION)
    data_dir = _text(values, SECTION, 'data_dir', required=True)
    if base_dir and not os.path.isabs(data_dir):
        data_dir = os.path.join(base_dir, data_dir)
    sync_lane = _text(values, SECTION, 'sync_lane', next(iter(lanes)))
    if sync_lane not in lanes:
        raise _bad(SECTION, 'sync_lane', '不是已配置的车道', 'is not a configured lane')
    batch = _number(values, SECTION, 'forward_batch', 100, 1, integer=True)
    if batch > 500:
        raise _bad(SECTION, 'forward_batch', '最多 500', 'must be at most 500')
    return BoxConfig(
        _url(values, SECTION, 'erp_url', required=True), os.path.abspath(data_dir),
        _text(values, SECTION, 'box_name', socket.gethostname()),
        _number(values, SECTION, 'dedup_window', 10.0),
        _number(values, SECTION, 'vehicle_window', 600.0),
        _number(values, SECTION, 'sync_interval', 30.0, 0.1),
        sync_lane,
        _number(values, SECTION, 'status_interval', 30.0, 0.1),
        batch,
        _number(values, SECTION, 'forward_timeout', 30.0, 0.1),
        _number(values, SECTION, 'backoff_base', 1.0, 0.01),
        _number(values, SECTION, 'backoff_cap', 60.0, 0.01),
        _number(values, SECTION, 'camera_lift_window', 30.0),
        _number(values, SECTION, 'quarantine_max_files', 10000, 1, integer=True),
        _text(values, SECTION, 'operator_password'), lanes)


def read_file(path):
    """{section: {key: value}} of an INI file (no interpolation: tokens may hold '%')."""
    parser = configparser.RawConfigParser()
    try:
        with open(path, encoding='utf-8') as handle:
            parser.read_file(handle)
    except (OSError, configparser.Error) as exc:
        raise ConfigError('config.unreadable', '无法读取配置文件 %s：%s' % (path, exc),
                          'cannot read the configuration file %s: %s' % (path, exc))
    return {name: dict(parser.items(name)) for name in parser.sections()}


def load(sections, base_dir=None):
    """BoxConfig from odoo.conf's sections, following `config_file` when it is set."""
    if SECTION not in sections:
        return parse_sections(sections, base_dir)
    path = _text(sections[SECTION], SECTION, 'config_file')
    if path is None:
        return parse_sections(sections, base_dir)
    if base_dir and not os.path.isabs(path):
        path = os.path.join(base_dir, path)
    return parse_sections(read_file(path), os.path.dirname(os.path.abspath(path)))


def public(config):
    """A JSON-ready dict of the configuration without tokens and passwords."""
    def clean(record):
        out = collections.OrderedDict()
        for field, value in zip(record._fields, record):
            if field in _SECRET_KEYS:
                out[field] = '(set)' if value else None
            elif isinstance(value, bytes):
                out[field] = value.hex()
            elif hasattr(value, '_fields'):
                out[field] = clean(value)
            elif isinstance(value, dict) and field == 'lanes':
                out[field] = [clean(lane) for lane in value.values()]
            elif isinstance(value, dict):
                out[field] = {str(k): v for k, v in value.items()}
            else:
                out[field] = value
        return out
    return clean(config)
