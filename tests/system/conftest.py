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


@pytest.fixture(scope='session')
def odoo_server(tmp_path_factory):
    missing = [v for v in ('GATE_TEST_DB', 'GATE_ODOO_CONF', 'GATE_PYTHON') if not os.environ.get(v)]
    if missing:
        pytest.fail('run the system tests through ./test.sh (missing %s)' % ', '.join(missing))
    db = os.environ['GATE_TEST_DB']
    port = free_port()
    log_path = os.path.join(ROOT, 'artifacts', 'odoo-system-server.log')
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    log = open(log_path, 'wb')
    process = subprocess.Popen(
        [os.environ['GATE_PYTHON'], os.path.join(ROOT, 'bin', 'odoo'), '-c',
         os.environ['GATE_ODOO_CONF'], '-d', db, '--db-filter=^%s$' % db,
         '--http-port=%d' % port, '--http-interface=127.0.0.1', '--max-cron-threads=0'],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    server = Server(db, port, process, log_path)
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            pytest.fail('Odoo exited early; see %s' % log_path)
        try:
            # the first page compiles the web client's assets: give it time
            if requests.get(server.url + '/web/login', timeout=60).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.5)
    else:
        process.kill()
        pytest.fail('Odoo did not answer within 120 s; see %s' % log_path)
    yield server
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
