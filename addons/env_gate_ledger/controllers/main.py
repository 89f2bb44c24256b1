"""HTTP ingestion endpoint for gate boxes. Thin: authentication and JSON in, model out."""
import json
import logging

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


class GateApi(http.Controller):

    @http.route('/env_gate/api/v1/events', type='http', auth='none', methods=['POST'],
                csrf=False)
    def events(self, **kwargs):
        if not request.db:
            return _json({'error': 'no_database', 'message': 'no database selected'}, 404)
        env = api.Environment(request.cr, SUPERUSER_ID, {})
        header = request.httprequest.headers.get('Authorization', '')
        token = header[7:].strip() if header.lower().startswith('bearer ') else ''
        lane = env['env.gate.lane']._authenticate(token)
        if not lane:
            _logger.warning('event batch refused: unknown or missing lane token from %s',
                            request.httprequest.remote_addr)
            return _json({'error': 'unauthorized',
                          'message': 'missing or unknown lane token / 车道令牌缺失或无效'}, 401)
        try:
            raw_events = event_rules.parse_request(request.httprequest.get_data())
        except Hj1321Error as exc:
            return _json({'error': exc.code, 'message': exc.message_en,
                          'message_zh': exc.message_zh}, 400)
        env = env(context={'lang': 'en_US', 'tz': 'Asia/Shanghai'})
        results = env['env.gate.event'].with_context(force_company=lane.company_id.id)._ingest(
            lane, raw_events)
        counts = {s: sum(1 for r in results if r['status'] == s)
                  for s in ('accepted', 'duplicate', 'rejected')}
        _logger.info('lane %s: %s accepted, %s duplicate, %s rejected', lane.code,
                     counts['accepted'], counts['duplicate'], counts['rejected'])
        body = dict(counts, results=results)
        return _json(body)
