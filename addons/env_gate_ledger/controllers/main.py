"""HTTP ingestion endpoint for gate boxes. Thin: authentication and JSON in, model out."""
import json
import logging
import time

import psycopg2
from psycopg2 import errorcodes

from odoo import SUPERUSER_ID, api, http
from odoo.http import request

from ..hj1321 import events as event_rules
from ..hj1321.errors import Hj1321Error

_logger = logging.getLogger(__name__)


API_PREFIX = '/env_gate/api/'
_get_request = http.Root.get_request


def _get_api_request(self, httprequest):
    """Odoo 11 turns every application/json body into a JSON-RPC request; gate boxes post
    plain JSON, so our API paths stay plain HTTP requests."""
    if httprequest.path.startswith(API_PREFIX):
        return http.HttpRequest(httprequest)
    return _get_request(self, httprequest)


http.Root.get_request = _get_api_request


def _json(body, status=200):
    return http.Response(json.dumps(body, ensure_ascii=False), status=status,
                         content_type='application/json; charset=utf-8')


def _lane(what):
    """(env, lane, None) for the request's bearer lane token, or (None, None, a 401/404
    reply)."""
    if not request.db:
        return None, None, _json({'error': 'no_database', 'message': 'no database selected'},
                                 404)
    env = api.Environment(request.cr, SUPERUSER_ID, {})
    header = request.httprequest.headers.get('Authorization', '')
    token = header[7:].strip() if header.lower().startswith('bearer ') else ''
    lane = env['env.gate.lane']._authenticate(token)
    if not lane:
        _logger.warning('%s refused: unknown or missing lane token from %s', what,
                        request.httprequest.remote_addr)
        return None, None, _json({'error': 'unauthorized',
                                  'message': 'missing or unknown lane token / 车道令牌缺失或无效'},
                                 401)
    return env, lane, None


# Concurrency errors worth a new try with a fresh snapshot (Odoo runs REPEATABLE READ): the
# same event recorded by the ERP's manual lift and by the box forwarding it, a status
# report and a batch both touching the lane row.
_RETRY_CODES = (errorcodes.UNIQUE_VIOLATION, errorcodes.SERIALIZATION_FAILURE,
                errorcodes.DEADLOCK_DETECTED, errorcodes.LOCK_NOT_AVAILABLE)
_TRIES = 4


def _retrying(env, lane, what, work):
    """work() in the request's transaction, started again (rolled back, new snapshot) when
    a concurrent transaction got in the way; None when it still does after _TRIES."""
    for attempt in range(1, _TRIES + 1):
        try:
            return work()
        except psycopg2.Error as exc:
            if exc.pgcode not in _RETRY_CODES:
                raise
            env.cr.rollback()
            env.clear()
            _logger.info('lane %s: %s collided with a concurrent transaction (try %d): %s',
                         lane.code, what, attempt, str(exc).splitlines()[0])
            time.sleep(0.05 * attempt * attempt)
    _logger.warning('lane %s: %s still colliding after %d tries, answered 503', lane.code,
                    what, _TRIES)
    return None


def _busy():
    response = _json({'error': 'busy', 'message': 'the ERP is busy with the same lane; send '
                      'again', 'message_zh': 'ERP 正忙于同一车道的其他请求，请稍后重发'}, 503)
    response.headers['Retry-After'] = '2'
    return response


def _bad_request(code, message_en, message_zh):
    return _json({'error': code, 'message': message_en, 'message_zh': message_zh}, 400)


class GateApi(http.Controller):

    @http.route('/env_gate/api/v1/events', type='http', auth='none', methods=['POST'],
                csrf=False)
    def events(self, **kwargs):
        env, lane, refused = _lane('event batch')
        if refused:
            return refused
        try:
            raw_events = event_rules.parse_request(request.httprequest.get_data())
        except Hj1321Error as exc:
            return _bad_request(exc.code, exc.message_en, exc.message_zh)
        env = env(context={'lang': 'en_US', 'tz': 'Asia/Shanghai'})
        results = _retrying(env, lane, 'event batch', lambda: env['env.gate.event'].with_context(
            force_company=lane.company_id.id)._ingest(lane, raw_events))
        if results is None:
            return _busy()
        counts = {s: sum(1 for r in results if r['status'] == s)
                  for s in ('accepted', 'duplicate', 'rejected')}
        _logger.info('lane %s: %s accepted, %s duplicate, %s rejected', lane.code,
                     counts['accepted'], counts['duplicate'], counts['rejected'])
        body = dict(counts, results=results)
        return _json(body)

    @http.route('/env_gate/api/v1/sync', type='http', auth='none', methods=['GET'],
                csrf=False)
    def sync(self, since='0', **kwargs):
        """The register summary for the gate box's cache (wire format:
        env_gate_hw/gatebox/cache.py): full, or the changes after version `since`."""
        env, lane, refused = _lane('sync')
        if refused:
            return refused
        try:
            since = int(since)
            if since < 0:
                raise ValueError(since)
        except (TypeError, ValueError):
            return _bad_request('sync.bad_since', 'since must be an integer >= 0',
                                '参数 since 须为不小于0的整数')
        payload = env['env.gate.sync']._payload(lane, since)
        _logger.info('lane %s: sync since %s -> version %s%s (%s vehicles)', lane.code, since,
                     payload['version'], ' full' if payload['full'] else '',
                     len(payload['vehicles']))
        return _json(payload)

    @http.route('/env_gate/api/v1/status', type='http', auth='none', methods=['POST'],
                csrf=False)
    def status(self, **kwargs):
        """A gate box's status report: box facts, camera states, outbox counts."""
        env, lane, refused = _lane('status report')
        if refused:
            return refused
        try:
            report = json.loads(request.httprequest.get_data().decode('utf-8-sig'))
            result = _retrying(env, lane, 'status report',
                               lambda: env['env.gate.lane']._record_status(lane, report))
        except Hj1321Error as exc:      # a ValueError too: first
            return _bad_request(exc.code, exc.message_en, exc.message_zh)
        except (ValueError, UnicodeDecodeError):
            return _bad_request('status.bad_json', 'the body must be a JSON object',
                                '请求体须为 JSON 对象')
        if result is None:
            return _busy()
        return _json(result)
