"""Plain pytest for the framework-free packages (hj1321, gatebox): no Odoo, no database.

The add-on directory goes on sys.path so the package imports as top-level `hj1321`
(the way the gate box uses it); the add-on itself imports it relatively.
"""
import os
import sys

import pytest

ADDONS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                      'addons'))
# hj1321 (in the ERP add-on) and gatebox (in the gate-box add-on) import as top-level packages
for addon in ('env_gate_ledger', 'env_gate_hw'):
    if os.path.join(ADDONS, addon) not in sys.path:
        sys.path.insert(0, os.path.join(ADDONS, addon))

_ODOO_OPTIONS = ('--odoo-database', '--odoo-config', '--odoo-dev')


def pytest_configure(config):
    """Switch pytest-odoo off when no Odoo database is configured.

    These tests need no Odoo. pytest-odoo 1.0.1 (installed next to them) treats every
    path as an add-on (it reads <dir>/__manifest__.py without checking it exists) and its
    autouse fixtures open an Odoo registry, so without a database it breaks collection.
    """
    manager = config.pluginmanager
    if not manager.has_plugin('odoo'):
        return
    configured = any(config.getoption(name, default=None) for name in _ODOO_OPTIONS) \
        or os.environ.get('ODOO_RC') or os.environ.get('OPENERP_SERVER')
    if not configured:
        manager.set_blocked('odoo')


# pytest-odoo's autouse fixtures, replaced for these tests: they must not open an Odoo
# registry, start an HTTP server or flip Odoo's test flag.
@pytest.fixture(scope='session', autouse=True)
def load_registry():
    yield


@pytest.fixture(scope='module', autouse=True)
def load_http():
    yield


@pytest.fixture(scope='module', autouse=True)
def enable_odoo_test_flag():
    yield
