"""HTTP endpoints of the gate box: requests in, gatebox.box.GateBox calls, replies out.

Server-wide routes (auth='none', no database): Odoo serves them from the no-database
routing map of the modules given with --load. Business logic lives in gatebox/.
"""
import json
import logging

from odoo import http
from odoo.http import request

from .. import service
from ..gatebox.i18n import zh

_logger = logging.getLogger(__name__)

_JSON = 'application/json; charset=utf-8'


def _json(status, body):
    return http.Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                         content_type=_JSON)


def _reply(reply):
    if reply.content_type == 'text/html':
        return http.Response(reply.body, status=reply.status,
                             content_type='text/html; charset=utf-8')
    return _json(reply.status, reply.body)


def _not_running():
    problem = service.problem()
    message = 'the gate box is not running'
    return _json(503, {'error': 'box.not_running',
                       'message': message + (': %s' % problem if problem else ''),
                       'message_zh': zh(message) + ('：%s' % getattr(
                           problem, 'message_zh', problem) if problem else '')})


def _guarded(handler):
    """Run a handler against the running box; an unexpected failure is a JSON 500."""
    box = service.box()
    if box is None:
        return _not_running()
    try:
        return _reply(handler(box, request.httprequest))
    except Exception:   # the listener must keep serving whatever one request does
        _logger.exception('gate box request %s failed', request.httprequest.path)
        message = 'internal error in the gate box'
        return _json(500, {'error': 'box.internal', 'message': message,
                           'message_zh': zh(message)})


def _bearer(httprequest):
    header = httprequest.headers.get('Authorization', '')
    return header[7:].strip() if header[:7].lower() == 'bearer ' else None


class GateBoxController(http.Controller):

    @http.route('/env_gate_hw/camera/alarminfoplate', type='http', auth='none',
                methods=['POST'], csrf=False)
    def camera_alarminfoplate(self, **_params):
        return _guarded(lambda box, req: box.handle_alarminfoplate(
            req.get_data(), req.args.get('lane'), req.remote_addr))

    @http.route('/env_gate_hw/camera/hikvision', type='http', auth='none', methods=['POST'],
                csrf=False)
    def camera_hikvision(self, **_params):
        return _guarded(lambda box, req: box.handle_hikvision(
            req.headers.get('Content-Type', ''), req.get_data(), req.args.get('lane'),
            req.remote_addr))

    @http.route('/env_gate_hw/camera/heartbeat', type='http', auth='none',
                methods=['GET', 'POST'], csrf=False)
    def camera_heartbeat(self, **_params):
        def handle(box, req):
            return box.handle_heartbeat(req.args.get('lane'), req.remote_addr)
        return _guarded(handle)

    @http.route('/env_gate_hw/qr', type='http', auth='none', methods=['POST'], csrf=False)
    def qr(self, **_params):
        def handle(box, req):
            files = list(req.files.values())
            image = files[0].read() if files else req.get_data()
            content_type = files[0].content_type if files else req.headers.get('Content-Type')
            lane = req.args.get('lane') or req.form.get('lane')
            plate = req.args.get('plate') or req.form.get('plate')
            return box.handle_qr(image, lane, req.remote_addr, plate=plate,
                                 content_type=content_type)
        return _guarded(handle)

    @http.route('/env_gate_hw/barrier/open', type='http', auth='none', methods=['POST'],
                csrf=False)
    def barrier_open(self, **_params):
        def handle(box, req):
            from_form = req.mimetype in ('application/x-www-form-urlencoded',
                                         'multipart/form-data')
            if from_form:
                data = req.form.to_dict()
            else:
                try:
                    data = json.loads(req.get_data().decode('utf-8') or '{}')
                except (ValueError, UnicodeDecodeError):
                    data = None
                if not isinstance(data, dict):
                    return box.bad_request('lift.bad_json', 'the body must be a JSON object '
                                           '{"lane", "reason", "user"}',
                                           '请求体须为 JSON 对象 {"lane", "reason", "user"}')
            bearer = _bearer(req)
            refused = box.authorize_lift(data.get('lane'), bearer=bearer,
                                         password=data.get('password'))
            if refused is not None:
                return refused
            reply = box.manual_lift(data.get('lane'), data.get('reason'), data.get('user'),
                                    source='erp' if bearer else 'box',
                                    remote_addr=req.remote_addr,
                                    request_id=data.get('request_id'))
            if from_form:
                return box.lift_page(reply)
            return reply
        return _guarded(handle)

    @http.route('/env_gate_hw/status', type='http', auth='none', methods=['GET'])
    def status(self, **_params):
        return _guarded(lambda box, req: box.status_page())

    @http.route('/env_gate_hw/status.json', type='http', auth='none', methods=['GET'])
    def status_json(self, **_params):
        return _guarded(lambda box, req: box.status_reply())
