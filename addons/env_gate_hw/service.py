"""Starting the gate box inside Odoo: once, and only in the box's own process.

Odoo calls `post_load` right after importing a server-wide module (`--load=...`), before
the HTTP server accepts requests. hw_scale starts its driver thread at import time,
which would also start it in any process that merely imports the module; here the box
starts only when all of these hold:

* env_gate_hw is in the server-wide modules (`--load`, or server_wide_modules in the
  config), so an ERP process that imports the add-on for any other reason starts nothing;
* the configuration has an [env_gate_hw] section (see gatebox/config.py and README.rst);
* the server is the threaded one (workers = 0: prefork workers would each need their own
  outbox writer and camera state) and not a one-shot run (--stop-after-init);
* it has not started yet in this process.

In the box process it also adjusts three things of Odoo's HTTP layer, each explained
where it is done: no database lookup per request, TCP_NODELAY on accepted connections,
and plain HTTP (not JSON-RPC) for the box's JSON endpoints.
"""
import atexit
import logging
import os
import threading

import odoo
from odoo import http

from .gatebox import config as config_module

_logger = logging.getLogger(__name__)

MODULE = 'env_gate_hw'
PATH_PREFIX = '/env_gate_hw/'
MAX_BODY = 16 * 1024 * 1024

_box = None
_lock = threading.Lock()
_problem = None


def box():
    """The running GateBox, or None (not configured, or not the box process)."""
    return _box


def problem():
    """Why the box is not running (a ConfigError or a text), or None."""
    return _problem


# Odoo 11 turns every request with an application/json body into a JSON-RPC request, and
# its form parsing consumes the body that multipart camera pushes need raw. For the box's
# paths: read (and cache) the raw body first, then make a plain HTTP request; werkzeug
# parses forms from the cached body. The ERP add-on chains the same hook for its API.
_get_request = http.Root.get_request


def _get_box_request(self, httprequest):
    if httprequest.path.startswith(PATH_PREFIX):
        httprequest.max_content_length = MAX_BODY
        httprequest.get_data()
        return http.HttpRequest(httprequest)
    return _get_request(self, httprequest)


http.Root.get_request = _get_box_request


def _no_database(self, httprequest):
    """Root.setup_db for the box: it has no database. Odoo would otherwise list the
    databases of its PostgreSQL server on every request (a camera has no session
    cookie): a connection per read, a 500 answer whenever PostgreSQL is not there (a gate
    box has none), and a session file written per read. With no db in the session,
    requests go to the server-wide modules' auth='none' routes."""
    return None


def _patch_http_for_box():
    http.Root.setup_db = _no_database
    # Werkzeug writes a response's headers and body with two send() calls; with Nagle's
    # algorithm the body can wait for the client's delayed ACK of the headers (40 ms on
    # Linux). A camera waits for this answer with its barrier closed.
    odoo.service.server.RequestHandler.disable_nagle_algorithm = True


def _warm_up_http():
    """Do now what Odoo does on the first request: import every add-on with static files
    and build the no-database routing map (about 6 s here). Otherwise the first camera
    read after a restart would wait for it with the barrier closed."""
    root = http.root
    if not root._loaded:
        root._loaded = True
        root.load_addons()
    root.nodb_routing_map     # a lazy property: built on first access


def _sections():
    return {name: dict(values) for name, values in odoo.tools.config.misc.items()}


def _register_drivers(gate_box):
    try:
        from odoo.addons.hw_proxy.controllers import main as hw_proxy
    except ImportError:     # hw_proxy not on the addons path: the box works without it
        return
    hw_proxy.drivers.update(gate_box.drivers())


def post_load():
    """Odoo's post-load hook: start the gate box when this is the box process."""
    global _box, _problem
    tools_config = odoo.tools.config
    if MODULE not in odoo.conf.server_wide_modules:
        return
    with _lock:
        if _box is not None:
            return
        sections = _sections()
        if config_module.SECTION not in sections:
            _problem = 'no [%s] section in %s' % (config_module.SECTION, tools_config.rcfile)
            _logger.warning('env_gate_hw is loaded but %s: the gate box is not started '
                            '(see addons/env_gate_hw/README.rst)', _problem)
            return
        if tools_config.get('stop_after_init'):
            return
        if tools_config.get('workers'):
            _problem = 'the gate box needs workers = 0 (threaded server)'
            _logger.critical('env_gate_hw: %s; not started', _problem)
            return
        # the box process, even when its configuration turns out wrong: then it answers
        # every request with the reason (503), which needs no database either
        _patch_http_for_box()
        try:
            base_dir = os.path.dirname(os.path.abspath(tools_config.rcfile or '.'))
            box_config = config_module.load(sections, base_dir)
        except config_module.ConfigError as exc:
            _problem = exc
            _logger.critical('env_gate_hw: configuration error, gate box not started: %s', exc)
            return
        from .gatebox.box import GateBox
        try:
            _box = GateBox(box_config).start()
        except Exception as exc:    # data dir not writable, outbox unreadable...
            _problem = '%s: %s' % (type(exc).__name__, exc)
            _logger.critical('env_gate_hw: the gate box could not start: %s', _problem,
                             exc_info=True)
            return
        _warm_up_http()
        _problem = None
        _register_drivers(_box)
        atexit.register(_stop)


def _stop():
    gate_box = _box
    if gate_box is not None:
        try:
            gate_box.stop(timeout=2.0)
        except Exception:   # at exit: report, never hang or raise
            _logger.exception('stopping the gate box')
