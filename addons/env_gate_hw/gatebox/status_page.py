"""The gate box's status page: GateBox.status() rendered as one bilingual HTML page.

Pure function `render(status)`; every value is escaped. The page shows, per lane, the
camera (online/offline from its heartbeats), the last read and its decision, the
weighbridge, the barrier; then the outbox, the forwarder, the register cache and the
quarantine. With an operator password configured it carries the manual-lift form
(POST /env_gate_hw/barrier/open). Its Chinese comes from i18n/zh_CN.po (gatebox.i18n).
Standard library only.
"""
import html

from .i18n import heading, label

_OK = ('online', 'connected', 'ok', 'idle')
_BAD = ('offline', 'disconnected', 'error', 'unauthorized', 'backing_off', 'stopped')

_STYLE = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f4f4f4}.ok{color:#17803d;font-weight:bold}
.bad{color:#c0262d;font-weight:bold}.other{color:#9a6700;font-weight:bold}
small{color:#666}form input,form select{margin:.2em}
"""

def _e(value):
    return html.escape('' if value is None else str(value))


def _state(value):
    value = '' if value is None else str(value)
    css = 'ok' if value in _OK else ('bad' if value in _BAD else 'other')
    text = heading(value) if value else value
    return '<span class="%s">%s</span>' % (css, _e(text))


def _rows(pairs):
    return ''.join('<tr><th>%s</th><td>%s</td></tr>' % (_e(label(msgid)), value)
                   for msgid, value in pairs)


def render(status):
    """The HTML page (str) of a GateBox.status() dict."""
    box = status['box']
    out = ['<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
           '<title>%s %s</title>' % (_e(label('Gate box')), _e(box['name'])),
           '<style>%s</style></head><body>' % _STYLE,
           '<h1>%s: %s</h1>' % (_e(heading('Gate box status')), _e(box['name'])),
           '<p><small>%s · %s %s · ERP %s · %s %s · '
           '<a href="/env_gate_hw/status">%s</a> · '
           '<a href="/env_gate_hw/status.json">JSON</a></small></p>'
           % (_e(box['time']), _e(label('version')), _e(box['version']), _e(box['erp_url']),
              _e(label('started')), _e(box['started_at']), _e(label('refresh')))]

    out.append('<h2>%s</h2><table><tr>%s</tr>' % (_e(heading('Lanes')), ''.join(
        '<th>%s</th>' % _e(label(name))
        for name in ('Lane', 'Camera', 'Last read', 'Weighbridge', 'Barrier'))))
    for lane in status['lanes']:
        camera = lane['camera']
        camera_cell = '%s<br><small>%s · %s %s</small>' % (
            _state(camera['state']), _e(camera['type']), _e(label('last heartbeat')),
            _e(camera['last_heartbeat'] or '-'))
        if camera.get('stream'):
            camera_cell += '<br><small>%s: %s</small>' % (
                _e(label('stream')), _e(camera['stream'].get('status')))
        last = lane['last_read']
        read_cell = '-'
        if last:
            read_cell = '%s %s<br><small>%s · %s%s</small>' % (
                _e(last['plate'] or '(%s)' % label('unreadable')), _state(last['action']),
                _e(last['text']), _e(last['time']),
                ' · %s' % _e(label('repeat')) if last['repeat'] else '')
        scale = lane['scale']
        scale_cell = '-'
        if scale:
            scale_cell = '%s<br><small>%s · %s %s · %s %s</small>' % (
                _state(scale.get('status')), _e(scale.get('port')), _e(label('now')),
                _e(scale.get('last_reading')), _e(label('stable')), _e(scale.get('last_stable')))
        barrier = lane['barrier']
        barrier_cell = '%s<br><small>%s · %s %s · %s %s%s%s</small>' % (
            _state(barrier.get('status')), _e(barrier.get('driver')), _e(label('opens')),
            _e(barrier.get('opens')), _e(label('last')), _e(barrier.get('last_open') or '-'),
            ' · %s' % _e(label('lift pending')) if barrier.get('pending') else '',
            ' · <b>%s</b>' % _e(label('held open')) if barrier.get('held_open') else '')
        if barrier.get('last_error'):
            barrier_cell += '<br><small class="bad">%s</small>' % _e(barrier['last_error'])
        out.append('<tr><td><b>%s</b><br><small>%s · %s · %s %s</small></td>'
                   '<td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
                       _e(lane['code']), _e(lane['name']), _e(lane['direction']),
                       _e(label('vehicle')), _e(lane['current_vehicle'] or '-'), camera_cell,
                       read_cell, scale_cell, barrier_cell))
    out.append('</table>')

    outbox = status['outbox']
    out.append('<h2>%s</h2><table>%s</table>' % (_e(heading('Outbox')), _rows([
        ('pending', _e(outbox['pending'])),
        ('oldest (s)', _e(None if outbox['oldest_age'] is None
                          else round(outbox['oldest_age'], 1))),
        ('deferred', _e(outbox['deferred'])),
        ('dead', _e(outbox['dead'])),
    ])))
    if outbox.get('dead_events'):
        out.append('<table><tr><th>%s</th><th>%s</th><th>%s</th></tr>%s</table>' % (
            _e(label('event')), _e(label('lane')), _e(label('reason')), ''.join(
            '<tr><td>%s</td><td>%s</td><td>%s</td></tr>' % (_e(d['event_id']), _e(d['lane']),
                                                            _e(d['reason']))
            for d in outbox['dead_events'])))

    forwarder = status['forwarder']
    last_error = forwarder.get('last_error') or {}
    out.append('<h2>%s</h2><table>%s</table>' % (_e(heading('Forwarder')), _rows([
        ('state', _state(forwarder['state'])),
        ('ERP', _e(forwarder.get('url'))),
        ('last success', _e(forwarder.get('last_success') or '-')),
        ('last error', _e(last_error.get('message') or '-')),
        ('totals', _e(', '.join('%s %s' % kv for kv in sorted(
            (forwarder.get('totals') or {}).items())))),
    ])))

    cache = status['cache']
    out.append('<h2>%s</h2><table>%s</table>' % (_e(heading('Register cache')), _rows([
        ('sync', _state(cache['state'])),
        ('version', _e(cache['version'])),
        ('vehicles', _e(cache['vehicles'])),
        ('blacklist', _e(cache['blacklist'])),
        ('strategies', _e(cache['strategies'])),
        ('last sync', _e(cache.get('last_success') or '-')),
        ('last error', _e(' / '.join(x for x in (cache.get('last_error'),
                                                  cache.get('last_error_zh')) if x) or '-')),
    ])))

    quarantine = status['quarantine']
    report = status['erp_status_report']
    out.append('<h2>%s</h2><table>%s</table>' % (_e(heading('Quarantine and reporting')), _rows([
        ('quarantined payloads', _e(quarantine['count'])),
        ('last', _e((quarantine.get('last') or {}).get('message_en') or '-')),
        ('status to ERP', _state(report.get('state'))),
    ])))

    if box.get('manual_lift_from_page'):
        options = ''.join('<option value="%s">%s</option>' % (_e(lane['code']), _e(lane['code']))
                          for lane in status['lanes'])
        out.append(
            '<h2>%s</h2>'
            '<form method="post" action="/env_gate_hw/barrier/open">'
            '<label>%s <select name="lane">%s</select></label> '
            '<label>%s <input name="user" required></label> '
            '<label>%s <input name="reason" required size="40"></label> '
            '<label>%s <input name="password" type="password" required></label> '
            '<button type="submit">%s</button></form>'
            '<p><small>%s</small></p>' % (
                _e(heading('Manual lift')), _e(label('Lane')), options, _e(label('Who')),
                _e(label('Why')), _e(label('Password')), _e(label('Open')),
                _e(label('Every lift is recorded with who and why.'))))
    out.append('</body></html>')
    return '\n'.join(out)
