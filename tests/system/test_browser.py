"""Browser check: the demo manager's first screens in headless Chromium, with screenshots.

The screens are data (SCREENS below): each is opened on a fresh page load after logging in at
/web/login, and fails when it shows an error: Odoo's crash manager dialog, an "Odoo Server
Error"/"Odoo Client Error" text, an uncaught JavaScript exception, a console error, a browser
alert (Odoo raises one when a stylesheet did not compile), a failed JSON-RPC call, an own
request answered 4xx/5xx, an empty action area, or a screen that never settles. Screenshots
and the checker's JSON report go to artifacts/screenshots/.

Why a Node script (browser_check.js) rather than the DevTools protocol from Python: the venv
is pinned Python 3.7 without a WebSocket client, and what the check needs besides screenshots
(requests in flight, console messages, JSON-RPC replies, alert dialogs, robust navigation) is
exactly what playwright-core already does. It drives the Debian /usr/bin/chromium and never
downloads a browser. scripts/lib.sh installs both: ensure_debs (chromium, fonts-noto-cjk for
the Chinese UI) and ensure_playwright (a pinned playwright-core in .state/node).
"""
import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT

CHECKER = os.path.join(os.path.dirname(__file__), 'browser_check.js')
NODE_MODULES = os.path.join(ROOT, '.state', 'node', 'node_modules')
CHROMIUM = os.environ.get('GATE_CHROMIUM', '/usr/bin/chromium')
SCREENSHOTS = os.path.join(ROOT, 'artifacts', 'screenshots')

# One screen: `name` (the screenshot's file name) and what to open: `menu` or `action` (an XML
# id; one that does not exist fails the test), `record` (a model: its first record's form) or
# `url`; `view_type` (optional, with `action`): e.g. 'form' for a new record's form;
# `selector` (optional): what the screen must show.
SCREENS = (
    # the app's first screen: its root menu opens the app's first action
    {'name': 'dashboard', 'menu': 'env_gate_ledger.env_gate_menu_root'},
    {'name': 'passage_form', 'record': 'env.gate.passage', 'selector': '.o_form_view'},
    # the audit export's form as a manager starts a new one
    {'name': 'export_wizard', 'action': 'env_gate_ledger.env_gate_audit_export_action',
     'view_type': 'form', 'selector': '.o_form_view .o_field_widget[name="date_from"]'},
)

# Screens that must fail, to prove the checker sees an error; `expect`: a part of the error.
BROKEN_SCREENS = (
    # a model that does not exist: the web client renders nothing, silently
    {'name': 'broken_missing_model', 'url': '/web#model=env.gate.nonexistent&view_type=list',
     'expect': 'empty action area'},
    # an action the manager may not open (Scheduled Actions): the server refuses, the crash
    # manager shows it (an AccessError is a warning in the server log, not an ERROR line)
    {'name': 'broken_access_denied', 'action': 'base.ir_cron_act', 'expect': 'AccessError'},
)

LOGIN = PASSWORD = 'manager'


def xml_id_target(rpc, xml_id, model_prefix):
    """The database id that `xml_id` names; LookupError unless it exists and is a model_prefix."""
    module, _, name = xml_id.partition('.')
    found = rpc('ir.model.data', 'search_read', [('module', '=', module), ('name', '=', name)],
                fields=['model', 'res_id'])
    if not found:
        raise LookupError('%s does not exist' % xml_id)
    if not found[0]['model'].startswith(model_prefix):
        raise LookupError('%s is a %s, not a %s' % (xml_id, found[0]['model'], model_prefix))
    return found[0]['res_id']


def screen_url(rpc, screen):
    """The web client URL that opens `screen`; LookupError when its target does not exist."""
    if 'url' in screen:
        return screen['url']
    if 'menu' in screen:
        return '/web#menu_id=%d' % xml_id_target(rpc, screen['menu'], 'ir.ui.menu')
    if 'action' in screen:
        return '/web#action=%d%s' % (xml_id_target(rpc, screen['action'], 'ir.actions.'),
                                     '&view_type=%s' % screen['view_type']
                                     if screen.get('view_type') else '')
    # the first row the list shows, in the model's default order
    ids = rpc(screen['record'], 'search', [], limit=1)
    if not ids:
        raise LookupError('no %s record to open' % screen['record'])
    return '/web#model=%s&id=%d&view_type=form' % (screen['record'], ids[0])


def run_checker(server, screens, name):
    """Runs browser_check.js over `screens` (with 'url' resolved) and returns its report."""
    node = shutil.which('node')
    missing = [what for what, ok in (
        ('node', node), ('playwright-core in .state/node', os.path.isdir(
            os.path.join(NODE_MODULES, 'playwright-core'))),
        (CHROMIUM, os.access(CHROMIUM, os.X_OK))) if not ok]
    if missing:
        pytest.fail('the browser check needs %s: run ./test.sh once (scripts/lib.sh installs '
                    'them)' % ', '.join(missing))
    os.makedirs(SCREENSHOTS, exist_ok=True)
    config_path = os.path.join(SCREENSHOTS, '%s-config.json' % name)
    result_path = os.path.join(SCREENSHOTS, '%s-report.json' % name)
    config = {
        'base_url': server.url, 'db': server.db, 'login': LOGIN, 'password': PASSWORD,
        'chromium': CHROMIUM, 'node_modules': NODE_MODULES, 'out_dir': SCREENSHOTS,
        'result': result_path,
        # page loads (the first compiles the web client's assets); a screen to settle; how
        # long it must stay settled; how long calm but empty before it counts as empty
        'load_timeout_ms': 120000, 'timeout_ms': 30000, 'quiet_ms': 500, 'empty_ms': 2500,
        # tall enough for the whole dashboard in one screenshot
        'height': 1500,
        'screens': [{key: screen.get(key) for key in ('name', 'url', 'selector')}
                    for screen in screens],
    }
    with open(config_path, 'w', encoding='utf-8') as handle:
        json.dump(config, handle, indent=2)
    if os.path.exists(result_path):
        os.remove(result_path)
    done = subprocess.run([node, CHECKER, config_path], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=600, cwd=ROOT)
    output = done.stdout.decode('utf-8', 'replace')
    assert done.returncode == 0 and os.path.exists(result_path), \
        'browser_check.js failed (exit %s):\n%s' % (done.returncode, output[-3000:])
    with open(result_path, encoding='utf-8') as handle:
        report = json.load(handle)
    assert not report['login_errors'], 'logging in failed: %s' % report['login_errors']
    assert [s['name'] for s in report['screens']] == [s['name'] for s in screens]
    return report


def resolved(rpc, screens):
    """(screens with their 'url', {name: why} for those whose target does not exist)."""
    found, missing = [], {}
    for screen in screens:
        try:
            found.append(dict(screen, url=screen_url(rpc, screen)))
        except LookupError as error:
            missing[screen['name']] = str(error)
    return found, missing


def is_png(path):
    with open(path, 'rb') as handle:
        return handle.read(8) == b'\x89PNG\r\n\x1a\n'


def test_manager_screens_render_without_errors(odoo_server):
    screens, missing = resolved(odoo_server.rpc(), SCREENS)
    report = run_checker(odoo_server, screens, 'screens')
    problems = dict(missing)
    for screen in report['screens']:
        assert is_png(screen['screenshot']), screen['screenshot']
        if screen['errors']:
            problems[screen['name']] = '%s\n    %s' % (screen['url'], '\n    '.join(screen['errors']))
    assert not problems, 'screens with errors (screenshots in %s):\n%s' % (
        SCREENSHOTS, '\n'.join('%s: %s' % item for item in sorted(problems.items())))


def test_checker_reports_broken_screens(odoo_server):
    screens, missing = resolved(odoo_server.rpc(), BROKEN_SCREENS)
    assert not missing
    report = run_checker(odoo_server, screens, 'broken')
    for screen, seen in zip(screens, report['screens']):
        assert any(screen['expect'] in error for error in seen['errors']), \
            '%s: expected an error with %r, the checker reported %s' % (
                screen['name'], screen['expect'], seen['errors'])


def test_a_missing_action_is_an_error_not_a_skip(odoo_server):
    screens, missing = resolved(odoo_server.rpc(), [
        {'name': 'gone', 'action': 'env_gate_ledger.env_gate_no_such_action'},
        {'name': 'menu_as_action', 'action': 'env_gate_ledger.env_gate_menu_root'}])
    assert not screens
    assert missing == {
        'gone': 'env_gate_ledger.env_gate_no_such_action does not exist',
        'menu_as_action': 'env_gate_ledger.env_gate_menu_root is a ir.ui.menu, not a ir.actions.'}
