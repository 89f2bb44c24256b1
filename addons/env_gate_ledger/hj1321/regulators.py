"""Regulator platforms' wire formats: canonical record -> request, platform answer -> Outcome.

Pure functions (no network, no clock, no Odoo): `regulator_clients` sends what these build
and hands the answers back here, and the simulators in tests/ read requests with the same
knowledge. One section per adapter (REGULATOR_PROTOCOLS.md, A-D):

* `canonical_json`           the product's own REST: POST the canonical record to
                             {base}/passages, /vehicles, ...; GET /blacklist, /strategies.
* `henan_transport_control`  POST {base}/restapi/transportControl/get_data|put_data|put_file
                             with {"organ", "ipctype", "access_token", "value"}.
* `hebei_integrated`         OAuth token (passEncToken), then upload-control-vehicles for
                             entry and exit, the exit carrying the entry's throughId.
* `soap_deal_command`        dealCommand(qybh, jkxlh, jkid, sXmlDoc) over SOAP.

Every answer is classified into an `Outcome` whose `kind` tells the delivery queue what to
do next:

    ok         delivered; `platform_id` is the platform's id when it gives one (throughId).
    duplicate  the platform already has this record: delivered (an earlier answer was lost).
    rejected   permanent: the platform (or the local mapping) refuses this record; retrying
               the same record cannot help. `message_zh` / `message_en` say why.
    retry      transient: timeout, 5xx, rate limit, an answer that is not understood.
               `unreachable` is True when the platform itself looks down (no connection,
               502/503/504): pause the platform and probe instead of retrying every record.
    auth       credentials refused or the token expired: renew the token and retry once;
               if it persists the platform configuration is wrong (pause and alarm).

Field names and codes are the platforms' own (pinyin abbreviations); where public sources
do not show a value's encoding the choice is marked [inferred] and kept in one place.
`mask` removes secrets from anything that goes into an attempt record or a log.
"""
import base64
import collections
import datetime
import hashlib
import json
import re
import xml.etree.ElementTree as ElementTree
from urllib.parse import quote, unquote_plus

from . import codes
from .errors import Hj1321Error

CANONICAL_JSON = 'canonical_json'
HENAN = 'henan_transport_control'
HEBEI = 'hebei_integrated'
SOAP = 'soap_deal_command'
ADAPTERS = (CANONICAL_JSON, HENAN, HEBEI, SOAP)

OK = 'ok'
DUPLICATE = 'duplicate'
REJECTED = 'rejected'
RETRY = 'retry'
AUTH = 'auth'
OUTCOMES = (OK, DUPLICATE, REJECTED, RETRY, AUTH)
DELIVERED = frozenset([OK, DUPLICATE])

# What each adapter can carry. canonical_json takes every canonical kind; the others
# only what their platforms have an operation for.
SUPPORTED = {
    CANONICAL_JSON: ('passage', 'vehicle', 'in_plant_vehicle', 'machinery', 'gate',
                     'gate_status'),
    HENAN: ('passage', 'gate_status'),
    HEBEI: ('passage',),
    SOAP: ('passage', 'vehicle', 'gate_status'),
}
# Adapters that send the picture bytes (base64) rather than a digest or a URL: build the
# canonical record with embed_pictures=True for them.
PICTURE_BYTES = frozenset([CANONICAL_JSON, HENAN, SOAP])

_DUPLICATE_TEXT = re.compile(r'已存在|重复|已有此|已上传|已接收|duplicate|already', re.I)
_AUTH_TEXT = re.compile(r'token|令牌|授权|未登录|登录失效|unauthori[sz]ed|access.?denied|'
                        r'序列号非法|credential', re.I)
_TRANSIENT_TEXT = re.compile(r'繁忙|稍后|超时|timeout|temporar|unavailable|系统异常|服务器异常',
                             re.I)
SNIPPET = 200


class BuildError(Hj1321Error):
    """A canonical record this adapter cannot map (missing plate, picture not embedded...).

    Sending it is refused locally (outcome 'rejected', code 'build.*'); it can be built
    again once the ledger record is completed (a person corrects the plate...)."""


class UnsupportedKind(ValueError):
    """The adapter has no operation for this kind of record (see SUPPORTED)."""


_OutcomeBase = collections.namedtuple(
    '_OutcomeBase', 'kind message_zh message_en platform_id code http_status unreachable '
                    'retry_after data')


class Outcome(_OutcomeBase):
    """How one answer (or the lack of one) was classified; see the module docstring."""
    __slots__ = ()

    def __new__(cls, kind, message_zh='', message_en='', platform_id=None, code=None,
                http_status=None, unreachable=False, retry_after=None, data=None):
        if kind not in OUTCOMES:
            raise ValueError('unknown outcome %r' % (kind,))
        return super(Outcome, cls).__new__(cls, kind, message_zh, message_en, platform_id,
                                           code, http_status, unreachable, retry_after, data)

    @property
    def delivered(self):
        """True for ok and duplicate: the platform has the record."""
        return self.kind in DELIVERED

    def message(self, lang='en_US'):
        return self.message_zh if (lang or '').startswith('zh') else self.message_en


def supports(adapter, kind):
    """True when `adapter` has an operation for canonical records of `kind`."""
    return kind in SUPPORTED.get(adapter, ())


def check_supported(adapter, kind):
    if adapter not in SUPPORTED:
        raise ValueError('unknown adapter %r (known: %s)' % (adapter, ', '.join(ADAPTERS)))
    if not supports(adapter, kind):
        raise UnsupportedKind('adapter %s cannot send %s records (it sends: %s)'
                              % (adapter, kind, ', '.join(SUPPORTED[adapter])))


def needs_picture_bytes(adapter):
    """True when the adapter sends picture bytes (build with embed_pictures=True)."""
    return adapter in PICTURE_BYTES


def dependency(adapter, kind, record):
    """The record_id that must be delivered before this one, or None.

    Only Hebei pairs records: an exit carries the throughId the platform gave its entry,
    so a paired exit waits for its entry's upload."""
    if adapter == HEBEI and kind == 'passage' and record.get('direction') == '2':
        return record.get('entry_record_id')
    return None


# Back-off of one record after consecutive transient failures, as queue_job's
# retry_pattern: {from failure n: seconds}. An unreachable platform is paused and probed
# instead, so these delays are for records the platform answered badly.
RETRY_PATTERN = {1: 60, 3: 300, 5: 900, 8: 3600}


def retry_delay(failures, retry_after=None, pattern=None):
    """Seconds before the next try after `failures` (>= 1) consecutive transient
    failures; a platform's Retry-After wins when it asks for longer."""
    pattern = pattern or RETRY_PATTERN
    delay = 0
    for start in sorted(pattern):
        if failures >= start:
            delay = pattern[start]
    return max(delay, retry_after or 0)


def _snippet(text, limit=SNIPPET):
    text = text if isinstance(text, str) else repr(text)
    text = ' '.join(text.split())
    return text if len(text) <= limit else text[:limit] + '...'


def _build_error(code, zh, en, **params):
    return BuildError('build.' + code, zh, en, **params)


# ---- outcomes shared by every adapter ------------------------------------------------

def retry_after_seconds(headers):
    """Retry-After in seconds (the delay form only), or None."""
    value = (headers or {}).get('Retry-After') or (headers or {}).get('retry-after')
    try:
        return max(0, int(str(value).strip()))
    except (TypeError, ValueError):
        return None


def classify_http(status, text='', headers=None):
    """The outcome an HTTP status implies by itself, or None when the body decides.

    2xx: None. 401/403: auth. 408/425/429: retry (429 with Retry-After). 502/503/504:
    retry, platform unreachable. Other 5xx: retry. Other 4xx: rejected with the body."""
    if 200 <= status < 300:
        return None
    body = _snippet(text or '')
    if status in (401, 403):
        return Outcome(AUTH, '平台拒绝了凭据（HTTP %d）：%s' % (status, body),
                       'the platform refused the credentials (HTTP %d): %s' % (status, body),
                       code='http.%d' % status, http_status=status)
    if status in (408, 425, 429):
        return Outcome(RETRY, '平台要求稍后重试（HTTP %d）' % status,
                       'the platform asks to retry later (HTTP %d)' % status,
                       code='http.%d' % status, http_status=status,
                       retry_after=retry_after_seconds(headers))
    if status in (502, 503, 504):
        return Outcome(RETRY, '平台暂时不可用（HTTP %d）' % status,
                       'the platform is unavailable (HTTP %d)' % status,
                       code='http.%d' % status, http_status=status, unreachable=True,
                       retry_after=retry_after_seconds(headers))
    if status >= 500:
        return Outcome(RETRY, '平台内部错误（HTTP %d）：%s' % (status, body),
                       'platform error (HTTP %d): %s' % (status, body),
                       code='http.%d' % status, http_status=status)
    return Outcome(REJECTED, '平台拒收（HTTP %d）：%s' % (status, body),
                   'the platform refused the request (HTTP %d): %s' % (status, body),
                   code='http.%d' % status, http_status=status)


def garbage(text, http_status=None):
    """An answer that is not what the platform should send: retry, it may be a proxy page."""
    body = _snippet(text or '')
    return Outcome(RETRY, '平台应答无法识别：%s' % (body or '（空）'),
                   'the platform answer is not understood: %s' % (body or '(empty)'),
                   code='answer.garbage', http_status=http_status)


def _json(text):
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _by_text(code, message, http_status, platform_id=None, data=None, ok_codes=()):
    """Classify a platform's (code, message) pair that is not a plain success."""
    message = message if isinstance(message, str) else ('' if message is None else str(message))
    shown = message or str(code)
    if _DUPLICATE_TEXT.search(message):
        return Outcome(DUPLICATE, '平台已有此记录：%s' % shown,
                       'the platform already has this record: %s' % shown,
                       platform_id=platform_id, code='platform.%s' % code,
                       http_status=http_status, data=data)
    if _AUTH_TEXT.search(message):
        return Outcome(AUTH, '平台拒绝了凭据或令牌：%s' % shown,
                       'the platform refused the credentials or token: %s' % shown,
                       code='platform.%s' % code, http_status=http_status)
    if _TRANSIENT_TEXT.search(message) or str(code).startswith('5') \
            or str(code).startswith('-'):
        return Outcome(RETRY, '平台暂时无法处理：%s' % shown,
                       'the platform could not process it now: %s' % shown,
                       code='platform.%s' % code, http_status=http_status)
    return Outcome(REJECTED, '平台拒收：%s' % shown, 'the platform refused the record: %s' % shown,
                   code='platform.%s' % code, http_status=http_status)


# ---- secrets ---------------------------------------------------------------------------

MASK = '***'
_SECRET_KEYS = frozenset([
    'password', 'passwd', 'pwd', 'passenc', 'secret', 'clientsecret', 'token', 'accesstoken',
    'refreshtoken', 'idtoken', 'authorization', 'proxyauthorization', 'apikey', 'xapikey',
    'jkxlh', 'salt', 'cookie', 'setcookie', 'signature', 'apisignature', 'sign'])
_SECRET_SUFFIXES = ('password', 'secret', 'token')
_KEY_WORDS = (r'password|passwd|pwd|client_?secret|secret|access_?token|refresh_?token|'
              r'token|jkxlh|salt|api_?key|signature')
_TEXT_PATTERNS = (
    # "password": "..." in JSON text
    (re.compile(r'("(?:%s)"\s*:\s*)"(?:[^"\\]|\\.)*"' % _KEY_WORDS, re.I), r'\1"***"'),
    # password=... in form bodies and query strings
    (re.compile(r'(\b(?:%s)=)[^&\s"\']+' % _KEY_WORDS, re.I), r'\1***'),
    # <jkxlh>...</jkxlh> in XML / SOAP
    (re.compile(r'(<(?:[\w.-]+:)?(%s)>)[^<]*(</)' % _KEY_WORDS, re.I), r'\1***\3'),
    # Authorization headers as text, Bearer / Basic credentials anywhere
    (re.compile(r'\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*', re.I), r'\1 ***'),
    (re.compile(r'((?:Proxy-)?Authorization\s*[:=]\s*)(?!Bearer |Basic )[^\s,;]+', re.I),
     r'\1***'),
)


# Text that cannot hold a secret pattern skips the substitutions (dumps of whole records
# are masked for every attempt: most strings are plates, times and codes).
_MAYBE_SECRET = re.compile(r'pass|pwd|secret|token|jkxlh|salt|key|sign|bearer|basic|authori',
                           re.I)


def _secret_key(key):
    folded = re.sub(r'[^a-z0-9]', '', str(key).lower())
    return folded in _SECRET_KEYS or folded.endswith(_SECRET_SUFFIXES)


def _mask_text(text, secrets):
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    if _MAYBE_SECRET.search(text):
        for pattern, replacement in _TEXT_PATTERNS:
            text = pattern.sub(replacement, text)
    return text


def mask(obj, secrets=()):
    """A copy of `obj` (dicts, lists, text, bytes) with secrets replaced by '***'.

    Values under secret-looking keys (password, client_secret, token, access_token,
    Authorization, jkxlh, ...) are masked whatever their value; text is scrubbed of
    `secrets` (the configured password, client secret, current tokens: pass them when
    known, it is the only sure way) and of secrets in JSON, form, XML and header text.
    """
    secrets = sorted({s for s in secrets if isinstance(s, str) and len(s) >= 4},
                     key=len, reverse=True)
    return _mask(obj, secrets)


def _mask(obj, secrets):
    if isinstance(obj, dict):
        result = {}
        for key, value in obj.items():
            if _secret_key(key) and value not in (None, '', False):
                if str(key).lower() in ('authorization', 'proxy-authorization') \
                        and isinstance(value, str) and ' ' in value:
                    result[key] = value.split(' ', 1)[0] + ' ' + MASK
                else:
                    result[key] = MASK
            else:
                result[key] = _mask(value, secrets)
        return result
    if isinstance(obj, (list, tuple)):
        return [_mask(value, secrets) for value in obj]
    if isinstance(obj, (bytes, bytearray)):
        return _mask_text(bytes(obj).decode('utf-8', 'replace'), secrets)
    if isinstance(obj, str):
        return _mask_text(obj, secrets)
    return obj


_BASE64_TEXT = re.compile(r'\A(?:data:[\w/+.-]+;base64,)?[A-Za-z0-9+/\r\n]+={0,2}\Z')


def _pictures_out(obj, limit):
    """Long base64 (pictures, data: URIs) -> '<base64 N chars sha256=...>'."""
    if isinstance(obj, dict):
        return {key: _pictures_out(value, limit) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_pictures_out(value, limit) for value in obj]
    if isinstance(obj, str) and len(obj) > limit and _BASE64_TEXT.match(obj):
        return '<base64 %d chars sha256=%s>' % (
            len(obj), hashlib.sha256(obj.encode('ascii', 'replace')).hexdigest()[:16])
    return obj


def _cut(obj, limit):
    if isinstance(obj, dict):
        return {key: _cut(value, limit) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_cut(value, limit) for value in obj]
    if isinstance(obj, str) and len(obj) > limit:
        return obj[:limit] + '...(+%d chars)' % (len(obj) - limit)
    return obj


def shorten(obj, limit=256):
    """A copy of `obj` for dumps: long base64 (pictures) become '<base64 N chars sha256=..>',
    other long strings are cut at `limit` characters."""
    return _cut(_pictures_out(obj, limit), limit)


def dump(obj, secrets=(), limit=256):
    """Masked, shortened JSON text of a request or answer, for attempt records and logs.

    Pictures are replaced before masking (a 100 kB base64 text is no place for a secret
    and costs the most to scan), long texts are cut after it (a cut must not leave the
    first characters of a secret behind)."""
    return json.dumps(_cut(mask(_pictures_out(obj, limit), secrets), limit), ensure_ascii=False,
                      sort_keys=True, default=str)


# ---- A. canonical JSON ------------------------------------------------------------------

CANONICAL_PATHS = {
    'passage': '/passages',
    'vehicle': '/vehicles',
    'in_plant_vehicle': '/in-plant-vehicles',
    'machinery': '/machinery',
    'gate': '/gates',
    'gate_status': '/gate-status',
}
CANONICAL_HEALTH = '/health'
CANONICAL_BLACKLIST = '/blacklist'
CANONICAL_STRATEGIES = '/strategies'


def canonical_request(record):
    """(path, headers, body) of a canonical record's POST; the body is the record itself.

    The Idempotency-Key header is the record_id percent-encoded (UTF-8), since header
    values are Latin-1 and register ids carry plates (冀B12345)."""
    check_supported(CANONICAL_JSON, record.get('kind'))
    return (CANONICAL_PATHS[record['kind']],
            {'Idempotency-Key': quote(record['record_id'], safe='/@:'),
             'X-Enterprise-Code': quote(record['enterprise_code'], safe='')},
            record)


def parse_canonical(status, text, headers=None):
    """Outcome of a canonical POST.

    The platform answers 201/200 {"status": "accepted", "id": ...}; 200/409 {"status":
    "duplicate", "id": ...}; 400/422 {"status": "rejected", "code", "message",
    "message_zh"}; 401 auth; 429/5xx retry."""
    if status not in (400, 409, 422):
        simple = classify_http(status, text, headers)
        if simple is not None:
            return simple
    body = _json(text)
    if not isinstance(body, dict) or 'status' not in body:
        if status in (400, 409, 422):
            return classify_http(status, text, headers)
        return garbage(text, status)
    state = body.get('status')
    platform_id = body.get('id')
    platform_id = str(platform_id) if platform_id not in (None, '') else None
    if state == 'accepted':
        return Outcome(OK, '平台已接收', 'accepted by the platform', platform_id=platform_id,
                       http_status=status)
    if state == 'duplicate':
        return Outcome(DUPLICATE, '平台已有此记录（按已送达处理）',
                       'the platform already had this record (counts as delivered)',
                       platform_id=platform_id, code='platform.duplicate', http_status=status)
    if state == 'rejected':
        en = body.get('message') or body.get('message_en') or body.get('code') or 'rejected'
        zh = body.get('message_zh') or en
        return Outcome(REJECTED, '平台拒收：%s' % zh, 'the platform refused the record: %s' % en,
                       code='platform.%s' % (body.get('code') or 'rejected'), http_status=status)
    return garbage(text, status)


def _items(text, status, headers, kind):
    simple = classify_http(status, text, headers)
    if simple is not None:
        return simple, None
    body = _json(text)
    items = body.get('items') if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return garbage(text, status), None
    return None, items


def _platform_time(value, field, tz):
    """A platform time ('yyyy-MM-dd HH:mm:ss' local, or ISO 8601 with offset) as Odoo's
    naive UTC text, None for null."""
    if value in (None, ''):
        return None
    text = str(value).strip().replace('T', ' ')
    match = re.match(r'\A(\d{4}-\d{2}-\d{2})(?: (\d{2}:\d{2}(?::\d{2})?))?(Z|[+-]\d{2}:?\d{2})?\Z',
                     text)
    if not match:
        raise ValueError('%s: %r is not a time' % (field, value))
    day, clock, offset = match.groups()
    clock = clock or '00:00:00'
    if len(clock) == 5:
        clock += ':00'
    moment = datetime.datetime.strptime('%s %s' % (day, clock), '%Y-%m-%d %H:%M:%S')
    if offset == 'Z':
        zone = datetime.timezone.utc
    elif offset:
        sign = -1 if offset[0] == '-' else 1
        digits = offset[1:].replace(':', '')
        zone = datetime.timezone(sign * datetime.timedelta(hours=int(digits[:2]),
                                                           minutes=int(digits[2:])))
    else:
        zone = tz
    return moment.replace(tzinfo=zone).astimezone(datetime.timezone.utc).strftime(
        '%Y-%m-%d %H:%M:%S')


_CST = datetime.timezone(datetime.timedelta(hours=8))
_LEVELS = {'1': 'yellow', '2': 'orange', '3': 'red',
           'yellow': 'yellow', 'orange': 'orange', 'red': 'red'}


def parse_blacklist(status, text, headers=None, tz=_CST):
    """Outcome of GET {base}/blacklist; `data` is the list of entries (plain dicts):
    {platform_id, plate, plate_color, source, reason, valid_from, valid_to} with times as
    naive UTC 'YYYY-MM-DD HH:MM:SS' (platform local time is China Standard Time unless
    the value has an offset). Entries that cannot be read are left out and counted in
    the message (`code` 'blacklist.partial')."""
    problem, items = _items(text, status, headers, 'blacklist')
    if problem:
        return problem
    entries, bad = [], []
    for index, item in enumerate(items):
        try:
            plate = str(item.get('plate') or '').strip()
            if not plate:
                raise ValueError('plate is missing')
            color = item.get('plate_color')
            if color not in (None, '') and not codes.is_valid('plate_color', str(color)):
                raise ValueError('plate_color %r is not a code' % color)
            entries.append({
                'platform_id': None if item.get('id') in (None, '') else str(item['id']),
                'plate': plate,
                'plate_color': None if color in (None, '') else str(color),
                'source': item.get('source') or None,
                'reason': item.get('reason') or None,
                'valid_from': _platform_time(item.get('valid_from'), 'valid_from', tz),
                'valid_to': _platform_time(item.get('valid_to'), 'valid_to', tz),
            })
        except (ValueError, TypeError, AttributeError) as exc:
            bad.append('#%d: %s' % (index, exc))
    return _pull_outcome('超标车辆名单', 'blacklist', entries, bad, status)


def parse_strategies(status, text, headers=None, tz=_CST):
    """Outcome of GET {base}/strategies; `data` is the list of emergency strategies in the
    gate box's row shape: {platform_id, name, level ('yellow'/'orange'/'red'),
    date_start, date_end (naive UTC text), rules [{max_stage, fuels, vehicle_classes,
    categories, action}] or None (the level's default rules), exempt_flags,
    exempt_plates}."""
    problem, items = _items(text, status, headers, 'strategies')
    if problem:
        return problem
    entries, bad = [], []
    for index, item in enumerate(items):
        try:
            level = _LEVELS.get(str(item.get('level') or item.get('alert_level') or ''))
            if not level:
                raise ValueError('level %r is not yellow/orange/red or 1-3'
                                 % (item.get('level') or item.get('alert_level')))
            rules = item.get('rules')
            if rules is not None:
                if not isinstance(rules, list):
                    raise ValueError('rules is not a list')
                checked = []
                for rule in rules:
                    stage = rule.get('max_stage')
                    if stage not in (None, '') and not codes.is_valid('emission_stage', str(stage)):
                        raise ValueError('max_stage %r is not a code' % stage)
                    action = rule.get('action') or 'refuse'
                    if action not in ('refuse', 'hold'):
                        raise ValueError('action %r is not refuse/hold' % action)
                    checked.append({'max_stage': None if stage in (None, '') else str(stage),
                                    'fuels': rule.get('fuels') or None,
                                    'vehicle_classes': rule.get('vehicle_classes') or None,
                                    'categories': rule.get('categories') or None,
                                    'action': action})
                rules = checked
            entries.append({
                'platform_id': None if item.get('id') in (None, '') else str(item['id']),
                'name': item.get('name') or None,
                'level': level,
                'date_start': _platform_time(item.get('date_start'), 'date_start', tz),
                'date_end': _platform_time(item.get('date_end'), 'date_end', tz),
                'rules': rules,
                'exempt_flags': item.get('exempt_flags'),
                'exempt_plates': list(item.get('exempt_plates') or []),
            })
        except (ValueError, TypeError, AttributeError) as exc:
            bad.append('#%d: %s' % (index, exc))
    return _pull_outcome('管控策略', 'strategies', entries, bad, status)


def _pull_outcome(name_zh, name_en, entries, bad, status):
    if bad:
        shown = '; '.join(bad[:5])
        return Outcome(OK, '取得%s %d 条，%d 条无法识别已跳过：%s' % (name_zh, len(entries), len(bad),
                                                               shown),
                       'got %d %s entries, skipped %d not understood: %s'
                       % (len(entries), name_en, len(bad), shown),
                       code='%s.partial' % name_en, http_status=status, data=entries)
    return Outcome(OK, '取得%s %d 条' % (name_zh, len(entries)),
                   'got %d %s entries' % (len(entries), name_en), http_status=status,
                   data=entries)


# ---- B. Henan transportControl ---------------------------------------------------------

HENAN_BASE = '/restapi/transportControl/'
HENAN_ENDPOINTS = {
    'getAccessToken': 'get_data',
    'getCheckVehicle': 'get_data',
    'shareDrivingRecord': 'put_data',
    'sharePhotoInfo': 'put_file',
    'putdcstatus': 'put_data',
}
HENAN_OK = '200'
HENAN_TOKEN_TTL = 2 * 3600          # the platform's tokens live 2 h
# picture number suffix and type code per picture kind [inferred: sources show the
# fields zpbh/zplx, not their values]
HENAN_PHOTO_TYPES = {'front': '1', 'body': '2', 'plate': '3'}


def henan_path(ipctype):
    return HENAN_BASE + HENAN_ENDPOINTS[ipctype]


def henan_envelope(organ, ipctype, value, access_token=None):
    """The request body: {"organ", "ipctype", "access_token", "value"} (no token for
    getAccessToken)."""
    body = {'organ': organ, 'ipctype': ipctype}
    if ipctype != 'getAccessToken':
        body['access_token'] = access_token or ''
    body['value'] = value
    return body


def henan_token_value(username, password):
    return {'username': username or '', 'password': password or ''}


def _data_uri(entry):
    """data:image/jpeg;base64,... of a canonical picture entry; BuildError without bytes."""
    if not entry.get('base64'):
        raise _build_error(
            'picture_not_embedded', '照片 %s 未附带内容（需以 embed_pictures=True 生成标准记录）'
            % entry.get('kind'),
            'picture %s has no bytes (build the canonical record with embed_pictures=True)'
            % entry.get('kind'), kind=entry.get('kind'))
    return 'data:%s;base64,%s' % (entry.get('mime') or 'image/jpeg', entry['base64'])


def _picture(record, kind, pictures_key='pictures'):
    for entry in record.get(pictures_key) or ():
        if entry.get('kind') == kind:
            return entry
    return None


def _plate(record):
    plate = record.get('plate')
    if not plate:
        raise _build_error('plate_missing', '车牌号未识别，须人工核实后再上传',
                           'the plate was not read: a person must confirm it before upload')
    return plate


def _qty(value):
    if value is None:
        return ''
    return ('%.1f' % value).rstrip('0').rstrip('.') if value != int(value) else str(int(value))


def henan_driving_record(record):
    """`value` of shareDrivingRecord for a canonical passage.

    Both key sets platforms of this family read are sent (pinyin: lsh, qybh, dzbh, cphm,
    cpys, tgsjq, tgsjz, tgzt...; and serialNum, enterpriseId, gateCodeB, license,
    licenseColor, inOutComStatus, date), as the gate clients in the field do."""
    check_supported(HENAN, record.get('kind'))
    plate = _plate(record)
    vehicle = record.get('vehicle') or {}
    cargo = record.get('cargo') or {}
    serial = record['platform_serial']
    front, body = _picture(record, 'front'), _picture(record, 'body')
    licence = _picture(vehicle, 'license')
    emission_list = _picture(vehicle, 'list')
    return {
        'lsh': serial,
        'qybh': record['enterprise_code'],
        'qymc': record.get('enterprise_name') or '',
        'dzbh': record['barrier_no'],
        'cphm': plate,
        'cpys': record.get('plate_color') or '',
        'tgsjq': record['pass_time'],
        'tgsjz': record['pass_time'],
        'bgzt': record.get('lift_mode') or '',
        'tgzt': record['direction'],
        'serialNum': serial,
        'enterpriseId': record['enterprise_code'],
        'entranceGateCode': record.get('gate_code') or '',
        'gateCodeB': record['barrier_no'],
        'inOutComStatus': record['direction'],
        'date': record['pass_time'],
        'license': plate,
        'licenseColor': record.get('plate_color') or '',
        'cdmc': vehicle.get('fleet_name') or '',
        'vin': vehicle.get('vin') or '',
        'registerDate': vehicle.get('registration_date') or '',
        'model': vehicle.get('brand_model') or '',
        'fuelType': vehicle.get('fuel_type') or '',
        'emissionStandard': vehicle.get('emission_stage') or '',
        'useCharacter': vehicle.get('use_nature') or '',
        'networkStatus': vehicle.get('networked') or '',
        'hwmc': cargo.get('name') or '',
        'ysl': cargo.get('quantity') if cargo.get('quantity') is not None else 0,
        'ysldw': cargo.get('unit') or '',
        'gkjg': record['control_result'],
        'drivingLicenseImg': _data_uri(licence) if licence else '',
        'drivingLicenseImg2': _data_uri(emission_list) if emission_list else '',
        'imgURL1': _data_uri(front) if front else '',
        'imgURL2': _data_uri(body) if body else '',
    }


def henan_photos(record):
    """`value`s of sharePhotoInfo, one per passage picture (front, body, plate)."""
    check_supported(HENAN, record.get('kind'))
    plate = _plate(record)
    serial = record['platform_serial']
    values = []
    for entry in record.get('pictures') or ():
        kind = entry['kind']
        number = '%s_%s' % (serial, HENAN_PHOTO_TYPES[kind])
        uri = _data_uri(entry)
        values.append({
            'lsh': serial, 'qybh': record['enterprise_code'],
            'qymc': record.get('enterprise_name') or '', 'dzbh': record['barrier_no'],
            'cphm': plate, 'cpys': record.get('plate_color') or '',
            'zpbh': number, 'zplx': HENAN_PHOTO_TYPES[kind], 'base64Image': uri,
            'pzsj': record['pass_time'],
            'serialNum': serial, 'enterpriseID': record['enterprise_code'],
            'companyName': record.get('enterprise_name') or '', 'gateCodeB': record['barrier_no'],
            'license': plate, 'licenseColor': record.get('plate_color') or '',
            'imageNum': number, 'imageType': HENAN_PHOTO_TYPES[kind], 'imageTime': record['pass_time'],
        })
    return values


def henan_dc_status(record):
    """`value` of putdcstatus for a canonical gate_status: [{dzbh, bgzt, vlpzt}].

    bgzt (barrier) and vlpzt (plate camera): '0' working, '1' fault [inferred: gate
    clients send '0' in their heartbeat]; an unknown part of an online lane counts as
    working, everything of an offline lane as fault."""
    check_supported(HENAN, record.get('kind'))

    def _state(ok):
        if not record['online']:
            return '1'
        return '1' if ok is False else '0'
    return [{'dzbh': record['barrier_no'], 'bgzt': _state(record.get('barrier_ok')),
             'vlpzt': _state(record.get('camera_ok'))}]


def henan_check_vehicle(enterprise_code, plate, plate_color, barrier_no=''):
    """`value` of getCheckVehicle."""
    return {'license': plate, 'licenseColor': plate_color or '', 'enterpriseID': enterprise_code,
            'gateCodeB': barrier_no or ''}


def _coded_body(status, text, headers):
    """(problem, body) of a JSON answer that must carry a `code` (Henan, Hebei)."""
    simple = classify_http(status, text, headers)
    if simple is not None:
        return simple, None
    body = _json(text)
    if not isinstance(body, dict) or 'code' not in body:
        return garbage(text, status), None
    return None, body


def parse_henan(status, text, headers=None):
    """Outcome of a put_data / put_file call: code "200" ok; otherwise by `status` text
    (duplicate, token, transient or a rejection with the platform's words)."""
    problem, body = _coded_body(status, text, headers)
    if problem:
        return problem
    code = str(body.get('code'))
    if code == HENAN_OK:
        return Outcome(OK, '平台已接收', 'accepted by the platform', http_status=status,
                       data=body.get('value'))
    message = body.get('status') or body.get('msg') or body.get('message')
    if code in ('401', '403') and not _DUPLICATE_TEXT.search(str(message or '')):
        shown = message or code
        return Outcome(AUTH, '平台拒绝了令牌：%s' % shown, 'the platform refused the token: %s' % shown,
                       code='platform.%s' % code, http_status=status)
    return _by_text(code, message, status)


def parse_henan_token(status, text, headers=None):
    """Outcome of getAccessToken; `data` = {'access_token', 'datetime'} when ok.

    The token and the platform's time are at the top level of the answer (some
    platforms nest them in `value`: both are read)."""
    problem, body = _coded_body(status, text, headers)
    if problem:
        return problem
    code = str(body.get('code'))
    if code != HENAN_OK:
        outcome = _by_text(code, body.get('status') or body.get('msg'), status)
        if outcome.kind in (REJECTED, DUPLICATE):    # a refused login is a credentials problem
            return Outcome(AUTH, '登录失败：%s' % outcome.message_zh,
                           'login refused: %s' % outcome.message_en, code=outcome.code,
                           http_status=status)
        return outcome
    value = body.get('value') if isinstance(body.get('value'), dict) else {}
    token = body.get('access_token') or value.get('access_token')
    if not token:
        return garbage(text, status)
    return Outcome(OK, '已取得令牌', 'token obtained', http_status=status,
                   data={'access_token': str(token),
                         'datetime': body.get('datetime') or value.get('datetime')})


def parse_henan_check(status, text, headers=None):
    """Outcome of getCheckVehicle; when ok `data` = {'allowed', 'reason', 'vehicle':
    {vin, registration_date, brand_model, fuel_type, emission_stage, use_nature,
    fleet_name}} (isControl '0' = may pass)."""
    problem, body = _coded_body(status, text, headers)
    if problem:
        return problem
    code = str(body.get('code'))
    if code != HENAN_OK:
        return _by_text(code, body.get('status') or body.get('msg'), status)
    value = body.get('value')
    if isinstance(value, str):          # some platforms send the value as JSON text
        value = _json(value)
    if not isinstance(value, dict) or 'isControl' not in value:
        return garbage(text, status)
    allowed = str(value.get('isControl')) == '0'
    reason = value.get('controlReason') or None
    vehicle = {
        'vin': value.get('vin') or None,
        'registration_date': (str(value.get('registerDate'))[:10] or None)
        if value.get('registerDate') else None,
        'brand_model': value.get('model') or None,
        'fuel_type': value.get('fuelType') or value.get('fueltype') or None,
        'emission_stage': value.get('emissionStandard') or None,
        'use_nature': value.get('useCharacter') or None,
        'fleet_name': value.get('cdmc') or None,
    }
    zh = '平台准许通行' if allowed else '平台管控：%s' % (reason or '不准通行')
    en = 'the platform lets it pass' if allowed else 'controlled by the platform: %s' % (
        reason or 'may not pass')
    return Outcome(OK, zh, en, http_status=status,
                   data={'allowed': allowed, 'reason': reason, 'vehicle': vehicle})


# ---- C. Hebei integrated platform ------------------------------------------------------

HEBEI_TOKEN_PATH = '/api/api-auth/oauth/user/passEncToken'
HEBEI_UPLOAD_PATH = '/api/api-low-emission/access/upload-control-vehicles'
HEBEI_OK = '10000'


def hebei_token_request(username, password, client_id, client_secret):
    """(headers, form) of the token request. `password` is sent as configured: the
    platform hands plants the encrypted form (passEnc) to use."""
    return ({'Client_id': client_id or '', 'Client_secret': client_secret or ''},
            {'username': username or '', 'password': password or ''})


def _picture_url(entry, record, picture_url):
    if not entry:
        return None
    if entry.get('url'):
        return entry['url']
    if picture_url:
        return picture_url.format(sha256=entry['sha256'], kind=entry['kind'],
                                  serial=record.get('serial') or '',
                                  record_id=record.get('record_id') or '')
    return None


def hebei_upload(record, through_id=None, picture_url=None):
    """The JSON body of upload-control-vehicles for a canonical passage.

    Entry: entranceNumber, entranceGateNumber, carInTime, entryHeadPic, entryBodyPic,
    entryTransportedName/Value; exit: exportNumber, exportGateNumber, carOutTime,
    factoryHeadPic, factoryBodyPic, factoryTransportedName/Value and throughId (the
    entry's, '' for an exit without entry). Pictures are URLs: the picture's `url`, or
    `picture_url` formatted with {sha256}, {kind}, {serial}, {record_id}."""
    check_supported(HEBEI, record.get('kind'))
    plate = _plate(record)
    vehicle = record.get('vehicle') or {}
    cargo = record.get('cargo') or {}
    head = _picture_url(_picture(record, 'front'), record, picture_url)
    body_pic = _picture_url(_picture(record, 'body'), record, picture_url)
    body = {}
    if record['direction'] == '1':
        body.update({'entranceNumber': record.get('gate_code') or '',
                     'entranceGateNumber': record['barrier_no'],
                     'carInTime': record['pass_time']})
        if head:
            body['entryHeadPic'] = head
        if body_pic:
            body['entryBodyPic'] = body_pic
        if cargo.get('name'):
            body['entryTransportedName'] = cargo['name']
            body['entryTransportedValue'] = cargo.get('quantity') or 0
    else:
        body.update({'exportNumber': record.get('gate_code') or '',
                     'exportGateNumber': record['barrier_no'],
                     'carOutTime': record['pass_time'],
                     'throughId': through_id or ''})
        if head:
            body['factoryHeadPic'] = head
        if body_pic:
            body['factoryBodyPic'] = body_pic
        if cargo.get('name'):
            body['factoryTransportedName'] = cargo['name']
            body['factoryTransportedValue'] = cargo.get('quantity') or 0
    body.update({
        'carPlate': plate,
        'carPalteColor': record.get('plate_color') or '',      # sic: the platform's key
        'dischargeStage': vehicle.get('emission_stage') or '',
        'carType': vehicle.get('vehicle_type') or '',
        'carIdCode': vehicle.get('vin') or '',
        'registrationDate': vehicle.get('registration_date') or '',
        'brand': vehicle.get('brand_model') or '',
        'carFuel': vehicle.get('fuel_type') or '',
        'networkingStatus': vehicle.get('networked') or '',
        'carUseNature': vehicle.get('use_nature') or '',
        'motorcadeName': vehicle.get('fleet_name') or vehicle.get('owner') or '',
    })
    accompany = _picture_url(_picture(vehicle, 'list'), record, picture_url)
    driving = _picture_url(_picture(vehicle, 'license'), record, picture_url)
    if accompany:
        body['accompanyPicture'] = accompany
    if driving:
        body['drivingPicture'] = driving
    return body


def parse_hebei_token(status, text, headers=None):
    """Outcome of passEncToken; `data` = {'access_token', 'expires_in'} when ok."""
    problem, body = _coded_body(status, text, headers)
    if problem:
        return problem
    code = str(body.get('code'))
    data = body.get('data') if isinstance(body.get('data'), dict) else {}
    if code != HEBEI_OK:
        shown = body.get('msg') or code
        return Outcome(AUTH, '取得令牌失败：%s' % shown, 'the token was refused: %s' % shown,
                       code='platform.%s' % code, http_status=status)
    if not data.get('access_token'):
        return garbage(text, status)
    expires = data.get('expires_in')
    try:
        expires = int(expires) if expires not in (None, '') else None
    except (TypeError, ValueError):
        expires = None
    return Outcome(OK, '已取得令牌', 'token obtained', http_status=status,
                   data={'access_token': str(data['access_token']), 'expires_in': expires})


def parse_hebei_upload(status, text, headers=None, through_id=None):
    """Outcome of upload-control-vehicles: code "10000" ok, `platform_id` = the throughId
    the platform returned (an entry) or the one sent (an exit); a duplicate answer gives
    the throughId of the record the platform already holds when it tells it."""
    problem, body = _coded_body(status, text, headers)
    if problem:
        return problem
    code = str(body.get('code'))
    data = body.get('data') if isinstance(body.get('data'), dict) else {}
    platform_id = data.get('throughId') or through_id or None
    platform_id = str(platform_id) if platform_id else None
    if code == HEBEI_OK:
        return Outcome(OK, '平台已接收', 'accepted by the platform', platform_id=platform_id,
                       http_status=status, data=data or None)
    message = body.get('msg') or body.get('message')
    if code in ('401', '10401', '10002') and not _DUPLICATE_TEXT.search(str(message or '')):
        shown = message or code
        return Outcome(AUTH, '平台拒绝了令牌：%s' % shown, 'the platform refused the token: %s' % shown,
                       code='platform.%s' % code, http_status=status)
    return _by_text(code, message, status, platform_id=platform_id, data=data or None)


# ---- D. SOAP dealCommand ---------------------------------------------------------------

SOAP_TIME = '%Y-%m-%d %H:%M:%S'
SOAP_OK = '1'


def soap_key(qybh, salt):
    """The interface serial key jkxlh = md5(md5(qybh + salt)), lower-case hex."""
    inner = hashlib.md5((qybh + (salt or '')).encode('utf-8')).hexdigest()
    return hashlib.md5(inner.encode('ascii')).hexdigest()


def _xml_doc(section, fields):
    """<root><section><name>urlencoded value</name>...</section></root>.

    Values are URL-encoded (UTF-8), as these XML interfaces expect: Chinese text and
    base64 ('+', '/') survive any gateway, and the platform URL-decodes what it reads."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?><root><%s>' % section]
    for name, value in fields:
        text = '' if value is None else str(value)
        parts.append('<%s>%s</%s>' % (name, quote(text, safe=''), name))
    parts.append('</%s></root>' % section)
    return ''.join(parts)


def soap_write_doc(fields):
    """sXmlDoc of a write interface: <root><vehcrpara>...</vehcrpara></root>."""
    return _xml_doc('vehcrpara', fields)


def soap_query_doc(fields):
    """sXmlDoc of a query interface: <root><QueryCondition>...</QueryCondition></root>."""
    return _xml_doc('QueryCondition', fields)


def parse_soap_doc(doc):
    """(section name, {field: decoded value}) of an sXmlDoc (the simulator reads requests
    with it). Raises ValueError for a document that is not <root><section>...</root>."""
    try:
        root = ElementTree.fromstring(doc.encode('utf-8') if isinstance(doc, str) else doc)
    except ElementTree.ParseError as exc:
        raise ValueError('sXmlDoc is not XML: %s' % exc)
    if root.tag != 'root' or len(root) != 1:
        raise ValueError('sXmlDoc must be <root> with one section')
    section = root[0]
    return section.tag, {child.tag: unquote_plus(child.text or '') for child in section}


def _base64_of(entry):
    if not entry:
        return ''
    if not entry.get('base64'):
        raise _build_error(
            'picture_not_embedded', '照片 %s 未附带内容（需以 embed_pictures=True 生成标准记录）'
            % entry.get('kind'),
            'picture %s has no bytes (build the canonical record with embed_pictures=True)'
            % entry.get('kind'), kind=entry.get('kind'))
    return entry['base64']


def soap_row_id(record_id):
    """The 32-character row id (表id) of a record: md5 of its record_id."""
    return hashlib.md5(record_id.encode('utf-8')).hexdigest()


def soap_passage(record):
    """('01W01', fields) of a canonical passage (fields: ordered (name, value) pairs)."""
    check_supported(SOAP, record.get('kind'))
    plate = _plate(record)
    vehicle = record.get('vehicle') or {}
    cargo = record.get('cargo') or {}
    serial = record['platform_serial']
    if len(serial) > 46:
        raise _build_error('serial_too_long', '流水号 %s 超过 46 个字符' % serial,
                           'serial %s is longer than 46 characters' % serial, value=serial)
    result = codes.get('control_result', record['control_result'])
    fields = [
        ('id', soap_row_id(record['record_id'])),
        ('lsh', serial),
        ('cphm', plate),
        ('cpys', record.get('plate_color') or ''),
        ('qybh', record['enterprise_code']),
        ('crkbh', record.get('gate_code') or ''),
        ('sxtbh', record.get('camera_no') or ''),
        ('dzbh', record['barrier_no']),
        ('cdh', record.get('lane_code') or ''),
        ('jclx', record['direction']),
        ('bgzt', record.get('lift_mode') or ''),
        ('tgkssj', record['pass_time']),
        ('tgjssj', record['pass_time']),
        ('cjsj', record.get('recorded_at') or record['pass_time']),
        ('ctzp', _base64_of(_picture(record, 'front'))),
        ('cszp', _base64_of(_picture(record, 'body'))),
        ('cpzp', _base64_of(_picture(record, 'plate'))),
        ('yshwmc', (cargo.get('name') or '')[:20]),
        ('ysl', _qty(cargo.get('quantity'))),
        ('ysdw', cargo.get('unit') or ''),
        ('cdmc', vehicle.get('fleet_name') or ''),
        ('pfbz', vehicle.get('emission_stage') or ''),
        ('rlzl', vehicle.get('fuel_type') or ''),
        ('syr', vehicle.get('owner') or vehicle.get('fleet_name') or ''),
        ('gkjg', result.name_zh if result else record['control_result']),
    ]
    return '01W01', fields


def soap_vehicle(record):
    """('01W02', fields) of a canonical transport vehicle (registration date and VIN are
    required by the platform)."""
    check_supported(SOAP, record.get('kind'))
    for key, zh, en in (('registration_date', '注册登记日期', 'registration date'),
                        ('vin', '车辆识别代号', 'VIN')):
        if not record.get(key):
            raise _build_error('%s_missing' % key, '车辆登记缺少%s，平台不接收' % zh,
                               'the vehicle has no %s: the platform refuses it' % en, field=key)
    licence = _picture(record, 'license')
    emission_list = _picture(record, 'list')
    fields = [
        ('qybh', record['enterprise_code']),
        ('cphm', record['plate']),
        ('cpys', record.get('plate_color') or ''),
        ('clsbdh', record['vin']),
        ('cllx', record.get('vehicle_type') or 'X99'),
        ('ccdjrq', record['registration_date']),
        ('clppxh', record.get('brand_model') or ''),
        ('fdjxh', record.get('engine_model') or ''),
        ('fdjsccj', record.get('engine_maker') or ''),
        ('fdjh', record.get('engine_no') or ''),
        ('rlzl', record.get('fuel_type') or ''),
        ('pfbz', record.get('emission_stage') or ''),
        ('syxz', record.get('use_nature') or ''),
        ('lwzt', record.get('networked') or '0'),
        ('syr', record.get('fleet_name') or record.get('owner') or ''),
        ('xszazp', _base64_of(licence)),
        ('scqdzp', _base64_of(emission_list)),
    ]
    return '01W02', fields


def soap_gate_status(record):
    """('01W06', fields) of a canonical gate_status: organ, dzbh, isonline ('1'/'0')."""
    check_supported(SOAP, record.get('kind'))
    return '01W06', [('organ', record['enterprise_code']), ('dzbh', record['barrier_no']),
                     ('isonline', '1' if record['online'] else '0')]


SOAP_BUILDERS = {'passage': soap_passage, 'vehicle': soap_vehicle,
                 'gate_status': soap_gate_status}


def soap_record(record):
    """(jkid, sXmlDoc, fields) of a canonical record."""
    check_supported(SOAP, record.get('kind'))
    jkid, fields = SOAP_BUILDERS[record['kind']](record)
    return jkid, soap_write_doc(fields), fields


def soap_heartbeat(qybh):
    """('01Q00', sXmlDoc) of the heartbeat."""
    return '01Q00', soap_query_doc([('qybh', qybh)])


def soap_whitelist(qybh):
    """('01Q04', sXmlDoc) of the whitelist query."""
    return '01Q04', soap_query_doc([('qybh', qybh)])


def soap_params(qybh, salt, jkid, doc):
    """The dealCommand parameters."""
    return {'qybh': qybh, 'jkxlh': soap_key(qybh, salt), 'jkid': jkid, 'sXmlDoc': doc}


def soap_result(code, message, rows=None, row_tag='vehcrpara'):
    """The answer document a platform returns (URL-encoded XML; used by the simulator):
    <root><head><code/><message/>[<rownum/>]</head>[<body><vehcrpara>...</vehcrpara>...</body>]</root>."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?><root><head><code>%s</code>'
             '<message>%s</message>' % (quote(str(code), safe=''), quote(message, safe=''))]
    if rows is not None:
        parts.append('<rownum>%d</rownum></head><body>' % len(rows))
        for row in rows:
            parts.append('<%s>' % row_tag)
            for name, value in row:
                parts.append('<%s>%s</%s>' % (name, quote('' if value is None else str(value),
                                                          safe=''), name))
            parts.append('</%s>' % row_tag)
        parts.append('</body></root>')
    else:
        parts.append('</head></root>')
    return quote(''.join(parts), safe='')


def _read_soap_result(text):
    """(code, message, rows) of a dealCommand answer (URL-encoded or plain XML); raises
    ValueError for anything else."""
    if text is None:
        raise ValueError('empty answer')
    text = text.decode('utf-8', 'replace') if isinstance(text, bytes) else str(text)
    text = text.strip()
    if not text.startswith('<'):
        text = unquote_plus(text).strip()
    try:
        root = ElementTree.fromstring(text.encode('utf-8'))
    except ElementTree.ParseError as exc:
        raise ValueError('not XML: %s' % exc)
    code = root.findtext('head/code')
    if code is None:
        raise ValueError('no head/code')
    message = unquote_plus(root.findtext('head/message') or '')
    rows = []
    body = root.find('body')
    if body is not None:
        for row in body:
            rows.append({child.tag: unquote_plus(child.text or '') for child in row})
    return unquote_plus(code).strip(), message, rows


def parse_soap(text, http_status=200):
    """Outcome of a dealCommand write or heartbeat: code '1' processed (or duplicate when
    the message says the platform already has it); '0' refused (auth when the key or the
    enterprise is not accepted); a negative code is a platform error (retry)."""
    try:
        code, message, rows = _read_soap_result(text)
    except ValueError:
        return garbage(text, http_status)
    if code == SOAP_OK:
        if _DUPLICATE_TEXT.search(message):
            return Outcome(DUPLICATE, '平台已有此记录：%s' % message,
                           'the platform already has this record: %s' % message,
                           code='platform.duplicate', http_status=http_status)
        return Outcome(OK, message or '处理成功', 'processed by the platform (%s)' % (message or 'ok'),
                       http_status=http_status, data=rows or None)
    return _by_text(code, message, http_status)


def parse_soap_whitelist(text, http_status=200):
    """Outcome of 01Q04; `data` = [{plate, plate_color, valid_from, valid_to, note}]."""
    outcome = parse_soap(text, http_status)
    if outcome.kind != OK:
        return outcome
    rows = outcome.data or []
    entries = [{'plate': row.get('cphm') or None, 'plate_color': row.get('cpys') or None,
                'valid_from': row.get('yxqs') or None, 'valid_to': row.get('yxqz') or None,
                'note': row.get('bz') or None} for row in rows]
    return outcome._replace(message_zh='取得白名单 %d 条' % len(entries),
                            message_en='got %d whitelist entries' % len(entries), data=entries)


def data_uri_bytes(uri):
    """The bytes of a data: URI or plain base64 text (simulators check pictures with it)."""
    if uri.startswith('data:'):
        uri = uri.split(',', 1)[1]
    return base64.b64decode(uri, validate=True)
