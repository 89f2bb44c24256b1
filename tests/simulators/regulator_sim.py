#!/usr/bin/env python3
"""Regulator platform simulators: one HTTP server per platform, speaking its real shape.

* `CanonicalSim`  the product's canonical JSON REST (POST /passages, /vehicles, ...;
                  GET /blacklist, /strategies, /health), HTTP Basic or Bearer API key.
* `HenanSim`      POST /restapi/transportControl/get_data|put_data|put_file with the
                  {"organ", "ipctype", "access_token", "value"} envelope; getAccessToken,
                  shareDrivingRecord, sharePhotoInfo, putdcstatus, getCheckVehicle.
* `HebeiSim`      OAuth passEncToken (Client_id / Client_secret headers, form body) and
                  upload-control-vehicles; entries get a throughId, exits must carry it.
* `SoapSim`       a SOAP 1.1 service with a served WSDL (GET ?wsdl): dealCommand(qybh,
                  jkxlh, jkid, sXmlDoc) checking jkxlh = md5(md5(qybh + salt)); 01Q00,
                  01Q04, 01W01, 01W02, 01W06.

Each keeps what it received (`received`: (op, payload) in order) and what it stored
(`records`: key -> payload; `stored`: key -> how many times it was stored, which must
never exceed 1: the platforms detect duplicates like the real ones, by record id / serial
/ plate and time, and answer their "already have it" reply).

Fault injection, settable per test:
    sim.faults.push('timeout', 'http500', op='shareDrivingRecord')   # next matching requests
        timeout    sleep `fault_sleep` seconds (longer than the client's read timeout),
                   then drop the connection; nothing is processed
        lost       process and store, then sleep and drop: the answer is lost
        http500 / http503 / rate_limit (429 + Retry-After) / garbage (200 + an HTML page)
        drop       close the connection without an answer
        slow       answer normally after `slow_sleep` seconds
    sim.slow = 0.05                      every answer delayed
    sim.set_downtime(t0, t1, mode='refuse'|'503')   by sim.clock (injectable): connections
                                         are closed unanswered, or answered 503
    sim.reject_if = lambda op, payload: 'reason' or None   permanent rejection
    sim.token_uses = 3 / sim.token_seconds = 60 / sim.expire_tokens()   token expiry

In-process: `with HenanSim().start() as sim: sim.base_url ...` (a thread, ephemeral port).
As a script, for a person running the demo against it:
    python tests/simulators/regulator_sim.py --adapter henan --port 9101
"""
import argparse
import base64
import collections
import datetime
import http.server
import itertools
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ElementTree

_ADDON = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                       'addons', 'env_gate_ledger'))
if _ADDON not in sys.path:
    sys.path.insert(0, _ADDON)

from hj1321 import regulators as wire  # noqa: E402

STATS_PATH = '/_sim/stats'      # counts for a person or a bench (no credentials needed)
FAULTS = ('timeout', 'lost', 'http500', 'http503', 'rate_limit', 'garbage', 'drop', 'slow')
GARBAGE = b'<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>'
CST = datetime.timezone(datetime.timedelta(hours=8))
TIME_FORMAT = '%Y-%m-%d %H:%M:%S'
DEMO = {'enterprise_code': '1302030001', 'username': 'demo', 'password': 'demo-password',
        'client_id': '200010', 'client_secret': 'demo-client-secret', 'salt': 'demo-salt'}


class Clock(object):
    """A clock a test moves by hand (seconds, like time.time)."""

    def __init__(self, start=1800000000.0):
        self.now = float(start)

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds
        return self.now


class Faults(object):
    """Faults queued for the next requests, optionally only for one operation."""

    def __init__(self):
        self._queue = collections.deque()
        self._lock = threading.Lock()

    def push(self, *kinds, **options):
        op = options.pop('op', None)
        if options:
            raise TypeError('unknown options %s' % ', '.join(options))
        for kind in kinds:
            if kind not in FAULTS:
                raise ValueError('unknown fault %r (known: %s)' % (kind, ', '.join(FAULTS)))
        with self._lock:
            self._queue.extend((kind, op) for kind in kinds)

    def take(self, op):
        with self._lock:
            for index, (kind, wanted) in enumerate(self._queue):
                if wanted is None or wanted == op:
                    del self._queue[index]
                    return kind
        return None

    def clear(self):
        with self._lock:
            self._queue.clear()

    def __len__(self):
        return len(self._queue)


class Reply(object):
    __slots__ = ('status', 'body', 'headers')

    def __init__(self, status, body, headers=None):
        self.status = status
        self.body = body
        self.headers = headers or {}


def json_reply(obj, status=200, headers=None):
    headers = dict(headers or {})
    headers['Content-Type'] = 'application/json; charset=utf-8'
    return Reply(status, json.dumps(obj, ensure_ascii=False).encode('utf-8'), headers)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def verify_request(self, request, client_address):
        # a new connection during a 'refuse' downtime is closed at once
        return not self.platform.refusing()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    # one buffered write per answer, no Nagle: headers and body in separate small
    # segments would wait for the client's delayed ACK (40 ms a request)
    wbufsize = -1
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):     # quiet: tests and benches read the sim's lists
        pass

    def do_GET(self):
        self._serve('GET')

    def do_POST(self):
        self._serve('POST')

    def _drop(self):
        self.close_connection = True

    def _write(self, reply):
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header('Content-Length', str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True

    def _serve(self, method):
        platform = self.server.platform
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        if self.path == STATS_PATH:
            return self._write(json_reply(platform.stats()))
        if platform.refusing():
            return self._drop()
        if platform.down():
            return self._write(json_reply({'error': 'maintenance'}, 503, {'Retry-After': '60'}))
        parsed = urllib.parse.urlsplit(self.path)
        request = {'method': method, 'path': parsed.path, 'query': parsed.query,
                   'headers': self.headers, 'body': body}
        op = platform.operation(request)
        fault = platform.faults.take(op)
        if fault in ('timeout', 'drop'):
            if fault == 'timeout':
                time.sleep(platform.fault_sleep)
            return self._drop()
        if fault == 'http500':
            return self._write(Reply(500, b'Internal Server Error', {'Content-Type': 'text/plain'}))
        if fault == 'http503':
            return self._write(Reply(503, b'Service Unavailable', {'Retry-After': '30'}))
        if fault == 'rate_limit':
            return self._write(json_reply({'error': 'too many requests'}, 429, {'Retry-After': '2'}))
        if fault == 'garbage':
            return self._write(Reply(200, GARBAGE, {'Content-Type': 'text/html'}))
        if fault == 'slow':
            time.sleep(platform.slow_sleep)
        if platform.slow:
            time.sleep(platform.slow)
        try:
            reply = platform.handle(request, op)
        except Exception as exc:            # a simulator bug must show as a 500, not a hang
            platform.errors.append('%s: %s' % (type(exc).__name__, exc))
            reply = Reply(500, ('simulator error: %s' % exc).encode('utf-8'))
        if fault == 'lost':
            time.sleep(platform.fault_sleep)
            return self._drop()
        self._write(reply)


class PlatformSim(object):
    """Base of the simulators: the server thread, storage, faults, downtime, tokens."""
    adapter = None

    def __init__(self, host='127.0.0.1', port=0, clock=time.time, enterprise_code=None,
                 fault_sleep=1.0, slow_sleep=0.2):
        self.host, self.port = host, port
        self.clock = clock
        self.enterprise_code = enterprise_code or DEMO['enterprise_code']
        self.fault_sleep = fault_sleep
        self.slow_sleep = slow_sleep
        self.slow = 0.0
        self.faults = Faults()
        self.reject_if = None
        self.downtime = None
        self.downtime_mode = 'refuse'
        self.token_uses = None
        self.token_seconds = None
        self.lock = threading.RLock()
        self.received = []
        self.records = collections.OrderedDict()
        self.stored = collections.Counter()
        self.answers = collections.Counter()
        self.tokens_issued = []
        self.errors = []
        self._tokens = {}
        self._ids = itertools.count(1)
        self._server = None
        self._thread = None

    # -- life cycle ----------------------------------------------------------------------

    def start(self):
        self._server = _Server((self.host, self.port), _Handler)
        self._server.platform = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        name='%s simulator' % self.adapter, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self if self._server else self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self):
        return 'http://%s:%d' % (self.host, self.port)

    # -- faults --------------------------------------------------------------------------

    def reset(self):
        """Forget everything received and every fault, token and downtime: a test that
        rolls its database back (serials repeat) starts with an empty platform."""
        self.faults.clear()
        self.reject_if = None
        self.downtime = None
        self.token_uses = None
        with self.lock:
            self.received[:] = []
            self.records.clear()
            self.stored.clear()
            self.answers.clear()
            self.tokens_issued[:] = []
            self._tokens.clear()
            for name in ('gate_status', 'controls', 'passes'):
                if isinstance(getattr(self, name, None), dict):
                    getattr(self, name).clear()

    def set_downtime(self, start, end, mode='refuse'):
        """Down from `start` to `end` (sim.clock seconds): 'refuse' closes connections
        unanswered, '503' answers Service Unavailable."""
        if mode not in ('refuse', '503'):
            raise ValueError('mode is refuse or 503')
        self.downtime = (start, end)
        self.downtime_mode = mode

    def down(self):
        return bool(self.downtime) and self.downtime[0] <= self.clock() < self.downtime[1]

    def refusing(self):
        return self.downtime_mode == 'refuse' and self.down()

    def _rejection(self, op, payload):
        return self.reject_if(op, payload) if self.reject_if else None

    # -- tokens --------------------------------------------------------------------------

    def issue_token(self):
        token = uuid.uuid4().hex
        with self.lock:
            self._tokens[token] = {'uses': self.token_uses,
                                   'until': self.clock() + self.token_seconds
                                   if self.token_seconds else None}
            self.tokens_issued.append(token)
        return token

    def use_token(self, token):
        """True when the token is valid (one use is spent)."""
        with self.lock:
            state = self._tokens.get(token)
            if not state:
                return False
            if state['until'] is not None and self.clock() >= state['until']:
                del self._tokens[token]
                return False
            if state['uses'] is not None:
                if state['uses'] <= 0:
                    del self._tokens[token]
                    return False
                state['uses'] -= 1
            return True

    def expire_tokens(self):
        with self.lock:
            self._tokens.clear()

    # -- storage -------------------------------------------------------------------------

    def receive(self, op, payload):
        with self.lock:
            self.received.append((op, payload))

    def store(self, key, payload):
        with self.lock:
            self.records[key] = payload
            self.stored[key] += 1

    def answer(self, name):
        with self.lock:
            self.answers[name] += 1

    def stats(self):
        """Counts of what the platform received and stored (GET /_sim/stats)."""
        with self.lock:
            return {'adapter': self.adapter, 'received': len(self.received),
                    'records': len(self.records), 'stored': sum(self.stored.values()),
                    'max_stored': max(self.stored.values()) if self.stored else 0,
                    'answers': dict(self.answers), 'tokens_issued': len(self.tokens_issued),
                    'errors': list(self.errors[-5:])}

    def ops(self, op):
        """The payloads received for one operation, in order."""
        with self.lock:
            return [payload for name, payload in self.received if name == op]

    # -- per platform --------------------------------------------------------------------

    def operation(self, request):
        return request['path']

    def handle(self, request, op):
        raise NotImplementedError


def _json_body(request):
    try:
        return json.loads(request['body'].decode('utf-8'))
    except (UnicodeDecodeError, ValueError):
        return None


def _is_time(text):
    try:
        datetime.datetime.strptime(text, TIME_FORMAT)
        return True
    except (TypeError, ValueError):
        return False


def _picture_ok(text):
    try:
        data = wire.data_uri_bytes(text)
    except (ValueError, TypeError):
        return False
    return data[:3] == b'\xff\xd8\xff' or data[:8] == b'\x89PNG\r\n\x1a\n'


# ---- canonical JSON ----------------------------------------------------------------------

class CanonicalSim(PlatformSim):
    """The canonical JSON platform. `validator(kind, record)` -> error text or None can
    check records against the published schemas (tests pass a jsonschema one)."""
    adapter = 'canonical_json'
    PATHS = {path: kind for kind, path in wire.CANONICAL_PATHS.items()}

    def __init__(self, username=None, password=None, validator=None, **kwargs):
        super(CanonicalSim, self).__init__(**kwargs)
        self.username = DEMO['username'] if username is None else username
        self.password = DEMO['password'] if password is None else password
        self.validator = validator
        self.blacklist = []
        self.strategies = []

    def operation(self, request):
        return self.PATHS.get(request['path'], request['path'].strip('/'))

    def _authorised(self, headers):
        header = headers.get('Authorization') or ''
        if header.startswith('Basic '):
            try:
                user, _sep, password = base64.b64decode(header[6:]).decode('utf-8').partition(':')
            except (ValueError, UnicodeDecodeError):
                return False
            return bool(self.username) and user == self.username and password == self.password
        if header.startswith('Bearer '):
            return not self.username and header[7:] == self.password
        return False

    def handle(self, request, op):
        if not self._authorised(request['headers']):
            self.answer('auth')
            return json_reply({'status': 'unauthorized', 'message': 'bad credentials'}, 401,
                              {'WWW-Authenticate': 'Basic realm="env_gate"'})
        if request['method'] == 'GET':
            if op == 'health':
                return json_reply({'status': 'ok'})
            if op in ('blacklist', 'strategies'):
                return json_reply({'items': getattr(self, op)})
            return json_reply({'status': 'rejected', 'code': 'not_found'}, 404)
        record = _json_body(request)
        if op not in wire.CANONICAL_PATHS:
            return json_reply({'status': 'rejected', 'code': 'not_found',
                               'message': 'no such endpoint'}, 404)
        self.receive(op, record)
        problem = None
        if not isinstance(record, dict):
            problem = ('bad_json', 'the body is not a JSON object', '请求体不是 JSON 对象')
        elif record.get('kind') != op or not record.get('record_id'):
            problem = ('bad_record', 'kind or record_id does not fit the endpoint',
                       '记录类型或编号与接口不符')
        elif record.get('enterprise_code') != self.enterprise_code:
            problem = ('unknown_enterprise', 'unknown enterprise %s' % record.get('enterprise_code'),
                       '企业编码 %s 未注册' % record.get('enterprise_code'))
        elif urllib.parse.unquote(request['headers'].get('Idempotency-Key') or '') \
                != record['record_id']:
            problem = ('bad_key', 'Idempotency-Key differs from record_id',
                       'Idempotency-Key 与 record_id 不一致')
        elif self.validator:
            error = self.validator(op, record)
            if error:
                problem = ('schema', error, '不符合模式：%s' % error)
        if problem is None:
            reason = self._rejection(op, record)
            if reason:
                problem = ('refused', reason, reason)
        if problem:
            self.answer('rejected')
            return json_reply({'status': 'rejected', 'code': problem[0], 'message': problem[1],
                               'message_zh': problem[2]}, 422)
        with self.lock:
            existing = self.records.get(record['record_id'])
            if existing is not None:
                self.answer('duplicate')
                return json_reply({'status': 'duplicate', 'id': existing['_platform_id']})
            stored = dict(record, _platform_id='CJ%08d' % next(self._ids))
            self.store(record['record_id'], stored)
        self.answer('accepted')
        return json_reply({'status': 'accepted', 'id': stored['_platform_id']}, 201)


# ---- Henan transportControl --------------------------------------------------------------

class HenanSim(PlatformSim):
    """Henan-style transportControl. `controls` maps a plate to (isControl, reason) for
    getCheckVehicle (default: may pass)."""
    adapter = 'henan_transport_control'
    REQUIRED = ('lsh', 'qybh', 'dzbh', 'cphm', 'cpys', 'tgsjq', 'tgsjz', 'tgzt', 'serialNum',
                'enterpriseId', 'gateCodeB', 'license', 'licenseColor', 'inOutComStatus')

    def __init__(self, username=None, password=None, **kwargs):
        super(HenanSim, self).__init__(**kwargs)
        self.username = username or DEMO['username']
        self.password = password or DEMO['password']
        self.controls = {}
        self.gate_status = {}

    def operation(self, request):
        body = _json_body(request)
        return body.get('ipctype') if isinstance(body, dict) else None

    @staticmethod
    def _fail(code, status):
        return json_reply({'code': code, 'status': status})

    def handle(self, request, op):
        envelope = _json_body(request)
        if request['method'] != 'POST' or not request['path'].startswith(wire.HENAN_BASE):
            return Reply(404, b'Not Found')
        if not isinstance(envelope, dict) or not isinstance(envelope.get('value'), (dict, list)):
            self.answer('rejected')
            return self._fail('400', '请求格式错误')
        endpoint = request['path'][len(wire.HENAN_BASE):]
        if wire.HENAN_ENDPOINTS.get(op) != endpoint:
            self.answer('rejected')
            return self._fail('404', '接口 %s 不支持 %s' % (endpoint, op))
        if envelope.get('organ') != self.enterprise_code:
            self.answer('rejected')
            return self._fail('400', '机构编码 %s 不存在' % envelope.get('organ'))
        value = envelope['value']
        if op == 'getAccessToken':
            self.receive(op, {'username': value.get('username'), 'password': '***'})
            if value.get('username') != self.username or value.get('password') != self.password:
                self.answer('auth')
                return self._fail('401', '用户名或密码错误')
            now = datetime.datetime.fromtimestamp(self.clock(), CST).strftime(TIME_FORMAT)
            return json_reply({'code': '200', 'status': '成功', 'access_token': self.issue_token(),
                               'datetime': now})
        if not self.use_token(envelope.get('access_token')):
            self.answer('auth')
            return self._fail('401', 'access_token无效或已过期')
        self.receive(op, value)
        if op == 'putdcstatus':
            if not isinstance(value, list) or not all(isinstance(v, dict) and v.get('dzbh')
                                                      for v in value):
                return self._fail('400', 'value 须为道闸状态列表')
            for row in value:
                self.gate_status[row['dzbh']] = row
                self.store('dc:%s:%d' % (row['dzbh'], len(self.received)), row)
            return json_reply({'code': '200', 'status': '成功'})
        if op == 'getCheckVehicle':
            control, reason = self.controls.get(value.get('license'), ('0', ''))
            return json_reply({'code': '200', 'status': '成功', 'value': {
                'isControl': control, 'controlReason': reason, 'vin': 'LFWSRXSJ0K1A12345',
                'registerDate': '2021-03-04', 'model': '解放J6P', 'fuelType': 'B',
                'emissionStandard': '6', 'useCharacter': 'F', 'cdmc': '冀东物流',
                'drivingLicenseImg': '', 'drivingLicenseImg2': ''}})
        if op == 'shareDrivingRecord':
            return self._driving_record(value)
        if op == 'sharePhotoInfo':
            return self._photo(value)
        return self._fail('404', '不支持的操作 %s' % op)

    def _driving_record(self, value):
        missing = [key for key in self.REQUIRED if not value.get(key)]
        if missing:
            self.answer('rejected')
            return self._fail('400', '缺少字段：%s' % ','.join(missing))
        if value['qybh'] != self.enterprise_code or not value['lsh'].startswith(value['qybh']):
            self.answer('rejected')
            return self._fail('400', '流水号须以企业编号开头')
        if not (_is_time(value['tgsjq']) and _is_time(value['tgsjz'])):
            self.answer('rejected')
            return self._fail('400', '通过时间格式应为 yyyy-MM-dd HH:mm:ss')
        if value['tgzt'] not in ('1', '2') or value['cpys'] not in '0123456':
            self.answer('rejected')
            return self._fail('400', '进出状态或车牌颜色代码错误')
        for key in ('imgURL1', 'imgURL2', 'drivingLicenseImg', 'drivingLicenseImg2'):
            if value.get(key) and not (value[key].startswith('data:image/') and _picture_ok(value[key])):
                self.answer('rejected')
                return self._fail('400', '图片 %s 格式错误' % key)
        reason = self._rejection('shareDrivingRecord', value)
        if reason:
            self.answer('rejected')
            return self._fail('400', reason)
        with self.lock:
            if value['lsh'] in self.records:
                self.answer('duplicate')
                return self._fail('400', '数据重复：流水号%s已存在' % value['lsh'])
            self.store(value['lsh'], value)
        self.answer('accepted')
        return json_reply({'code': '200', 'status': '成功'})

    def _photo(self, value):
        for key in ('lsh', 'zpbh', 'zplx', 'base64Image', 'pzsj'):
            if not value.get(key):
                self.answer('rejected')
                return self._fail('400', '缺少字段：%s' % key)
        if not _picture_ok(value['base64Image']):
            self.answer('rejected')
            return self._fail('400', '照片内容不是有效的 JPEG/PNG base64')
        key = 'photo:%s' % value['zpbh']
        with self.lock:
            if key in self.records:
                self.answer('duplicate')
                return self._fail('400', '照片%s已上传' % value['zpbh'])
            self.store(key, value)
        self.answer('accepted')
        return json_reply({'code': '200', 'status': '成功'})


# ---- Hebei integrated platform -----------------------------------------------------------

class HebeiSim(PlatformSim):
    """Hebei integrated platform: token, then entries and exits paired by throughId."""
    adapter = 'hebei_integrated'
    COMMON = ('carPlate', 'carPalteColor')
    ENTRY = ('entranceNumber', 'entranceGateNumber', 'carInTime')
    EXIT = ('exportNumber', 'exportGateNumber', 'carOutTime')

    def __init__(self, username=None, password=None, client_id=None, client_secret=None,
                 **kwargs):
        super(HebeiSim, self).__init__(**kwargs)
        self.username = username or DEMO['username']
        self.password = password or DEMO['password']
        self.client_id = client_id or DEMO['client_id']
        self.client_secret = client_secret or DEMO['client_secret']
        self.passes = collections.OrderedDict()      # throughId -> {'entry', 'exit'}
        self._entry_keys = {}
        self._exit_keys = {}

    def operation(self, request):
        if request['path'] == wire.HEBEI_TOKEN_PATH:
            return 'token'
        if request['path'] == wire.HEBEI_UPLOAD_PATH:
            return 'upload'
        return request['path']

    @staticmethod
    def _fail(code, msg, data=None, status=200):
        return json_reply({'code': code, 'msg': msg, 'data': data}, status)

    def handle(self, request, op):
        if op == 'token':
            headers = request['headers']
            form = urllib.parse.parse_qs(request['body'].decode('utf-8'))
            self.receive(op, {'username': (form.get('username') or [''])[0],
                              'content_type': headers.get('Content-Type')})
            if headers.get('Client_id') != self.client_id \
                    or headers.get('Client_secret') != self.client_secret:
                self.answer('auth')
                return self._fail('40003', '客户端认证失败')
            if (form.get('username') or [''])[0] != self.username \
                    or (form.get('password') or [''])[0] != self.password:
                self.answer('auth')
                return self._fail('40001', '用户名或密码错误')
            return json_reply({'code': '10000', 'msg': '成功', 'data': {
                'access_token': self.issue_token(), 'token_type': 'bearer',
                'expires_in': self.token_seconds or 7200}})
        if op != 'upload':
            return Reply(404, b'Not Found')
        header = request['headers'].get('Authorization') or ''
        if not header.startswith('Bearer ') or not self.use_token(header[7:]):
            self.answer('auth')
            return self._fail('401', 'token无效或已过期', status=401)
        body = _json_body(request)
        self.receive(op, body)
        if not isinstance(body, dict):
            return self._fail('40000', '请求体不是JSON')
        entry = 'carInTime' in body
        required = self.COMMON + (self.ENTRY if entry else self.EXIT)
        missing = [key for key in required if not body.get(key)]
        if entry == ('carOutTime' in body):
            missing.append('carInTime|carOutTime')
        if missing:
            self.answer('rejected')
            return self._fail('40000', '缺少字段：%s' % ','.join(missing))
        if not _is_time(body['carInTime' if entry else 'carOutTime']):
            self.answer('rejected')
            return self._fail('40000', '时间格式应为 yyyy-MM-dd HH:mm:ss')
        reason = self._rejection('upload', body)
        if reason:
            self.answer('rejected')
            return self._fail('40000', reason)
        with self.lock:
            return self._entry(body) if entry else self._exit(body)

    def _entry(self, body):
        key = (body['carPlate'], body['entranceGateNumber'], body['carInTime'])
        if key in self._entry_keys:
            self.answer('duplicate')
            return self._fail('20001', '通行记录已存在', {'throughId': self._entry_keys[key]})
        through = uuid.uuid4().hex
        self._entry_keys[key] = through
        self.passes[through] = {'entry': body, 'exit': None}
        self.store('entry:%s|%s|%s' % key, body)
        self.answer('accepted')
        return json_reply({'code': '10000', 'msg': '成功', 'data': {'throughId': through}})

    def _exit(self, body):
        through = body.get('throughId') or ''
        key = (body['carPlate'], body['exportGateNumber'], body['carOutTime'])
        if key in self._exit_keys:
            self.answer('duplicate')
            return self._fail('20001', '通行记录已存在', {'throughId': self._exit_keys[key]})
        if through:
            entry = self.passes.get(through)
            if entry is None:
                self.answer('rejected')
                return self._fail('20002', '通行记录不存在：throughId %s' % through)
            if entry['exit'] is not None:
                self.answer('rejected')
                return self._fail('20003', '该车已出厂，不能重复出厂')
            if entry['entry']['carPlate'] != body['carPlate']:
                self.answer('rejected')
                return self._fail('20004', '出厂车牌与进厂记录不一致')
            entry['exit'] = body
        self._exit_keys[key] = through or None
        self.store('exit:%s|%s|%s' % key, body)
        self.answer('accepted')
        return json_reply({'code': '10000', 'msg': '成功', 'data': {'throughId': through or None}})


# ---- SOAP dealCommand --------------------------------------------------------------------

TNS = 'http://webservice.service.com/'
SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/'
WSDL = """<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:tns="{tns}"
    targetNamespace="{tns}" name="WriteServiceImplService">
  <wsdl:types>
    <xsd:schema targetNamespace="{tns}" elementFormDefault="unqualified">
      <xsd:element name="dealCommand">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="qybh" type="xsd:string" minOccurs="0"/>
          <xsd:element name="jkxlh" type="xsd:string" minOccurs="0"/>
          <xsd:element name="jkid" type="xsd:string" minOccurs="0"/>
          <xsd:element name="sXmlDoc" type="xsd:string" minOccurs="0"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:element name="dealCommandResponse">
        <xsd:complexType><xsd:sequence>
          <xsd:element name="return" type="xsd:string" minOccurs="0"/>
        </xsd:sequence></xsd:complexType>
      </xsd:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="dealCommand"><wsdl:part name="parameters" element="tns:dealCommand"/></wsdl:message>
  <wsdl:message name="dealCommandResponse"><wsdl:part name="parameters" element="tns:dealCommandResponse"/></wsdl:message>
  <wsdl:portType name="WriteService">
    <wsdl:operation name="dealCommand">
      <wsdl:input name="dealCommand" message="tns:dealCommand"/>
      <wsdl:output name="dealCommandResponse" message="tns:dealCommandResponse"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="WriteServiceImplServiceSoapBinding" type="tns:WriteService">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="dealCommand">
      <soap:operation soapAction="" style="document"/>
      <wsdl:input name="dealCommand"><soap:body use="literal"/></wsdl:input>
      <wsdl:output name="dealCommandResponse"><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="WriteServiceImplService">
    <wsdl:port name="WriteServiceImplPort" binding="tns:WriteServiceImplServiceSoapBinding">
      <soap:address location="{address}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"""


def _local(tag):
    return tag.rsplit('}', 1)[-1]


class SoapSim(PlatformSim):
    """The dealCommand web service. `whitelist` rows: dicts with cphm, cpys, yxqs, yxqz,
    bz. `wsdl_address` is the address the WSDL publishes (default: the sim's own URL; a
    test can publish an unreachable one, as real platforms do)."""
    adapter = 'soap_deal_command'

    def __init__(self, salt=None, wsdl_address=None, **kwargs):
        super(SoapSim, self).__init__(**kwargs)
        self.salt = DEMO['salt'] if salt is None else salt
        self.wsdl_address = wsdl_address
        self.whitelist = []
        self.gate_status = {}
        self.heartbeats = 0

    def operation(self, request):
        if request['method'] == 'GET':
            return 'wsdl'
        try:
            call = self._parse_envelope(request['body'])
        except ValueError:
            return None
        return call.get('jkid')

    @staticmethod
    def _parse_envelope(body):
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError as exc:
            raise ValueError('not XML: %s' % exc)
        soap_body = next((child for child in root if _local(child.tag) == 'Body'), None)
        if soap_body is None or not len(soap_body) or _local(soap_body[0].tag) != 'dealCommand':
            raise ValueError('no dealCommand in the SOAP body')
        return {_local(child.tag): child.text or '' for child in soap_body[0]}

    @staticmethod
    def _envelope(result):
        return ('<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="%s"><soap:Body>'
                '<ns2:dealCommandResponse xmlns:ns2="%s"><return>%s</return>'
                '</ns2:dealCommandResponse></soap:Body></soap:Envelope>'
                % (SOAP_ENV, TNS, result)).encode('utf-8')

    @staticmethod
    def _fault(text):
        return Reply(500, ('<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="%s">'
                           '<soap:Body><soap:Fault><faultcode>soap:Server</faultcode>'
                           '<faultstring>%s</faultstring></soap:Fault></soap:Body></soap:Envelope>'
                           % (SOAP_ENV, text)).encode('utf-8'),
                     {'Content-Type': 'text/xml; charset=utf-8'})

    def _result(self, code, message, rows=None, kind=None):
        if kind is None:
            kind = 'duplicate' if message == '已有此记录' else (
                'accepted' if code == '1' else 'rejected')
        self.answer(kind)
        return Reply(200, self._envelope(wire.soap_result(code, message, rows)),
                     {'Content-Type': 'text/xml; charset=utf-8'})

    def handle(self, request, op):
        if request['method'] == 'GET':
            if 'wsdl' not in request['query'].lower():
                return Reply(404, b'Not Found')
            address = self.wsdl_address or self.base_url + '/'
            return Reply(200, WSDL.format(tns=TNS, address=address).encode('utf-8'),
                         {'Content-Type': 'text/xml; charset=utf-8'})
        try:
            call = self._parse_envelope(request['body'])
        except ValueError as exc:
            return self._fault('bad request: %s' % exc)
        qybh, jkid = call.get('qybh', ''), call.get('jkid', '')
        if call.get('jkxlh') != wire.soap_key(qybh, self.salt):
            return self._result('0', '授权序列号非法', kind='auth')
        if qybh != self.enterprise_code:
            return self._result('0', '该企业未授权', kind='auth')
        try:
            section, fields = wire.parse_soap_doc(call.get('sXmlDoc', ''))
        except ValueError as exc:
            return self._result('0', 'sXmlDoc格式错误：%s' % exc)
        self.receive(jkid, fields)
        if jkid == '01Q00':
            self.heartbeats += 1
            return self._result('1', '心跳正常')
        if jkid == '01Q04':
            rows = [[(k, row.get(k)) for k in ('cphm', 'cpys', 'yxqs', 'yxqz', 'bz')]
                    for row in self.whitelist]
            return self._result('1', '查询成功', rows)
        if section != 'vehcrpara':
            return self._result('0', '写入接口须提交vehcrpara')
        reason = self._rejection(jkid, fields)
        if reason:
            return self._result('0', reason)
        with self.lock:
            if jkid == '01W01':
                return self._passage(fields)
            if jkid == '01W02':
                return self._vehicle(fields)
            if jkid == '01W06':
                if not fields.get('dzbh') or fields.get('isonline') not in ('0', '1'):
                    return self._result('0', '道闸编号或在线状态错误')
                self.gate_status[fields['dzbh']] = fields
                self.store('online:%s:%d' % (fields['dzbh'], len(self.received)), fields)
                return self._result('1', '处理成功')
        return self._result('0', '接口标识%s不存在' % jkid)

    def _passage(self, fields):
        for key in ('id', 'lsh', 'cphm', 'cpys', 'qybh', 'dzbh', 'jclx', 'tgkssj', 'tgjssj', 'cjsj'):
            if not fields.get(key):
                return self._result('0', '%s不能为空' % key)
        if len(fields['id']) > 32 or len(fields['lsh']) > 46:
            return self._result('0', '表id或流水号超长')
        for key in ('tgkssj', 'tgjssj', 'cjsj'):
            if not _is_time(fields[key]):
                return self._result('0', '%s时间格式错误' % key)
        for key in ('ctzp', 'cszp', 'cpzp'):
            if fields.get(key) and not _picture_ok(fields[key]):
                return self._result('0', '%s照片格式错误' % key)
        if fields['id'] in self.records:
            return self._result('1', '已有此记录')
        self.store(fields['id'], fields)
        return self._result('1', '处理成功')

    def _vehicle(self, fields):
        if not fields.get('ccdjrq'):
            return self._result('0', '注册日期为空')
        if not fields.get('clsbdh'):
            return self._result('0', '车架号为空')
        key = 'veh:%s:%s' % (fields.get('cphm'), fields.get('cpys'))
        if self.records.get(key) == fields:
            return self._result('1', '已有此记录')
        self.store(key, fields)
        return self._result('1', '处理成功')


SIMULATORS = {'canonical': CanonicalSim, 'henan': HenanSim, 'hebei': HebeiSim, 'soap': SoapSim,
              'canonical_json': CanonicalSim, 'henan_transport_control': HenanSim,
              'hebei_integrated': HebeiSim, 'soap_deal_command': SoapSim}


def make_sim(adapter, **options):
    """A simulator by adapter name ('henan' or 'henan_transport_control', ...)."""
    return SIMULATORS[adapter](**options)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Run one regulator platform simulator.')
    parser.add_argument('--adapter', required=True, choices=sorted(SIMULATORS))
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0, help='0: any free port')
    parser.add_argument('--enterprise-code', default=DEMO['enterprise_code'])
    parser.add_argument('--username', default=DEMO['username'])
    parser.add_argument('--password', default=DEMO['password'])
    parser.add_argument('--client-id', default=DEMO['client_id'])
    parser.add_argument('--client-secret', default=DEMO['client_secret'])
    parser.add_argument('--salt', default=DEMO['salt'], help='SOAP key salt')
    parser.add_argument('--slow', type=float, default=0.0, help='delay every answer (s)')
    parser.add_argument('--token-uses', type=int, default=None,
                        help='tokens expire after this many calls')
    parser.add_argument('--quiet', action='store_true',
                        help='do not print what arrives (counts: GET %s)' % STATS_PATH)
    args = parser.parse_args(argv)
    options = {'host': args.host, 'port': args.port, 'enterprise_code': args.enterprise_code}
    cls = SIMULATORS[args.adapter]
    if cls is CanonicalSim or cls is HenanSim:
        options.update(username=args.username, password=args.password)
    elif cls is HebeiSim:
        options.update(username=args.username, password=args.password,
                       client_id=args.client_id, client_secret=args.client_secret)
    else:
        options.update(salt=args.salt)
    sim = cls(**options).start()
    sim.slow = args.slow
    sim.token_uses = args.token_uses
    print('%s simulator on %s (enterprise %s); counts at %s; Ctrl-C stops it.'
          % (sim.adapter, sim.base_url + ('/?wsdl' if cls is SoapSim else ''), args.enterprise_code,
             sim.base_url + STATS_PATH), flush=True)
    print('credentials: %s' % ', '.join('%s=%s' % kv for kv in sorted(options.items())
                                        if kv[0] not in ('host', 'port')), flush=True)
    seen = 0
    try:
        while True:
            time.sleep(1.0)
            with sim.lock:
                new = sim.received[seen:]
                seen = len(sim.received)
            for op, payload in ([] if args.quiet else new):
                print('%s %s' % (op, json.dumps(wire.shorten(wire.mask(payload), 64),
                                                ensure_ascii=False)[:300]), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
