"""The gate box: the pure modules wired together, without Odoo.

`GateBox(config)` owns one durable outbox (outbox.py), the register cache and its
syncer (cache.py), the forwarder (forwarder.py), the quarantine store, and per lane the
camera state, the barrier driver (barrier.py), the weighbridge reader
(weighbridge.SerialScale) and, for Dahua cameras, the stream client (dahua.py).
`start()` starts their threads, `stop()` ends them. The Odoo controllers
(env_gate_hw/controllers/main.py) only turn HTTP requests into calls of the `handle_*`
methods and their `Reply` back into HTTP.

A plate read, whatever the camera, goes through `_handle_read`:

1. the lane: `?lane=CODE` on the camera's push URL, else the configured camera_id
   (serialno / MAC / device) or camera_ip; an unknown camera is refused (4xx) and its
   body quarantined;
2. the camera counts as alive (offline detection is by silence, see `_watch`);
3. a repeat is recognised: the camera's retransmission of a read (same camera record,
   same event id) or the same plate on the same lane within `dedup_window` seconds with
   the same outcome. A repeat is answered like the first read but not queued again;
4. the decision, from the local cache only (cache.Cache.decide);
5. the event (cameras.to_event, id from cameras.event_id_for, the decision and its
   reason) is written to the outbox, durably, BEFORE the camera is answered; if that
   write fails the camera gets a 503 and keeps its read for a resend;
6. the barrier: the AlarmInfoPlate reply opens it (info "ok") on lanes whose barrier is
   the camera, other drivers get an open command.

A held vehicle (decision.HOLD: the guard decides) is recorded with decision "refuse"
("unrecognised" for no plate / low confidence) and a reason saying it waits for the
guard: the barrier did not open, and the ERP would otherwise read a missing decision as
"passed automatically". The guard's manual lift is a `manual_lift` event of its own.

Stable weights become `weight` events tied to the lane's current vehicle (the last plate
read on the lane within `vehicle_window` seconds); QR images become `qr` events.

Event times are sent to the second, the ledger's precision (passage serials are barrier +
second); the camera's own timestamp, fraction included, stays in the event's `extra`.
Standard library plus requests, pyserial, Pillow/pyzbar (through the modules used).
"""
import base64
import collections
import datetime
import hashlib
import hmac
import json
import logging
import os
import threading
import time
import uuid

from hj1321.errors import BilingualError

from . import barrier as barrier_module
from . import cache as cache_module
from . import cameras, decision, qr, weighbridge
from .forwarder import Forwarder
from .outbox import Outbox
from .quarantine import Quarantine

_logger = logging.getLogger(__name__)

VERSION = '11.0.1.0.0'
STATUS_PATH = '/env_gate/api/v1/status'
_RECENT_IDS = 2000          # camera record ids remembered per lane (retransmissions)

Reply = collections.namedtuple('Reply', 'status body content_type')
Reply.__doc__ = """What to answer: HTTP status, body (a dict sent as JSON, or text),
content type ('application/json' or 'text/html')."""


def _utc_iso(epoch):
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat()


def _json_reply(status, body):
    return Reply(status, body, 'application/json')


def _error_body(code, message_en, message_zh, **more):
    body = {'error': code, 'message': message_en, 'message_zh': message_zh}
    body.update(more)
    return body


class LaneError(BilingualError):
    """A push that belongs to no configured lane."""


class Lane(object):
    """A lane's configuration and live state."""

    def __init__(self, config, box):
        self.config = config
        self.code = config.code
        self.lock = threading.Lock()
        self.barrier = barrier_module.make(config.code, config.barrier,
                                           lift_window=box.config.camera_lift_window)
        self.scale = None
        self.dahua = None
        self.camera_seen = None         # epoch of the last push or heartbeat
        self.camera_state = 'unknown'   # 'online', 'offline', 'unknown' (never heard)
        self.camera_state_since = time.time()
        self.last_read = None
        self.current = None             # (plate_raw, plate_key, epoch)
        self.recent = collections.OrderedDict()    # plate_key -> (epoch, action, reason), oldest first
        self.recent_ids = collections.OrderedDict()     # camera_event_id -> Decision
        self.recent_qr = {}             # sha256 of QR bytes -> epoch
        self.counts = collections.Counter()

    @property
    def direction(self):
        return self.config.direction if self.config.direction in ('in', 'out') else None

    def seen(self, now):
        self.camera_seen = now

    def current_plate(self, now, window):
        current = self.current
        if current is not None and now - current[2] <= window:
            return current[0]
        return None


class GateBox(object):
    """One gate box (see the module docstring). `config` is a config.BoxConfig."""

    def __init__(self, config, clock=None):
        self.config = config
        self.clock = clock or time.time
        self.started_at = self.clock()
        os.makedirs(config.data_dir, exist_ok=True)
        self.outbox = Outbox(os.path.join(config.data_dir, 'outbox.sqlite'))
        self.cache = cache_module.Cache(os.path.join(config.data_dir, 'cache.json'))
        if self.cache.load_error is not None:
            _logger.error('register cache: %s', self.cache.load_error)
        self.quarantine = Quarantine(os.path.join(config.data_dir, 'quarantine'),
                                     max_files=config.quarantine_max_files)
        tokens = {code: lane.token for code, lane in config.lanes.items()}
        self.forwarder = Forwarder(
            self.outbox, config.erp_url, tokens, batch_size=config.forward_batch,
            timeout=(3.0, config.forward_timeout), backoff_base=config.backoff_base,
            backoff_cap=config.backoff_cap)
        self.syncer = cache_module.Syncer(
            self.cache, cache_module.http_fetcher(
                config.erp_url, config.lanes[config.sync_lane].token), interval=config.sync_interval)
        self.lanes = collections.OrderedDict(
            (code, Lane(lane_config, self)) for code, lane_config in config.lanes.items())
        self._stop = threading.Event()
        self._threads = []
        self._status_report = {'state': 'never', 'last_attempt': None, 'last_success': None,
                               'last_error': None, 'supported': None}
        self._lock = threading.Lock()
        self.counts = collections.Counter()

    # -- life cycle -------------------------------------------------------------------------
    def start(self):
        """Start every thread: forwarder, syncer, watchdog, barriers, scales, Dahua."""
        _logger.info('gate box %s: %d lane(s) %s, ERP %s, data in %s', self.config.box_name,
                     len(self.lanes), ', '.join(self.lanes), self.config.erp_url,
                     self.config.data_dir)
        self.forwarder.start()
        self._spawn('gatebox syncer', self.syncer.run, self._stop)
        self._spawn('gatebox watchdog', self._watch)
        for lane in self.lanes.values():
            lane.barrier.start()
            if lane.config.scale is not None:
                lane.scale = self._make_scale(lane)
                lane.scale.start()
            if lane.config.camera == 'dahua':
                from .dahua import DahuaClient
                lane.dahua = DahuaClient(
                    lane.code, lane.config.camera_url,
                    lambda read, lane=lane: self._dahua_read(lane, read),
                    user=lane.config.camera_user, password=lane.config.camera_password,
                    device_id=lane.config.camera_id or lane.code)
                lane.dahua.start()
        return self

    def _spawn(self, name, target, *args):
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def stop(self, timeout=5.0):
        """Stop the threads and close the outbox."""
        self._stop.set()
        self.forwarder.stop(timeout)
        for lane in self.lanes.values():
            lane.barrier.stop(timeout)
            if lane.scale is not None:
                lane.scale.stop(timeout)
            if lane.dahua is not None:
                lane.dahua.stop(timeout)
        for thread in self._threads:
            thread.join(timeout)
        self.outbox.close()

    def _make_scale(self, lane):
        scale = lane.config.scale
        options = dict(scale.options)
        poll = None
        if scale.protocol == weighbridge.XK3190_COMMAND:
            address = str(options.get('address') or 'A')
            options['address'] = address
            poll = weighbridge.xk3190_command(address, 'B')
        parser = weighbridge.make_parser(scale.protocol, **options)
        detector = weighbridge.StabilityDetector(scale.n, scale.tolerance, scale.min_weight)
        return weighbridge.SerialScale(
            scale.url, parser, callback=lambda reading, when: self._weight(lane, reading, when),
            detector=detector, unit=scale.unit, poll=poll, baudrate=scale.baudrate,
            bytesize=scale.bytesize, parity=scale.parity, stopbits=scale.stopbits,
            name='gatebox scale %s' % lane.code)

    # -- lanes ------------------------------------------------------------------------------
    def lane_for(self, lane_param=None, read=None, remote_addr=None):
        """The Lane of a push (see the module docstring); raises LaneError."""
        if lane_param:
            lane = self.lanes.get(lane_param)
            if lane is None:
                raise LaneError('lane.unknown', '本网关没有车道 %s' % lane_param,
                                'this gate box has no lane %s' % lane_param)
            return lane
        device, _sep, channel = (read.lane_hint if read is not None else '').partition('/')
        candidates = []
        for lane in self.lanes.values():
            cfg = lane.config
            if cfg.camera_channel and channel and cfg.camera_channel != channel:
                continue
            if device and cfg.camera_id and cfg.camera_id.lower() == device.lower():
                candidates.append(lane)
            elif cfg.camera_ip and remote_addr and cfg.camera_ip == remote_addr:
                candidates.append(lane)
            elif read is not None and cfg.camera_ip and \
                    (read.extra or {}).get('ipaddr') == cfg.camera_ip:
                candidates.append(lane)
        if len(candidates) == 1:
            return candidates[0]
        if not candidates and len(self.lanes) == 1:
            return next(iter(self.lanes.values()))
        if candidates:
            raise LaneError('lane.ambiguous', '相机 %s 对应多个车道，请在推送地址加 ?lane=车道编码'
                            % (device or remote_addr),
                            'camera %s matches several lanes: add ?lane=<code> to its push URL'
                            % (device or remote_addr))
        raise LaneError('lane.unknown_camera', '未配置的相机 %s（设备 %s）：请配置 camera_id 或在推送地址加'
                        ' ?lane=车道编码' % (remote_addr or '-', device or '-'),
                        'unknown camera %s (device %s): configure camera_id or add '
                        '?lane=<code> to its push URL' % (remote_addr or '-', device or '-'))

    # -- camera endpoints ---------------------------------------------------------------------
    def _refuse(self, endpoint, body, error, status, remote_addr=None, content_type=None,
                extra=None):
        """Quarantine a body we cannot use and build the 4xx answer."""
        kept = self.quarantine.keep(endpoint, body, error.code, error.message_en,
                                    error.message_zh, remote_addr=remote_addr,
                                    content_type=content_type)
        self.counts['quarantined'] += 1
        _logger.warning('%s from %s refused (%s): %s; kept as %s', endpoint, remote_addr or '-',
                        error.code, error.message_en, kept['file'])
        answer = _error_body(error.code, error.message_en, error.message_zh,
                             quarantined=kept['file'])
        answer.update(extra or {})
        return _json_reply(status, answer)

    def handle_alarminfoplate(self, body, lane_param=None, remote_addr=None):
        """An AlarmInfoPlate push -> Reply with the Response_AlarmInfoPlate object."""
        no_retry = cameras.alarminfoplate_reply(False, [])
        heartbeat = self._aip_heartbeat(body)
        if heartbeat is not None:
            return self._aip_keepalive(heartbeat, body, lane_param, remote_addr)
        try:
            read = cameras.parse_alarminfoplate(body, direction_map={})
        except cameras.PayloadError as exc:
            return self._refuse('alarminfoplate', body, exc, 400, remote_addr,
                                'application/json', no_retry)
        try:
            lane = self.lane_for(lane_param, read, remote_addr)
        except LaneError as exc:
            return self._refuse('alarminfoplate', body, exc, 404, remote_addr,
                                'application/json', no_retry)
        mapping = lane.config.direction_map
        if mapping:
            raw = (read.extra.get('PlateResult') or {}).get('direction')
            key = int(raw) if str(raw).strip().isdigit() else raw
            read = read._replace(direction=mapping.get(key, read.direction))
        outcome = self._handle_read(lane, read)
        if outcome.get('error'):
            return _json_reply(503, dict(outcome['error'], Response_AlarmInfoPlate={
                'info': 'no', 'channelNum': lane.config.relay, 'serialData': []}))
        result = outcome['decision']
        opens = False
        if isinstance(lane.barrier, barrier_module.CameraBarrier):
            lifted = lane.barrier.take_pending()
            opens = result.opens or lifted
            lane.barrier.replied(opens, 'manual lift' if lifted and not result.opens
                                 else result.reason)
        reply = cameras.alarminfoplate_reply(opens, result.led_lines, voice=result.voice,
                                             channel=lane.config.led_channel,
                                             relay=lane.config.relay)
        return _json_reply(200, reply)

    @staticmethod
    def _aip_heartbeat(body):
        """The heartbeat object of an AlarmInfoPlate keep-alive body, else None."""
        if not body or len(body) > 4096 or b'"heartbeat"' not in bytes(body):
            return None
        try:
            data = json.loads(bytes(body).decode('utf-8', 'replace'))
        except ValueError:
            return None
        if isinstance(data, dict) and 'AlarmInfoPlate' not in data and \
                isinstance(data.get('heartbeat'), dict):
            return data['heartbeat']
        return None

    def _aip_keepalive(self, heartbeat, body, lane_param, remote_addr):
        fake = cameras._read(lane_hint='%s/%s' % (heartbeat.get('serialno') or '', ''),
                             extra={'ipaddr': heartbeat.get('ipaddr')}, is_heartbeat=True)
        try:
            lane = self.lane_for(lane_param, fake, remote_addr)
        except LaneError as exc:
            return self._refuse('alarminfoplate', body, exc, 404, remote_addr,
                                'application/json')
        lane.seen(self.clock())
        lane.counts['heartbeats'] += 1
        opens = isinstance(lane.barrier, barrier_module.CameraBarrier) and \
            lane.barrier.take_pending()
        if opens:
            lane.barrier.replied(True, 'manual lift')
        return _json_reply(200, cameras.alarminfoplate_reply(opens, [],
                                                             relay=lane.config.relay))

    def handle_hikvision(self, content_type, body, lane_param=None, remote_addr=None):
        """A Hikvision ISAPI push (ANPR or heartbeat) -> Reply (JSON)."""
        try:
            read = cameras.parse_hikvision(content_type, body, direction_map={})
        except cameras.PayloadError as exc:
            return self._refuse('hikvision', body, exc, 400, remote_addr, content_type)
        try:
            lane = self.lane_for(lane_param, read, remote_addr)
        except LaneError as exc:
            return self._refuse('hikvision', body, exc, 404, remote_addr, content_type)
        if read.is_heartbeat:
            lane.seen(self.clock())
            lane.counts['heartbeats'] += 1
            return _json_reply(200, {'result': 'ok', 'heartbeat': True, 'lane': lane.code})
        mapping = lane.config.direction_map
        if mapping:
            raw = ((read.extra.get('ANPR') or {}).get('direction') or '').lower()
            read = read._replace(direction=mapping.get(raw, read.direction))
        outcome = self._handle_read(lane, read)
        if outcome.get('error'):
            return _json_reply(503, outcome['error'])
        result = outcome['decision']
        return _json_reply(200, {'result': 'ok', 'lane': lane.code, 'action': result.action,
                                 'reason': result.reason, 'text': result.text_zh,
                                 'repeat': outcome['repeat']})

    def _dahua_read(self, lane, read):
        if read.is_heartbeat:
            lane.seen(self.clock())
            lane.counts['heartbeats'] += 1
            return
        self._handle_read(lane, read)

    # -- the read pipeline ------------------------------------------------------------------
    def _handle_read(self, lane, read):
        """Decide, queue durably, drive the barrier. Returns {'decision', 'repeat',
        'event_id', 'error'}."""
        now = self.clock()
        lane.seen(now)
        if read.direction is None and lane.direction:
            read = read._replace(direction=lane.direction)
        event_id = cameras.event_id_for(read)
        # The ledger keeps times to the second (passage serials are barrier + second); the
        # camera's own timestamp stays in the event's extra.
        read = read._replace(time_utc=read.time_utc.replace(microsecond=0))
        key = read.plate_key
        with lane.lock:
            known = lane.recent_ids.get(read.camera_event_id)
        if known is not None:
            lane.counts['repeats'] += 1
            self.counts['repeats'] += 1
            return {'decision': known, 'repeat': True, 'event_id': event_id}
        result = self.cache.decide(read, lane.code)
        repeat = False
        if key:
            with lane.lock:
                previous = lane.recent.get(key)
            repeat = previous is not None and now - previous[0] <= self.config.dedup_window \
                and previous[1:] == (result.action, result.reason)
        if not repeat:
            event = cameras.to_event(read, lane.code, event_id,
                                     decision=self.event_decision(result),
                                     reason=self.event_reason(result))
            event['extra']['decision'] = {
                'action': result.action, 'reason': result.reason, 'text_zh': result.text_zh,
                'text_en': result.text_en, 'detail': result.detail,
                'cache_version': self.cache.version, 'box': self.config.box_name}
            try:
                self.outbox.put(event)
            except Exception as exc:    # disk full, I/O error: never acknowledge then
                self.counts['outbox_errors'] += 1
                _logger.exception('lane %s: could not queue the read of %s', lane.code,
                                  read.plate_raw)
                return {'decision': result, 'repeat': False, 'event_id': event_id,
                        'error': _error_body(
                            'outbox.write_failed', 'the gate box could not store the read: %s'
                            % exc, '网关无法保存识别记录：%s' % exc)}
            self.forwarder.wake(lane.code)
        with lane.lock:
            if key:
                if not repeat:
                    lane.recent.pop(key, None)          # re-insert: the dict stays in time order
                    lane.recent[key] = (now, result.action, result.reason)
                lane.current = (read.plate_raw, key, now)
                horizon = now - self.config.dedup_window
                while lane.recent and (len(lane.recent) > _RECENT_IDS or
                                       next(iter(lane.recent.values()))[0] < horizon):
                    lane.recent.popitem(last=False)
            lane.recent_ids[read.camera_event_id] = result
            while len(lane.recent_ids) > _RECENT_IDS:
                lane.recent_ids.popitem(last=False)
            lane.last_read = {'time': now, 'plate': read.plate_raw, 'action': result.action,
                              'reason': result.reason, 'text': result.text_zh,
                              'repeat': repeat, 'event_id': event_id}
        lane.counts['repeats' if repeat else 'reads'] += 1
        lane.counts[result.action] += 0 if repeat else 1
        self.counts['repeats' if repeat else 'reads'] += 1
        if result.opens and not repeat and \
                not isinstance(lane.barrier, barrier_module.CameraBarrier):
            lane.barrier.open('auto: %s' % result.reason)
        if not repeat:
            _logger.info('lane %s: %s', lane.code, result.text_en)
        return {'decision': result, 'repeat': repeat, 'event_id': event_id}

    @staticmethod
    def event_decision(result):
        """The contract decision of a Decision (see the module docstring on holds)."""
        return result.event_decision or 'refuse'

    @staticmethod
    def event_reason(result):
        """'<code>: <zh> / <en>' (with 'hold' for a held vehicle); None for a plain pass."""
        if result.reason == 'ok':
            return None
        _short, long_zh, text_en = decision.REASONS[result.reason]
        if result.action == decision.HOLD:
            text = '%s (hold): %s，等待人工确认 / %s; held for the guard' % (
                result.reason, long_zh, text_en)
        else:
            text = '%s: %s / %s' % (result.reason, long_zh, text_en)
        return text[:200]

    # -- weighbridge --------------------------------------------------------------------------
    def _weight(self, lane, reading, when):
        """SerialScale callback (scale thread): a stable weight -> `weight` event."""
        plate = lane.current_plate(self.clock(), self.config.vehicle_window)
        try:
            event = weighbridge.to_weight_event(lane.code, reading, when.replace(microsecond=0),
                                                plate=plate,
                                                extra={'box': self.config.box_name})
        except weighbridge.WeighbridgeError as exc:
            _logger.warning('lane %s: weight %s not sent: %s', lane.code, reading.weight, exc)
            return
        self.outbox.put(event)
        self.forwarder.wake(lane.code)
        lane.counts['weights'] += 1
        _logger.info('lane %s: stable weight %s %s (vehicle %s)', lane.code, event['weight'],
                     event['unit'], plate or '-')

    # -- QR -----------------------------------------------------------------------------------
    def handle_qr(self, image, lane_param=None, remote_addr=None, plate=None,
                  content_type=None):
        """An image holding a 随车清单 / label QR code -> `qr` event; Reply (JSON)."""
        lane_param = lane_param or (next(iter(self.lanes)) if len(self.lanes) == 1 else None)
        if not lane_param or lane_param not in self.lanes:
            error = LaneError('lane.unknown', '请用 ?lane=车道编码 指明车道',
                              'name the lane with ?lane=<code>')
            return self._refuse('qr', image, error, 404 if lane_param else 400, remote_addr,
                                content_type)
        lane = self.lanes[lane_param]
        try:
            codes = qr.decode_image(image)
        except qr.QrError as exc:
            status = 422 if exc.code == 'qr.not_found' else 400
            return self._refuse('qr', image, exc, status, remote_addr, content_type)
        now = self.clock()
        raw = b'\x00'.join(code.raw_bytes for code in codes)
        digest = hashlib.sha256(raw).hexdigest()
        found = [{'text': code.text, 'encoding': code.encoding,
                  'raw': base64.b64encode(code.raw_bytes).decode('ascii'),
                  'parsed': qr.parse_emission_list(code.text)} for code in codes]
        plate = plate or lane.current_plate(now, self.config.vehicle_window)
        with lane.lock:
            previous = lane.recent_qr.get(digest)
            repeat = previous is not None and now - previous <= self.config.dedup_window
            lane.recent_qr[digest] = now
        event_id = hashlib.sha256(('qr|%s|%s|%.3f' % (lane.code, digest, now)).encode(
            'utf-8')).hexdigest()[:40]
        if not repeat:
            event = {'event_id': event_id, 'type': 'qr', 'lane': lane.code,
                     'time': _utc_iso(int(now)),
                     'extra': {'source': 'qr', 'codes': found, 'box': self.config.box_name}}
            if plate:
                event['plate'] = plate
            if image[:3] == b'\xff\xd8\xff' or image[:8] == b'\x89PNG\r\n\x1a\n':
                event['pictures'] = {'list': base64.b64encode(image).decode('ascii')}
            try:
                self.outbox.put(event)
            except Exception as exc:    # never claim a scan was recorded when it was not
                _logger.exception('lane %s: could not queue a QR scan', lane.code)
                return _json_reply(503, _error_body(
                    'outbox.write_failed', 'the gate box could not store the scan: %s' % exc,
                    '网关无法保存扫码记录：%s' % exc))
            self.forwarder.wake()
            lane.counts['qr'] += 1
        return _json_reply(200, {'result': 'ok', 'lane': lane.code, 'event_id': event_id,
                                 'repeat': repeat, 'plate': plate, 'codes': [
                                     {k: v for k, v in item.items() if k != 'raw'}
                                     for item in found]})

    # -- manual lift ---------------------------------------------------------------------------
    def authorize_lift(self, lane_code, bearer=None, password=None):
        """None when the caller may lift the barrier of `lane_code`, else a Reply (401)."""
        lane = self.lanes.get(lane_code or '')
        if lane is not None and bearer and hmac.compare_digest(
                bearer.encode('utf-8'), lane.config.token.encode('utf-8')):
            return None
        operator = self.config.operator_password
        if lane is not None and operator and password and hmac.compare_digest(
                password.encode('utf-8'), operator.encode('utf-8')):
            return None
        return _json_reply(401, _error_body(
            'unauthorized', 'a manual lift needs the lane token (Authorization: Bearer) or the '
            'box operator password', '人工抬杆需要车道令牌（Authorization: Bearer）或网关操作密码'))

    def manual_lift(self, lane_code, reason, user, source='erp', remote_addr=None,
                    request_id=None):
        """Record a `manual_lift` event (durably, first), then drive the barrier."""
        lane = self.lanes.get(lane_code or '')
        if lane is None:
            return _json_reply(404, _error_body('lane.unknown', 'this gate box has no lane %s'
                                                % lane_code, '本网关没有车道 %s' % lane_code))
        reason = (reason or '').strip()
        user = (user or '').strip()
        if not reason or not user:
            return _json_reply(400, _error_body(
                'lift.missing', 'a manual lift needs who (user) and why (reason)',
                '人工抬杆须填写操作人（user）和原因（reason）'))
        now = self.clock()
        if request_id:
            event_id = hashlib.sha256(('lift|%s|%s' % (lane.code, request_id)).encode(
                'utf-8')).hexdigest()[:40]
        else:
            event_id = uuid.uuid4().hex
        plate = lane.current_plate(now, self.config.vehicle_window)
        event = {'event_id': event_id, 'type': 'manual_lift', 'lane': lane.code,
                 'time': _utc_iso(int(now)), 'decision': 'manual', 'reason': reason[:200],
                 'extra': {'source': source, 'user': user[:100], 'remote_addr': remote_addr,
                           'barrier': lane.barrier.kind, 'box': self.config.box_name,
                           'reason_full': reason if len(reason) > 200 else None}}
        if lane.direction:
            event['direction'] = lane.direction
        if plate:
            event['plate'] = plate
        try:
            fresh = self.outbox.put(event)
        except Exception as exc:    # no record, no lift: the ledger must show every lift
            _logger.exception('lane %s: could not record a manual lift', lane.code)
            return _json_reply(503, _error_body(
                'outbox.write_failed', 'the lift could not be recorded, barrier not opened: %s'
                % exc, '无法记录抬杆，未开闸：%s' % exc))
        self.forwarder.wake()
        if not fresh:       # the same request again: recorded and driven already
            return _json_reply(200, {'result': 'ok', 'lane': lane.code, 'event_id': event_id,
                                     'barrier': {'state': 'already_done'}, 'plate': plate})
        outcome = lane.barrier.open('manual: %s' % reason, user)
        lane.counts['manual_lifts'] += 1
        _logger.info('lane %s: manual lift by %s (%s) from %s: %s', lane.code, user, source,
                     remote_addr or '-', outcome.get('state'))
        return _json_reply(200, {'result': 'ok', 'lane': lane.code, 'event_id': event_id,
                                 'barrier': outcome, 'plate': plate})

    # -- watchdog and status report -------------------------------------------------------------
    def check_cameras(self, now=None):
        """Update each camera's online/offline state from its last sign of life."""
        now = self.clock() if now is None else now
        for lane in self.lanes.values():
            timeout = lane.config.heartbeat_timeout
            if lane.config.camera == 'none' or not timeout:
                continue
            if lane.camera_seen is not None and now - lane.camera_seen <= timeout:
                state = 'online'
            elif lane.camera_seen is None and now - self.started_at <= timeout:
                state = 'unknown'
            else:
                state = 'offline'
            if state != lane.camera_state:
                log = _logger.warning if state == 'offline' else _logger.info
                log('lane %s: camera %s -> %s', lane.code, lane.camera_state, state)
                lane.camera_state = state
                lane.camera_state_since = now

    def _watch(self):
        next_report = self.clock() + min(5.0, self.config.status_interval)
        while not self._stop.is_set():
            try:
                self.check_cameras()
                if self.clock() >= next_report:
                    self.report_status()
                    next_report = self.clock() + self.config.status_interval
            except Exception:       # the watchdog must outlive its own bugs
                _logger.exception('gate box watchdog round failed')
            self._stop.wait(1.0)

    def status_payload(self, lane):
        """The body POSTed to the ERP's status endpoint for one lane."""
        stats = self.outbox.stats()
        cameras_list = []
        if lane.config.camera != 'none' and lane.camera_state in ('online', 'offline'):
            cameras_list.append({'lane': lane.code, 'state': lane.camera_state,
                                 'type': lane.config.camera,
                                 'last_heartbeat': _utc_iso(lane.camera_seen)})
        barrier = lane.barrier.status()
        return {'box': {'name': self.config.box_name, 'version': VERSION,
                        'time': _utc_iso(self.clock()), 'started_at': _utc_iso(self.started_at),
                        'lanes': list(self.lanes), 'cache_version': self.cache.version,
                        'forwarder': self.forwarder.status()['state']},
                'cameras': cameras_list,
                'barriers': [{'lane': lane.code, 'driver': barrier['driver'],
                              'state': barrier['status'],
                              'last_error': barrier['last_error']}],
                'outbox': {'pending': stats['pending'], 'dead': stats['dead'],
                           'deferred': stats['deferred'], 'oldest_age': stats['oldest_age']}}

    def report_status(self):
        """POST each lane's status to the ERP with the lane's token (404 is tolerated: an
        ERP without the endpoint). Never while an event batch is on its way: both write
        the lane's row in the ERP (see Forwarder.quiet); skipped when the forwarder stays
        busy, the next report follows."""
        import requests
        report = self._status_report
        report['last_attempt'] = self.clock()
        url = self.config.erp_url + STATUS_PATH
        errors, not_found = [], 0
        payloads = [(lane, self.status_payload(lane)) for lane in self.lanes.values()]
        with self.forwarder.quiet(timeout=5.0) as quiet:
            if not quiet:
                report.update(state='skipped', last_error='the forwarder was busy')
                return dict(report)
            for lane, payload in payloads:
                try:
                    answer = requests.post(url, json=payload, timeout=5, headers={
                        'Authorization': 'Bearer ' + lane.config.token})
                except requests.RequestException as exc:
                    errors.append('%s: %s' % (lane.code, type(exc).__name__))
                    break
                if answer.status_code == 404:
                    not_found += 1
                elif answer.status_code >= 300:
                    errors.append('%s: HTTP %s' % (lane.code, answer.status_code))
        if errors:
            report.update(state='error', last_error='; '.join(errors)[:300])
        elif not_found:
            if report['supported'] is not False:
                _logger.info('the ERP has no %s endpoint (404): camera status stays on the '
                             'box status page', STATUS_PATH)
            report.update(state='not_supported', supported=False, last_error=None)
        else:
            report.update(state='ok', supported=True, last_success=self.clock(),
                          last_error=None)
        return dict(report)

    # -- status -------------------------------------------------------------------------------
    def status(self):
        """Everything the status page shows (JSON-ready; no tokens)."""
        now = self.clock()
        self.check_cameras(now)
        lanes = []
        for lane in self.lanes.values():
            cfg = lane.config
            camera = {'type': cfg.camera, 'state': lane.camera_state if cfg.camera != 'none'
                      else 'none', 'last_heartbeat': _utc_iso(lane.camera_seen),
                      'heartbeat_timeout': cfg.heartbeat_timeout,
                      'since': _utc_iso(lane.camera_state_since)}
            if lane.dahua is not None:
                camera['stream'] = _jsonable(lane.dahua.status())
            last = dict(lane.last_read) if lane.last_read else None
            if last:
                last['time'] = _utc_iso(last['time'])
            scale = None
            if lane.scale is not None:
                scale = _jsonable(lane.scale.status())
            elif cfg.scale is not None:
                scale = {'status': 'not started', 'port': cfg.scale.url}
            barrier = _jsonable(lane.barrier.status())
            barrier['last_open'] = _utc_iso(barrier.get('last_open'))
            barrier['last_error_at'] = _utc_iso(barrier.get('last_error_at'))
            lanes.append({'code': lane.code, 'name': cfg.name, 'direction': cfg.direction,
                          'camera': camera, 'last_read': last, 'scale': scale,
                          'barrier': barrier,
                          'current_vehicle': lane.current_plate(now, self.config.vehicle_window),
                          'counts': dict(lane.counts)})
        stats = self.outbox.stats()
        forwarder = _jsonable(self.forwarder.status())
        for key in ('last_success',):
            forwarder[key] = _utc_iso(forwarder.get(key))
        if forwarder.get('last_error'):
            forwarder['last_error']['time'] = _utc_iso(forwarder['last_error'].get('time'))
        for info in forwarder.get('lanes', {}).values():
            info['next_attempt'] = _utc_iso(info.get('next_attempt'))
        report = dict(self._status_report)
        for key in ('last_attempt', 'last_success'):
            report[key] = _utc_iso(report.get(key))
        return {
            'box': {'name': self.config.box_name, 'version': VERSION, 'pid': os.getpid(),
                    'time': _utc_iso(now), 'started_at': _utc_iso(self.started_at),
                    'uptime': round(now - self.started_at, 1), 'erp_url': self.config.erp_url,
                    'data_dir': self.config.data_dir,
                    'manual_lift_from_page': bool(self.config.operator_password)},
            'lanes': lanes,
            'outbox': dict(stats, dead_events=[
                {'event_id': row.event_id, 'lane': row.lane, 'reason': row.reason,
                 'code': row.code, 'dead_at': _utc_iso(row.dead_at)}
                for row in self.outbox.dead(20)]),
            'forwarder': forwarder,
            'cache': _jsonable(self.syncer.status()),
            'quarantine': {'count': self.quarantine.count(), 'path': self.quarantine.path,
                           'last': self.quarantine.last},
            'erp_status_report': report,
            'counts': dict(self.counts),
        }

    def status_reply(self):
        return _json_reply(200, self.status())

    def status_page(self):
        from . import status_page
        return Reply(200, status_page.render(self.status()), 'text/html')

    def lift_page(self, reply):
        """The HTML answer to the status page's manual-lift form."""
        import html
        body = reply.body
        if reply.status == 200:
            text = '抬杆已记录（%s） / Lift recorded (%s): barrier %s' % (
                html.escape(body['lane']), html.escape(body['lane']),
                html.escape(str(body['barrier'].get('state'))))
        else:
            text = '%s / %s' % (html.escape(body.get('message_zh', '')),
                                html.escape(body.get('message', '')))
        return Reply(reply.status, '<!DOCTYPE html><html lang="zh-CN"><head><meta charset='
                     '"utf-8"><title>Manual lift</title></head><body><p>%s</p><p><a href="'
                     '/env_gate_hw/status">返回 back</a></p></body></html>' % text, 'text/html')

    @staticmethod
    def bad_request(code, message_en, message_zh):
        return _json_reply(400, _error_body(code, message_en, message_zh))

    def handle_heartbeat(self, lane_param, remote_addr=None):
        """A camera's keep-alive on /env_gate_hw/camera/heartbeat?lane=CODE."""
        try:
            lane = self.lane_for(lane_param, None, remote_addr)
        except LaneError as exc:
            return _json_reply(404, _error_body(exc.code, exc.message_en, exc.message_zh))
        lane.seen(self.clock())
        lane.counts['heartbeats'] += 1
        return _json_reply(200, {'result': 'ok', 'lane': lane.code})

    def drivers(self):
        """{name: object with get_status()} for hw_proxy.drivers (its status pages)."""
        out = collections.OrderedDict()
        out['env_gate_hw.forwarder'] = _Driver(lambda: _forwarder_state(self.forwarder.status()))
        out['env_gate_hw.syncer'] = _Driver(lambda: _syncer_state(self.syncer.status()))
        for lane in self.lanes.values():
            if lane.config.camera != 'none':
                out['env_gate_hw.camera.%s' % lane.code] = _Driver(
                    lambda lane=lane: _camera_state(self, lane))
            if lane.config.scale is not None:
                out['env_gate_hw.scale.%s' % lane.code] = _Driver(
                    lambda lane=lane: _scale_state(lane))
            out['env_gate_hw.barrier.%s' % lane.code] = _Driver(
                lambda lane=lane: _plain_state(lane.barrier.status()))
        return out


class _Driver(object):
    """What hw_proxy.drivers expects: get_status() -> {'status', 'messages'}."""

    def __init__(self, func):
        self._func = func

    def get_status(self):
        return self._func()


def _forwarder_state(status):
    state = {'ok': 'connected', 'idle': 'connected', 'backing_off': 'disconnected',
             'unauthorized': 'error'}.get(status['state'], 'error')
    messages = ['%s: %d pending, %d dead' % (status['state'], status['pending'], status['dead'])]
    if status.get('last_error'):
        messages.append(status['last_error']['message'])
    return {'status': state, 'messages': messages}


def _syncer_state(status):
    state = {'ok': 'connected', 'never': 'connecting'}.get(status['state'], 'disconnected')
    messages = ['cache version %s, %s vehicles' % (status['version'], status['vehicles'])]
    if status.get('last_error'):
        messages.append(status['last_error'])
    return {'status': state, 'messages': messages}


def _camera_state(box, lane):
    box.check_cameras()
    state = {'online': 'connected', 'unknown': 'connecting'}.get(lane.camera_state,
                                                                 'disconnected')
    return {'status': state, 'messages': ['%s camera, last sign of life %s' % (
        lane.config.camera, _utc_iso(lane.camera_seen) or 'never')]}


def _scale_state(lane):
    if lane.scale is None:
        return {'status': 'connecting', 'messages': ['not started']}
    status = lane.scale.status()
    return {'status': status['status'] if status['status'] in ('connecting', 'connected')
            else 'disconnected', 'messages': [status.get('message') or 'last weight %s' %
                                              status.get('last_reading')]}


def _plain_state(status):
    return {'status': status.get('status', 'error'), 'messages': list(status.get('messages') or [])}


def _jsonable(value):
    """A copy of a status structure with datetimes and Decimals as strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.isoformat() + 'Z'
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
