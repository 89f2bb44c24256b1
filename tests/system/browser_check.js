// Browser check, driven by tests/system/test_browser.py: logs into the Odoo web client with
// headless Chromium (playwright-core, the Debian /usr/bin/chromium), opens each screen on a
// fresh page load, waits until the web client has settled, saves a screenshot and reports
// every error seen while the screen loaded.
//
//   node browser_check.js config.json   (config: see test_browser.py, run_checker)
//
// Writes {login_errors: [...], screens: [{name, url, final_url, screenshot, errors, seconds}]}
// as JSON to config.result. Exits 0 whenever it could report; the caller judges the errors.
'use strict';
const fs = require('fs');
const path = require('path');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { chromium } = require(path.join(config.node_modules, 'playwright-core'));

const ORIGIN = new URL(config.base_url).origin;
// the bus keeps one long request open as long as the page lives: never "settled", no error
const IGNORED = /\/longpolling\//;
const ERROR_TEXTS = ['Odoo Server Error', 'Odoo Client Error', 'Odoo服务器错误', 'Odoo客户端错误'];

function ownRequest(url) {
    return url.startsWith(ORIGIN + '/') && !IGNORED.test(url);
}

// The state of the page as the web client shows it; `problems` are errors visible on screen,
// `busy` says why the screen is not settled yet (null once it is).
// `selector`: what the screen must show once loaded (optional).
function pageState({ errorTexts, selector }) {
    const visible = (el) => !!el && el.getClientRects().length > 0
        && getComputedStyle(el).visibility !== 'hidden';
    const problems = [];
    for (const el of document.querySelectorAll('.o_dialog_error, .modal .o_error_detail, .o_dialog_warning')) {
        if (el.closest('.modal') ? visible(el.closest('.modal')) : visible(el)) {
            const modal = el.closest('.modal-content') || el;
            problems.push('error dialog: ' + modal.innerText.replace(/\s+/g, ' ').trim().slice(0, 300));
        }
    }
    // set by the script Odoo inlines when an assets bundle failed (a stylesheet that did
    // not compile); its "Style error" dialog has no CSS to show itself with
    if (window.__assetsBundleErrorSeen) {
        const pre = document.querySelector('.modal pre');
        problems.push('assets bundle error (Odoo\'s "Style error")'
            + (pre ? ': ' + pre.innerText.trim().slice(0, 300) : ''));
    }
    const text = document.body ? document.body.innerText : '';
    for (const needle of errorTexts) {
        if (text.includes(needle)) {
            problems.push('the page shows "' + needle + '"');
        }
    }
    let busy = null;
    if (document.readyState !== 'complete') {
        busy = 'document still loading';
    } else if (!document.querySelector('.o_web_client')) {
        busy = 'no web client (.o_web_client)';
    } else if ([...document.querySelectorAll('.o_loading')].some(visible)) {
        busy = 'the web client shows Loading (.o_loading)';
    } else if ([...document.querySelectorAll('.blockUI, .oe_blockui_spin_container')].some(visible)) {
        busy = 'the UI is blocked (blockUI)';
    }
    // what the action rendered: a dialog (wizards, target=new) or the main action area
    const modals = [...document.querySelectorAll('.modal')].filter(visible);
    const dialogBody = modals.length && modals[modals.length - 1].querySelector('.modal-body');
    const content = document.querySelector('.o_main_content .o_content');
    const rendered = (dialogBody && dialogBody.innerText.trim() !== '')
        || (visible(content) && [...content.querySelectorAll('*')].some(
            (el) => visible(el) && el.getBoundingClientRect().height > 0));
    const expected = !selector || [...document.querySelectorAll(selector)].some(visible);
    return { problems, busy, rendered: !!rendered, expected };
}

// Opens `screen` in a page of its own (the session cookie is the context's), so that
// nothing of the previous screen is left over.
async function checkScreen(context, screen) {
    const started = Date.now();
    const page = await context.newPage();
    const tracker = track(page);
    let report;
    try {
        report = await settle(page, screen, tracker);
    } catch (error) {
        report = { errors: tracker.errors.concat(['could not check the screen: ' + error.message]) };
    }
    const file = path.join(config.out_dir, screen.name + '.png');
    // a new record's form focuses its first field: a date field's calendar would cover it
    await page.evaluate(() => document.activeElement && document.activeElement.blur())
        .catch(() => undefined);
    await page.waitForTimeout(300);
    await page.screenshot({ path: file });
    const finalUrl = page.url();
    await page.close();
    return {
        name: screen.name, url: screen.url, final_url: finalUrl, screenshot: file,
        errors: [...new Set(report.errors)], seconds: (Date.now() - started) / 1000,
    };
}

async function settle(page, screen, tracker) {
    // the first /web of a fresh database compiles the web client's assets: allow for it
    await page.goto(config.base_url + screen.url, { waitUntil: 'load', timeout: config.load_timeout_ms });
    const started = Date.now();
    // settled = no own request in flight, no loading indicator, something rendered (or an
    // error dialog shown), all of it unchanged for quiet_ms
    let quietSince = null;
    let calmSince = null;
    let state = null;
    const deadline = started + config.timeout_ms;
    while (Date.now() < deadline) {
        state = await page.evaluate(pageState, { errorTexts: ERROR_TEXTS, selector: screen.selector });
        const calm = tracker.inflight.size === 0 && !state.busy;
        const idle = calm && ((state.rendered && state.expected) || state.problems.length > 0);
        if (!idle) {
            quietSince = null;
        } else if (quietSince === null) {
            quietSince = Date.now();
        } else if (Date.now() - quietSince >= config.quiet_ms) {
            break;
        }
        // nothing left to wait for, yet nothing (expected) rendered: it will not come
        calmSince = calm ? (calmSince || Date.now()) : null;
        if (calmSince && Date.now() - calmSince >= config.empty_ms) {
            break;
        }
        await page.waitForTimeout(100);
    }
    await Promise.all(tracker.parsing);  // JSON-RPC replies still being read
    const errors = tracker.errors.slice();
    if (Date.now() >= deadline) {
        // an empty action area is reported below as such
        const why = state.busy || (tracker.inflight.size ? 'requests still pending: '
            + [...tracker.inflight].slice(0, 3).map((r) => r.url()).join(', ') : null);
        if (why) {
            errors.push('did not settle within ' + config.timeout_ms + ' ms: ' + why);
        }
    }
    errors.push(...state.problems);
    if (!state.rendered && !state.problems.length) {
        errors.push('empty action area: neither a view nor a dialog was rendered');
    } else if (!state.expected) {
        errors.push('the screen does not show ' + screen.selector);
    }
    return { errors };
}

// Collects the errors one page shows, and its own requests in flight.
function track(page) {
    const tracker = { errors: [], inflight: new Set(), parsing: [] };
    page.on('pageerror', (e) => tracker.errors.push('uncaught exception: ' + e.message));
    page.on('console', (m) => {
        if (m.type() === 'error') tracker.errors.push('console error: ' + m.text().slice(0, 500));
    });
    page.on('dialog', (d) => {
        tracker.errors.push('browser ' + d.type() + ': ' + d.message().slice(0, 500));
        d.dismiss().catch(() => {});
    });
    page.on('request', (r) => { if (ownRequest(r.url())) tracker.inflight.add(r); });
    page.on('requestfailed', (r) => {
        if (!ownRequest(r.url())) return;
        tracker.inflight.delete(r);
        const failure = r.failure() ? r.failure().errorText : 'failed';
        tracker.errors.push(r.method() + ' ' + r.url() + ': ' + failure);
    });
    page.on('requestfinished', async (r) => {
        if (!ownRequest(r.url())) return;
        let response;
        try {
            response = await r.response();
        } catch (error) {
            // the page was closed (after its screenshot) while a request was finishing:
            // nothing left to check on it, and no reason to end the whole run
            tracker.inflight.delete(r);
            return;
        }
        const status = response ? response.status() : 0;
        // 3xx: the login's redirect and the browser cache's 304 are normal answers
        if (status >= 400 || status === 0) {
            tracker.errors.push('HTTP ' + status + ' on ' + r.method() + ' ' + r.url());
        } else if (r.method() === 'POST' && /json/.test(response.headers()['content-type'] || '')) {
            // Odoo answers a failed JSON-RPC call with HTTP 200 and an "error" member
            tracker.parsing.push(response.json().then((body) => {
                if (body && body.error) {
                    const data = body.error.data || {};
                    tracker.errors.push('RPC error on ' + new URL(r.url()).pathname + ': '
                        + (data.name || body.error.message) + ': ' + String(data.message || '').slice(0, 300));
                }
            }, () => {}));
        }
        tracker.inflight.delete(r);
    });
    return tracker;
}

async function login(context) {
    const page = await context.newPage();
    const tracker = track(page);
    await page.goto(config.base_url + '/web/login?db=' + encodeURIComponent(config.db),
        { timeout: config.load_timeout_ms });
    await page.fill('input[name=login]', config.login);
    await page.fill('input[name=password]', config.password);
    await page.click('form.oe_login_form button[type=submit]');
    // Odoo 11 answers the login with a page that redirects by script (to keep the #hash),
    // or with the login form and its alert
    const settled = (promise) => promise.then(() => true, () => false);
    await Promise.race([
        settled(page.waitForURL((url) => url.pathname === '/web', { timeout: config.load_timeout_ms })),
        settled(page.waitForSelector('.oe_login_form .alert-danger', { timeout: config.load_timeout_ms })),
    ]);
    const errors = tracker.errors.slice();
    if (new URL(page.url()).pathname !== '/web') {
        const alert = await page.$('.alert-danger');
        errors.push('login as ' + config.login + ' failed, at ' + page.url()
            + (alert ? ': ' + (await alert.innerText()).trim() : ''));
    }
    await page.close();
    return errors;
}

(async () => {
    fs.mkdirSync(config.out_dir, { recursive: true });
    const browser = await chromium.launch({
        executablePath: config.chromium,
        // CI runs as root, where Chromium's sandbox refuses to start
        args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    const result = { login_errors: [], screens: [] };
    try {
        const context = await browser.newContext({
            viewport: { width: 1366, height: config.height || 768 }, locale: 'zh-CN',
        });
        result.login_errors = await login(context);
        if (!result.login_errors.length) {
            for (const screen of config.screens) {
                result.screens.push(await checkScreen(context, screen));
            }
        }
    } finally {
        await browser.close();
        fs.writeFileSync(config.result, JSON.stringify(result, null, 2));
    }
})().catch((error) => {
    console.error(error && error.stack || error);
    process.exit(1);
});
