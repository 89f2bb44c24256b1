"""Clients of the regulator platforms: send canonical records, return one Attempt each.

One class per adapter (hj1321.regulators holds the wire formats, this module the network):

    client = make_client('hebei_integrated', base_url='http://...', enterprise_code='13...',
                         username='...', password='...', client_id='...', client_secret='...')
    attempt = client.send('passage', canonical_record)          # -> Attempt
    attempt.outcome        'ok' | 'duplicate' | 'rejected' | 'retry' | 'auth'
    attempt.delivered      ok or duplicate: the platform has the record
    attempt.unreachable    retry because the platform looks down: pause it and probe()
    attempt.platform_id    the platform's id (Hebei throughId, canonical id, Henan serial)
    attempt.request / .response   masked dumps (secrets never appear), for the attempt log

`send` never raises for anything the platform or the network does; it raises
regulators.UnsupportedKind for a kind the adapter has no operation for (check
regulators.supports first). A record the adapter cannot map is 'rejected' locally with a
'build.*' code and no request. `probe()` is a cheap call (a token request or a heartbeat)
for a "platform down: pause and probe" policy.

Tokens (Henan getAccessToken, Hebei OAuth) are cached per client, renewed before they
expire, and renewed once more when the platform says a token is invalid; token_state() /
set_token() let several processes share one token. Credentials and
tokens are registered with a logging filter that scrubs them from this module's records
and from zeep's and urllib3's (zeep logs whole envelopes at DEBUG).

Plain module: no Odoo import. It imports hj1321 relatively inside the add-on
(`from ..regulator_clients import ...`) and as top-level `hj1321` when the add-on
directory is on sys.path. Needs `requests`, and `zeep` for the SOAP adapter (imported on
first use).
"""
import collections
import datetime
import json
import logging
import os
import threading
import time
import urllib.parse

import requests

if __package__:
    from .hj1321 import regulators as wire
else:                                   # imported as a top-level module
    from hj1321 import regulators as wire

_logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 30.0)           # requests' (connect, read) seconds
MAX_RESPONSE = 4000                      # characters of answers kept in an attempt


# ---- secrets in logs ---------------------------------------------------------------------

class _SecretRegistry(object):
    """Secret values (passwords, client secrets, tokens) live clients know, so log records
    of any library can be scrubbed of them. Bounded: old tokens fall out."""

    def __init__(self, size=2000):
        self._values = collections.OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        self._snapshot = ()

    def add(self, *values):
        with self._lock:
            for value in values:
                if isinstance(value, str) and len(value) >= 4:
                    self._values.pop(value, None)
                    self._values[value] = True
            while len(self._values) > self._size:
                self._values.popitem(last=False)
            self._snapshot = tuple(self._values)

    def values(self):
        return self._snapshot


SECRETS = _SecretRegistry()


class SecretFilter(logging.Filter):
    """Rewrites a log record's message with every known secret masked."""

    def filter(self, record):
        try:
            text = record.getMessage()
        except Exception:               # a broken format string is not ours to fix
            return True
        masked = wire.mask(text, SECRETS.values())
        if masked != text:
            record.msg, record.args = masked, None
        return True


_FILTER = SecretFilter()
for _name in (__name__, 'zeep.transports', 'zeep.wsdl.bindings.soap', 'urllib3.connectionpool',
              'requests'):
    logging.getLogger(_name).addFilter(_FILTER)


# ---- attempts ----------------------------------------------------------------------------

class Attempt(object):
    """One try at delivering one record (or one probe / pull): the evidence to keep.

    outcome, platform_id, message_zh, message_en, code, http_status, unreachable,
    retry_after (seconds the platform asked for), data (pull results, check answers),
    request / response (masked dumps: JSON text of the requests made; the answers' text,
    truncated), duration (seconds), started_at (naive UTC datetime), calls (HTTP requests
    made), adapter, kind, record_id.
    """
    __slots__ = ('outcome', 'platform_id', 'message_zh', 'message_en', 'code', 'http_status',
                 'unreachable', 'retry_after', 'data', 'request', 'response', 'duration',
                 'started_at', 'calls', 'adapter', 'kind', 'record_id')

    def __init__(self, outcome, request='', response='', duration=0.0, started_at=None,
                 calls=0, adapter=None, kind=None, record_id=None):
        self.outcome = outcome.kind
        self.platform_id = outcome.platform_id
        self.message_zh = outcome.message_zh
        self.message_en = outcome.message_en
        self.code = outcome.code
        self.http_status = outcome.http_status
        self.unreachable = outcome.unreachable
        self.retry_after = outcome.retry_after
        self.data = outcome.data
        self.request = request
        self.response = response
        self.duration = duration
        self.started_at = started_at
        self.calls = calls
        self.adapter = adapter
        self.kind = kind
        self.record_id = record_id

    @property
    def delivered(self):
        return self.outcome in wire.DELIVERED

    def message(self, lang='en_US'):
        return self.message_zh if (lang or '').startswith('zh') else self.message_en

    def as_dict(self):
        """Every field as a plain dict (an attempt row's values)."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self):
        return '<Attempt %s %s %s %s: %s>' % (self.adapter, self.kind, self.record_id,
                                              self.outcome, self.message_en)


class _Exchange(object):
    """The requests and answers of one attempt, kept masked and short."""

    def __init__(self, client):
        self.client = client
        self.requests = []
        self.responses = []
        self.started = time.monotonic()
        self.started_at = client.utcnow()

    def request(self, op, method, url, headers=None, body=None):
        entry = collections.OrderedDict([('op', op), ('method', method), ('url', url)])
        if headers:
            entry['headers'] = dict(headers)
        if body is not None:
            entry['body'] = body
        self.requests.append(entry)

    def response(self, op, status, text, elapsed):
        self.responses.append('[%s] %s %.3fs\n%s' % (op, status, elapsed, text or ''))

    def failure(self, op, exc, elapsed):
        self.responses.append('[%s] no answer %.3fs: %s: %s' % (op, elapsed, type(exc).__name__,
                                                                exc))

    def attempt(self, outcome, kind=None, record_id=None):
        secrets = self.client.secrets()
        request = wire.dump(self.requests, secrets) if self.requests else ''
        response = wire.mask('\n'.join(self.responses), secrets)
        limit = self.client.max_response
        if len(response) > limit:
            response = response[:limit] + '...(+%d chars)' % (len(response) - limit)
        result = Attempt(outcome, request=request, response=response,
                         duration=round(time.monotonic() - self.started, 6),
                         started_at=self.started_at, calls=len(self.requests),
                         adapter=self.client.adapter, kind=kind, record_id=record_id)
        level = logging.DEBUG if result.delivered else (
            logging.INFO if outcome.kind == wire.RETRY else logging.WARNING)
        if _logger.isEnabledFor(level):
            _logger.log(level, '%s %s %s: %s (%s) in %.3fs', self.client.adapter, kind or '-',
                        record_id or '-', outcome.kind,
                        wire.mask(outcome.message_en, secrets), result.duration)
        return result


def transport_outcome(exc, timeout):
    """Outcome of a request that got no answer."""
    text = wire.mask(str(exc), SECRETS.values())
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return wire.Outcome(wire.RETRY, '连接平台超时（%s 秒）' % _connect(timeout),
                            'connecting to the platform timed out (%s s)' % _connect(timeout),
                            code='transport.connect_timeout', unreachable=True)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return wire.Outcome(wire.RETRY, '平台在 %s 秒内没有应答' % _read(timeout),
                            'the platform did not answer within %s s' % _read(timeout),
                            code='transport.read_timeout')
    if isinstance(exc, requests.exceptions.ConnectionError):
        return wire.Outcome(wire.RETRY, '无法连接平台：%s' % wire._snippet(text),
                            'cannot reach the platform: %s' % wire._snippet(text),
                            code='transport.connection', unreachable=True)
    return wire.Outcome(wire.RETRY, '请求失败：%s' % wire._snippet(text),
                        'the request failed: %s' % wire._snippet(text), code='transport.error')


def _connect(timeout):
    return timeout[0] if isinstance(timeout, (tuple, list)) else timeout


def _read(timeout):
    return timeout[1] if isinstance(timeout, (tuple, list)) else timeout


def build_failure(exc):
    """Outcome of a record the adapter cannot map (regulators.BuildError)."""
    return wire.Outcome(wire.REJECTED, '无法生成上传数据：%s' % exc.message_zh,
                        'cannot build the upload: %s' % exc.message_en, code=exc.code)


# ---- the clients -------------------------------------------------------------------------

class RegulatorClient(object):
    """What every platform client shares: configuration, sessions, secrets, timing.

    base_url: the platform's base URL. enterprise_code (企业编码, sent as qybh / organ),
    enterprise_name. username / password / client_id / client_secret: as the adapter
    needs them. timeout: requests' (connect, read) timeout. session: a requests.Session
    to use for every call (default: one per thread). clock: a monotonic clock for token
    lifetimes. utcnow: the wall clock of `Attempt.started_at`. max_response: characters
    of answers kept in an attempt.
    """
    adapter = None

    def __init__(self, base_url, enterprise_code, enterprise_name=None, username=None,
                 password=None, client_id=None, client_secret=None, timeout=DEFAULT_TIMEOUT,
                 session=None, clock=time.monotonic, utcnow=datetime.datetime.utcnow,
                 max_response=MAX_RESPONSE):
        if not base_url:
            raise ValueError('base_url is required')
        if not enterprise_code:
            raise ValueError('enterprise_code is required')
        self.base_url = base_url.rstrip('/')
        self.enterprise_code = enterprise_code
        self.enterprise_name = enterprise_name
        self.username = username
        self.password = password
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self.clock = clock
        self.utcnow = utcnow
        self.max_response = max_response
        self._shared_session = session
        self._local = threading.local()
        self._sessions = []
        self._lock = threading.RLock()
        self._tokens = []           # tokens this client obtained (for masking)
        SECRETS.add(password, client_secret)

    # -- plumbing ----------------------------------------------------------------------

    def secrets(self):
        """The secret values this client knows (configured ones and tokens)."""
        return [s for s in [self.password, self.client_secret] + self._tokens if s]

    def _remember_token(self, token):
        with self._lock:
            self._tokens.append(token)
            del self._tokens[:-5]
        SECRETS.add(token)

    def _session(self):
        if self._shared_session is not None:
            return self._shared_session
        session = getattr(self._local, 'session', None)
        if session is None:
            session = requests.Session()
            # The environment (proxies, CA bundle) is read once, not on every request:
            # requests walks os.environ per call otherwise, a third of a small upload's time.
            session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
            session.verify = os.environ.get('REQUESTS_CA_BUNDLE') \
                or os.environ.get('CURL_CA_BUNDLE') or True
            session.trust_env = False
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self):
        """Close the HTTP sessions this client opened."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def _http(self, exchange, op, method, path, json_body=None, form=None, headers=None,
              auth=None):
        """(response, None) or (None, Outcome) of one HTTP request; recorded in `exchange`."""
        url = path if path.startswith('http') else self.base_url + path
        headers = dict(headers or {})
        data = None
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False, separators=(',', ':')).encode('utf-8')
            headers['Content-Type'] = 'application/json; charset=utf-8'
        elif form is not None:
            data = form
        shown = dict(headers)
        if auth is not None:
            shown['Authorization'] = 'Basic ***'
        exchange.request(op, method, url, shown, json_body if json_body is not None else form)
        start = time.monotonic()
        try:
            # no redirects: requests would turn a redirected POST into a GET; a 3xx is
            # shown as a refusal naming the status, so the base URL gets fixed
            response = self._session().request(method, url, data=data, headers=headers,
                                               auth=auth, timeout=self.timeout,
                                               allow_redirects=False)
        except requests.exceptions.RequestException as exc:
            exchange.failure(op, exc, time.monotonic() - start)
            return None, transport_outcome(exc, self.timeout)
        exchange.response(op, response.status_code, self._text(response),
                          time.monotonic() - start)
        return response, None

    @staticmethod
    def _text(response):
        """The answer as text: UTF-8, else the declared charset, else GB18030 (platforms
        that send GBK without saying so), never an exception."""
        content = response.content or b''
        encodings = ['utf-8']
        if 'charset=' in (response.headers.get('Content-Type') or '').lower() and response.encoding:
            encodings.append(response.encoding)         # declared, not requests' guess
        encodings.append('gb18030')
        for encoding in encodings:
            try:
                return content.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                continue
        return content.decode('latin-1')

    # -- the API -----------------------------------------------------------------------

    def send(self, kind, record, through_id=None, unpaired=False):
        """Deliver one canonical record; an Attempt whatever happens.

        through_id: for a Hebei exit, the throughId its entry's upload returned (else the
        client's own memory of entries it delivered is used). unpaired: send a Hebei exit
        without throughId (its entry can never be delivered). Other adapters ignore both.
        """
        wire.check_supported(self.adapter, kind)
        if record.get('kind') != kind:
            raise ValueError('record kind %r is not %r' % (record.get('kind'), kind))
        exchange = _Exchange(self)
        try:
            outcome = self._send(exchange, kind, record, through_id, unpaired)
        except wire.BuildError as exc:
            outcome = build_failure(exc)
        return exchange.attempt(outcome, kind, record.get('record_id'))

    def probe(self):
        """A cheap call telling whether the platform is up and takes our credentials."""
        exchange = _Exchange(self)
        return exchange.attempt(self._probe(exchange), 'probe')

    def _send(self, exchange, kind, record, through_id, unpaired):
        raise NotImplementedError

    def _probe(self, exchange):
        raise NotImplementedError


class CanonicalJsonClient(RegulatorClient):
    """The product's own REST platform: POST canonical records, GET blacklist/strategies.

    Authentication: HTTP Basic with username/password, or `Authorization: Bearer
    <password>` (an API key) when no username is configured."""
    adapter = wire.CANONICAL_JSON

    def _auth(self):
        if self.username:
            return (self.username, self.password or ''), {}
        if self.password:
            return None, {'Authorization': 'Bearer %s' % self.password}
        return None, {}

    def _send(self, exchange, kind, record, through_id, unpaired):
        path, headers, body = wire.canonical_request(record)
        auth, auth_headers = self._auth()
        headers.update(auth_headers)
        response, failure = self._http(exchange, kind, 'POST', path, json_body=body,
                                       headers=headers, auth=auth)
        if failure:
            return failure
        return wire.parse_canonical(response.status_code, self._text(response), response.headers)

    def _get(self, exchange, op, path):
        auth, headers = self._auth()
        return self._http(exchange, op, 'GET', path, headers=headers, auth=auth)

    def _probe(self, exchange):
        response, failure = self._get(exchange, 'health', wire.CANONICAL_HEALTH)
        if failure:
            return failure
        outcome = wire.classify_http(response.status_code, self._text(response),
                                     response.headers)
        return outcome or wire.Outcome(wire.OK, '平台在线', 'the platform is up',
                                       http_status=response.status_code)

    def _pull(self, op, path, parse):
        exchange = _Exchange(self)
        response, failure = self._get(exchange, op, path)
        outcome = failure or parse(response.status_code, self._text(response), response.headers)
        return exchange.attempt(outcome, op)

    def pull_blacklist(self):
        """GET {base}/blacklist: Attempt whose `data` is the list of entries (plain dicts,
        regulators.parse_blacklist) when ok."""
        return self._pull('blacklist', wire.CANONICAL_BLACKLIST, wire.parse_blacklist)

    def pull_strategies(self):
        """GET {base}/strategies: Attempt whose `data` is the list of emergency strategies
        (plain dicts, regulators.parse_strategies) when ok."""
        return self._pull('strategies', wire.CANONICAL_STRATEGIES, wire.parse_strategies)


class _TokenClient(RegulatorClient):
    """A client whose platform hands out tokens: cached, renewed early, renewed on refusal."""
    token_ttl = 7200
    renew_margin = 300

    def __init__(self, *args, **kwargs):
        self.token_ttl = kwargs.pop('token_ttl', None) or self.token_ttl
        super(_TokenClient, self).__init__(*args, **kwargs)
        self._token = None
        self._token_expiry = 0.0
        self._token_lock = threading.Lock()

    def invalidate_token(self):
        self._token = None

    def token_state(self):
        """{'access_token', 'valid_for' (seconds)} of the held token, or None: for a caller
        that shares one token between processes (Odoo workers) instead of each logging in."""
        with self._token_lock:
            if not self._token or self.clock() >= self._token_expiry:
                return None
            return {'access_token': self._token, 'valid_for': self._token_expiry - self.clock()}

    def set_token(self, access_token, valid_for):
        """Use a token obtained elsewhere (see token_state) for `valid_for` seconds."""
        with self._token_lock:
            self._remember_token(access_token)
            self._token = access_token
            self._token_expiry = self.clock() + max(0, valid_for)

    def _ensure_token(self, exchange, force=False):
        """None when a valid token is held (fetching one if needed), else the failure."""
        with self._token_lock:
            if not force and self._token and self.clock() < self._token_expiry:
                return None
            outcome = self._fetch_token(exchange)
            if outcome.kind != wire.OK:
                self._token = None
                return outcome
            token = outcome.data['access_token']
            self._remember_token(token)
            ttl = outcome.data.get('expires_in') or self.token_ttl
            self._token = token
            self._token_expiry = self.clock() + max(1, ttl - min(self.renew_margin, ttl // 10))
            return None

    def _with_token(self, exchange, call):
        """call(token) -> Outcome, with one renewal when the platform refuses the token."""
        for round_ in (1, 2):
            failure = self._ensure_token(exchange, force=round_ == 2)
            if failure:
                return failure
            outcome = call(self._token)
            if outcome.kind != wire.AUTH:
                return outcome
            self.invalidate_token()
        return outcome

    def _probe(self, exchange):
        failure = self._ensure_token(exchange, force=True)
        return failure or wire.Outcome(wire.OK, '平台在线，令牌已更新',
                                       'the platform is up, token renewed')

    def _fetch_token(self, exchange):
        raise NotImplementedError


class HenanTransportControlClient(_TokenClient):
    """Henan-style transportControl REST (安车 / 天地人车 / 信阳 platforms).

    send('passage') posts shareDrivingRecord, then one sharePhotoInfo per picture (when
    send_photos; the record is delivered first, a failed photo makes the attempt fail and
    a re-send finds the record as duplicate); send('gate_status') posts putdcstatus.
    check_vehicle(plate) asks getCheckVehicle for the gate decision."""
    adapter = wire.HENAN
    token_ttl = wire.HENAN_TOKEN_TTL

    def __init__(self, *args, **kwargs):
        self.send_photos = kwargs.pop('send_photos', True)
        super(HenanTransportControlClient, self).__init__(*args, **kwargs)

    def _post(self, exchange, ipctype, value, token, parse):
        body = wire.henan_envelope(self.enterprise_code, ipctype, value, token)
        response, failure = self._http(exchange, ipctype, 'POST', wire.henan_path(ipctype),
                                       json_body=body)
        if failure:
            return failure
        return parse(response.status_code, self._text(response), response.headers)

    def _fetch_token(self, exchange):
        return self._post(exchange, 'getAccessToken',
                          wire.henan_token_value(self.username, self.password), None,
                          wire.parse_henan_token)

    def _op(self, exchange, ipctype, value, parse=wire.parse_henan):
        return self._with_token(exchange,
                                lambda token: self._post(exchange, ipctype, value, token, parse))

    def _send(self, exchange, kind, record, through_id, unpaired):
        if kind == 'gate_status':
            return self._op(exchange, 'putdcstatus', wire.henan_dc_status(record))
        value = wire.henan_driving_record(record)
        photos = wire.henan_photos(record) if self.send_photos else []
        outcome = self._op(exchange, 'shareDrivingRecord', value)
        if not outcome.delivered:
            return outcome
        outcome = outcome._replace(platform_id=record['platform_serial'])
        for photo in photos:
            result = self._op(exchange, 'sharePhotoInfo', photo)
            if not result.delivered:
                return result._replace(
                    message_zh='记录已送达，照片 %s 未送达：%s' % (photo['zpbh'], result.message_zh),
                    message_en='record delivered, picture %s not: %s' % (photo['zpbh'],
                                                                       result.message_en))
        return outcome

    def check_vehicle(self, plate, plate_color=None, barrier_no=''):
        """getCheckVehicle: Attempt whose `data` = {'allowed', 'reason', 'vehicle'} when ok."""
        exchange = _Exchange(self)
        value = wire.henan_check_vehicle(self.enterprise_code, plate, plate_color, barrier_no)
        outcome = self._op(exchange, 'getCheckVehicle', value, wire.parse_henan_check)
        return exchange.attempt(outcome, 'check_vehicle', plate)


class HebeiIntegratedClient(_TokenClient):
    """Hebei integrated platform (一体化平台): OAuth token, upload-control-vehicles.

    An entry's answer carries the throughId the exit must send to pair; the client keeps
    the throughIds of the entries it delivered (by record_id) and the caller can pass the
    one it stored (the entry upload's platform_id). An exit whose entry was not delivered
    yet is answered 'retry' (code 'entry.pending') without a request, unless `unpaired`.
    picture_url: a template ({sha256}, {kind}, {serial}, {record_id}) for pictures that
    have no `url` in the canonical record: the platform fetches pictures itself."""
    adapter = wire.HEBEI
    remembered = 100000

    def __init__(self, *args, **kwargs):
        self.picture_url = kwargs.pop('picture_url', None)
        super(HebeiIntegratedClient, self).__init__(*args, **kwargs)
        self._through = collections.OrderedDict()

    def _fetch_token(self, exchange):
        headers, form = wire.hebei_token_request(self.username, self.password, self.client_id,
                                                 self.client_secret)
        response, failure = self._http(exchange, 'token', 'POST', wire.HEBEI_TOKEN_PATH,
                                       form=form, headers=headers)
        if failure:
            return failure
        return wire.parse_hebei_token(response.status_code, self._text(response),
                                      response.headers)

    def through_id(self, entry_record_id):
        """The throughId of an entry this client delivered, or None."""
        with self._lock:
            return self._through.get(entry_record_id)

    def _keep(self, record_id, through_id):
        with self._lock:
            self._through.pop(record_id, None)
            self._through[record_id] = through_id
            while len(self._through) > self.remembered:
                self._through.popitem(last=False)

    def _send(self, exchange, kind, record, through_id, unpaired):
        exit_ = record['direction'] == '2'
        if exit_ and not unpaired:
            through_id = through_id or self.through_id(record.get('entry_record_id'))
            if not through_id and record.get('entry_record_id'):
                entry = record['entry_serial']
                return wire.Outcome(
                    wire.RETRY, '出厂记录须等待其进厂记录 %s 上传成功（throughId）' % entry,
                    'the exit waits until its entry %s is delivered (throughId)' % entry,
                    code='entry.pending')
        body = wire.hebei_upload(record, through_id if exit_ else None, self.picture_url)

        def call(token):
            response, failure = self._http(
                exchange, 'upload', 'POST', wire.HEBEI_UPLOAD_PATH, json_body=body,
                headers={'Authorization': 'Bearer %s' % token})
            if failure:
                return failure
            return wire.parse_hebei_upload(response.status_code, self._text(response),
                                           response.headers, through_id if exit_ else None)
        outcome = self._with_token(exchange, call)
        if outcome.delivered and not exit_ and outcome.platform_id:
            self._keep(record['record_id'], outcome.platform_id)
        return outcome


class SoapDealCommandClient(RegulatorClient):
    """XML web service dealCommand(qybh, jkxlh, jkid, sXmlDoc), through zeep and the
    platform's WSDL ({base_url}?wsdl unless wsdl_url is given). Calls go to base_url
    whatever address the WSDL names (platforms often publish an internal one).

    salt: the platform's salt of the key jkxlh = md5(md5(qybh + salt)); defaults to the
    configured password. 01W01 passages, 01W02 vehicles, 01W06 gate status; probe() is
    the 01Q00 heartbeat, pull_whitelist() the 01Q04 whitelist."""
    adapter = wire.SOAP

    def __init__(self, *args, **kwargs):
        self.salt = kwargs.pop('salt', None)
        self.wsdl_url = kwargs.pop('wsdl_url', None)
        super(SoapDealCommandClient, self).__init__(*args, **kwargs)
        if self.salt is None:
            self.salt = self.password or ''
        self.wsdl_url = self.wsdl_url or self.base_url + '?wsdl'
        SECRETS.add(self.salt, wire.soap_key(self.enterprise_code, self.salt))

    def secrets(self):
        return super(SoapDealCommandClient, self).secrets() + [
            self.salt, wire.soap_key(self.enterprise_code, self.salt)]

    def _service(self):
        service = getattr(self._local, 'service', None)
        if service is None:
            import zeep
            from zeep.transports import Transport
            transport = Transport(session=self._session(), timeout=self.timeout,
                                  operation_timeout=self.timeout)
            client = zeep.Client(self.wsdl_url, transport=transport)
            binding = next(iter(client.wsdl.bindings))
            service = client.create_service(binding, self.base_url)
            self._local.client = client
            self._local.service = service
        return service

    def _call(self, exchange, jkid, doc, fields=None, parse=wire.parse_soap):
        import zeep.exceptions
        params = wire.soap_params(self.enterprise_code, self.salt, jkid, doc)
        shown = dict(params)
        if fields is not None:
            shown['sXmlDoc'] = collections.OrderedDict(fields)
        exchange.request(jkid, 'SOAP', self.base_url, None, shown)
        start = time.monotonic()
        try:
            result = self._service().dealCommand(**params)
        except requests.exceptions.RequestException as exc:
            exchange.failure(jkid, exc, time.monotonic() - start)
            return transport_outcome(exc, self.timeout)
        except zeep.exceptions.Fault as exc:
            exchange.failure(jkid, exc, time.monotonic() - start)
            text = wire._snippet(str(exc.message))
            return wire.Outcome(wire.RETRY, '平台返回 SOAP 错误：%s' % text,
                                'the platform answered a SOAP fault: %s' % text,
                                code='soap.fault', http_status=500)
        except zeep.exceptions.TransportError as exc:
            exchange.failure(jkid, exc, time.monotonic() - start)
            status = exc.status_code or 0
            body = exc.content.decode('utf-8', 'replace') if isinstance(exc.content, bytes) \
                else str(exc.content or '')
            outcome = wire.classify_http(status, body) if status else None
            return outcome or wire.garbage(body, status or None)
        except (zeep.exceptions.Error, ValueError, SyntaxError) as exc:
            # an unreadable WSDL or envelope (lxml's XMLSyntaxError is a SyntaxError)
            exchange.failure(jkid, exc, time.monotonic() - start)
            return wire.garbage(str(exc))
        exchange.response(jkid, 200, urllib.parse.unquote_plus(result or ''), time.monotonic() - start)
        return parse(result)

    def _send(self, exchange, kind, record, through_id, unpaired):
        jkid, doc, fields = wire.soap_record(record)
        outcome = self._call(exchange, jkid, doc, fields)
        if outcome.delivered and kind == 'passage':
            outcome = outcome._replace(platform_id=record['platform_serial'])
        return outcome

    def _probe(self, exchange):
        jkid, doc = wire.soap_heartbeat(self.enterprise_code)
        return self._call(exchange, jkid, doc)

    def pull_whitelist(self):
        """01Q04: Attempt whose `data` = [{plate, plate_color, valid_from, valid_to, note}]."""
        exchange = _Exchange(self)
        jkid, doc = wire.soap_whitelist(self.enterprise_code)
        return exchange.attempt(self._call(exchange, jkid, doc, parse=wire.parse_soap_whitelist),
                                'whitelist')


CLIENTS = {
    wire.CANONICAL_JSON: CanonicalJsonClient,
    wire.HENAN: HenanTransportControlClient,
    wire.HEBEI: HebeiIntegratedClient,
    wire.SOAP: SoapDealCommandClient,
}


def make_client(adapter, **config):
    """The client of `adapter` built from configuration values (see RegulatorClient and
    the adapter's class for the keys; unknown adapters raise ValueError)."""
    try:
        cls = CLIENTS[adapter]
    except KeyError:
        raise ValueError('unknown adapter %r (known: %s)' % (adapter, ', '.join(CLIENTS)))
    return cls(**config)
