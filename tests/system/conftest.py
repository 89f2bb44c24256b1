"""Whole-system fixtures: a real Odoo server on loopback against the test database.

test.sh exports GATE_TEST_DB (a database with env_gate_ledger and its demo installed),
GATE_ODOO_CONF and GATE_PYTHON.
"""
import os
import socket
import subprocess
import time
import xmlrpc.client

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db, port, process, log_path):
        self.db, self.port, self.process, self.log_path = db, port, process, log_path
        self.url = 'http://127.0.0.1:%d' % port

    def rpc(self, login='admin', password='admin'):
        common = xmlrpc.client.ServerProxy(self.url + '/xmlrpc/2/common')
        uid = common.authenticate(self.db, login, password, {})
        assert uid, 'login %s failed' % login
        models = xmlrpc.client.ServerProxy(self.url + '/xmlrpc/2/object', allow_none=True)

        def call(model, method, *args, **kwargs):
            return models.execute_kw(self.db, uid, password, model, method, list(args), kwargs)
        return call


def _require_env():
    missing = [v for v in ('GATE_TEST_DB', 'GATE_ODOO_CONF', 'GATE_PYTHON') if not os.environ.get(v)]
    if missing:
        pytest.fail('run the system tests through ./test.sh (missing %s)' % ', '.join(missing))


def _wait_for_log(path, offset, text, process, deadline):
    """True once `text` is in the log file after `offset`; False when the process ended or
    the deadline passed."""
    while time.time() < deadline and process.poll() is None:
        with open(path, 'rb') as handle:
            handle.seek(offset)
            if text in handle.read():
                return True
        time.sleep(0.2)
    return False


def start_erp(db, port, log_path, ready='/web/login', timeout=120):
    """A real Odoo serving `db` on 127.0.0.1:port, once `ready` answers (see wait_ready)."""
    _require_env()
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    log = open(log_path, 'ab')
    offset = log.tell()         # the log is appended to by every start of this server
    # the web client's stylesheets need the lessc that scripts/lib.sh installs, whoever runs us
    env = dict(os.environ, PATH=os.pathsep.join(
        [os.path.join(ROOT, '.state', 'node', 'node_modules', '.bin'), os.environ.get('PATH', '')]))
    process = subprocess.Popen(
        [os.environ['GATE_PYTHON'], os.path.join(ROOT, 'bin', 'odoo'), '-c',
         os.environ['GATE_ODOO_CONF'], '-d', db, '--db-filter=^%s$' % db,
         '--http-port=%d' % port, '--http-interface=127.0.0.1', '--max-cron-threads=0'],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    server = Server(db, port, process, log_path)
    server.log = log
    if ready == '/web/login':
        # the first page compiles the web client's assets: give it time
        check = lambda: requests.get(server.url + '/web/login', timeout=60).status_code == 200  # noqa: E731
    else:
        # the ingestion endpoint answers 401 to a request without token once the
        # database's registry is loaded
        check = lambda: requests.post(server.url + '/env_gate/api/v1/events', data=b'{}',  # noqa: E731
                                      timeout=30).status_code == 401
    deadline = time.time() + timeout
    # With -d, Odoo 11 loads the database's registry at start-up while its HTTP server already
    # takes requests, and a request in that window loads a second registry alongside (it
    # once failed with "Model ... does not exist in registry"): nothing is asked before the
    # start-up load has logged "Modules loaded.".
    _wait_for_log(log_path, offset, b'Modules loaded.', process, deadline)
    while time.time() < deadline:
        if process.poll() is not None:
            pytest.fail('Odoo exited early; see %s' % log_path)
        try:
            if check():
                return server
        except requests.RequestException:
            pass
        time.sleep(0.3)
    process.kill()
    pytest.fail('Odoo did not answer within %d s; see %s' % (timeout, log_path))


def stop_process(process, timeout=20):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope='session')
def odoo_server(tmp_path_factory):
    _require_env()
    db = os.environ['GATE_TEST_DB']
    log_path = os.path.join(ROOT, 'artifacts', 'odoo-system-server.log')
    if os.path.exists(log_path):
        os.remove(log_path)
    server = start_erp(db, free_port(), log_path)
    yield server
    stop_process(server.process)
    server.log.close()


# ---------------------------------------------------------------------------------------
# The gate box (addons/env_gate_hw) as its own database-less Odoo process
# ---------------------------------------------------------------------------------------

DEMO_LANES = (('E-IN', 'in'), ('E-OUT', 'out'), ('N-IN', 'in'), ('N-OUT', 'out'))


class GateBoxProcess(object):
    """bin/odoo --load=web,hw_proxy,env_gate_hw on its own port, configured by a file in
    `directory` (its data dir too), forwarding to `erp_url`.

    Its odoo.conf points PostgreSQL at a closed port: the box must never need it.
    """

    def __init__(self, directory, erp_url, name='box', port=None, settings=None,
                 lanes=DEMO_LANES, tokens=None):
        self.directory = str(directory)
        self.erp_url = erp_url
        self.name = name
        self.port = port or free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.data_dir = os.path.join(self.directory, 'data')
        self.conf = os.path.join(self.directory, 'box.conf')
        self.log_path = os.path.join(ROOT, 'artifacts', 'gatebox-%s.log' % name)
        self.settings = {'sync_interval': '1', 'status_interval': '10', 'backoff_base': '0.2',
                         'backoff_cap': '2', 'dedup_window': '10',
                         'operator_password': 'box-operator', 'box_name': 'system test %s' % name}
        self.settings.update(settings or {})
        self.lanes = lanes
        self.tokens = tokens or {}
        self.process = None
        self._log = None
        os.makedirs(self.directory, exist_ok=True)
        self.write_conf()

    def write_conf(self):
        lines = ['[options]', 'addons_path = %s' % os.path.join(ROOT, 'addons'),
                 'data_dir = %s' % os.path.join(self.directory, 'odoo'),
                 'db_host = 127.0.0.1', 'db_port = %d' % free_port(), 'list_db = False',
                 'workers = 0', 'max_cron_threads = 0', 'log_level = info', '',
                 '[env_gate_hw]', 'erp_url = %s' % self.erp_url, 'data_dir = %s' % self.data_dir]
        lines += ['%s = %s' % item for item in sorted(self.settings.items())]
        for code, direction in self.lanes:
            lines += ['', '[env_gate_hw lane %s]' % code,
                      'token = %s' % self.tokens.get(code, 'demo-token-%s' % code.lower()),
                      'direction = %s' % direction,
                      'camera = alarminfoplate', 'barrier = camera', 'heartbeat_timeout = 60']
        with open(self.conf, 'w', encoding='utf-8') as handle:
            handle.write('\n'.join(lines) + '\n')

    def start(self, timeout=90, ready_status=200):
        _require_env()
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        self._log = open(self.log_path, 'ab')
        self.process = subprocess.Popen(
            [os.environ['GATE_PYTHON'], os.path.join(ROOT, 'bin', 'odoo'), '-c', self.conf,
             '--load=web,hw_proxy,env_gate_hw', '--http-port=%d' % self.port,
             '--http-interface=127.0.0.1'],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                pytest.fail('the gate box exited early; see %s' % self.log_path)
            try:
                if requests.get(self.url + '/env_gate_hw/status.json',
                                timeout=5).status_code == ready_status:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.process.kill()
        pytest.fail('the gate box did not answer within %d s; see %s' % (timeout, self.log_path))

    def kill(self):
        """SIGKILL: no shutdown code runs, as on a power cut of the process."""
        self.process.kill()
        self.process.wait()

    def stop(self):
        if self.process is not None:
            stop_process(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None

    def status(self):
        reply = requests.get(self.url + '/env_gate_hw/status.json', timeout=10)
        reply.raise_for_status()
        return reply.json()

    def camera_url(self, lane='E-IN'):
        return '%s/env_gate_hw/camera/alarminfoplate?lane=%s' % (self.url, lane)

    def wait_until(self, predicate, timeout=60, interval=0.2):
        """The status for which predicate(status) first held; fails after `timeout`."""
        deadline = time.time() + timeout
        status = None
        while time.time() < deadline:
            status = self.status()
            if predicate(status):
                return status
            time.sleep(interval)
        pytest.fail('gate box %s: condition not met within %d s; last status: outbox %s, '
                    'forwarder %s, cache %s' % (self.name, timeout, status and status['outbox'],
                                                status and status['forwarder']['state'],
                                                status and status['cache']['state']))


@pytest.fixture
def gate_box_factory(tmp_path):
    """make(erp_url, name=..., **GateBoxProcess options) -> a started box; all stopped at
    the end of the test."""
    boxes = []

    def make(erp_url, name='box', start=True, **options):
        box = GateBoxProcess(tmp_path / name, erp_url, name=name, **options)
        boxes.append(box)
        return box.start() if start else box
    yield make
    for box in boxes:
        box.stop()
