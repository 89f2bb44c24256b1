"""The gate box's status page: GateBox.status() rendered as one bilingual HTML page.

Pure function `render(status)`; every value is escaped. The page shows, per lane, the
camera (online/offline from its heartbeats), the last read and its decision, the
weighbridge, the barrier; then the outbox, the forwarder, the register cache and the
quarantine. With an operator password configured it carries the manual-lift form
(POST /env_gate_hw/barrier/open). Standard library only.
"""
import html

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

_STATE_ZH = {'online': '在线', 'offline': '离线', 'unknown': '未知', 'none': '无',
             'connected': '已连接', 'connecting': '连接中', 'disconnected': '已断开',
             'error': '错误', 'ok': '正常', 'idle': '空闲', 'backing_off': '重试等待',
             'unauthorized': '令牌被拒', 'never': '尚未同步', 'not_supported': 'ERP 不支持',
             'stopped': '已停止', 'not started': '未启动'}


def _e(value):
    return html.escape('' if value is None else str(value))


def _state(value):
    value = '' if value is None else str(value)
    css = 'ok' if value in _OK else ('bad' if value in _BAD else 'other')
    label = _STATE_ZH.get(value)
    text = '%s / %s' % (label, value) if label else value
    return '<span class="%s">%s</span>' % (css, _e(text))


def _rows(pairs):
    return ''.join('<tr><th>%s</th><td>%s</td></tr>' % (_e(label), value)
                   for label, value in pairs)


def render(status):
    """The HTML page (str) of a GateBox.status() dict."""
    box = status['box']
    out = ['<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
           '<title>环保门禁网关 Gate box %s</title>' % _e(box['name']),
           '<style>%s</style></head><body>' % _STYLE,
           '<h1>环保门禁网关状态 / Gate box status: %s</h1>' % _e(box['name']),
           '<p><small>%s · version %s · ERP %s · started %s · '
           '<a href="/env_gate_hw/status">刷新 refresh</a> · '
           '<a href="/env_gate_hw/status.json">JSON</a></small></p>'
           % (_e(box['time']), _e(box['version']), _e(box['erp_url']), _e(box['started_at']))]

    out.append('<h2>车道 / Lanes</h2><table><tr><th>车道 Lane</th><th>相机 Camera</th>'
               '<th>最近识别 Last read</th><th>地磅 Weighbridge</th><th>道闸 Barrier</th></tr>')
    for lane in status['lanes']:
        camera = lane['camera']
        camera_cell = '%s<br><small>%s · 最近心跳 last heartbeat %s</small>' % (
            _state(camera['state']), _e(camera['type']), _e(camera['last_heartbeat'] or '-'))
        if camera.get('stream'):
            camera_cell += '<br><small>stream: %s</small>' % _e(camera['stream'].get('status'))
        last = lane['last_read']
        read_cell = '-'
        if last:
            read_cell = '%s %s<br><small>%s · %s%s</small>' % (
                _e(last['plate'] or '(未识别 unreadable)'), _state(last['action']),
                _e(last['text']), _e(last['time']), ' · 重复 repeat' if last['repeat'] else '')
        scale = lane['scale']
        scale_cell = '-'
        if scale:
            scale_cell = '%s<br><small>%s · 当前 now %s · 稳定 stable %s</small>' % (
                _state(scale.get('status')), _e(scale.get('port')),
                _e(scale.get('last_reading')), _e(scale.get('last_stable')))
        barrier = lane['barrier']
        barrier_cell = '%s<br><small>%s · 开闸 opens %s · 最近 last %s%s</small>' % (
            _state(barrier.get('status')), _e(barrier.get('driver')), _e(barrier.get('opens')),
            _e(barrier.get('last_open') or '-'),
            ' · 待开闸 pending' if barrier.get('pending') else '')
        if barrier.get('last_error'):
            barrier_cell += '<br><small class="bad">%s</small>' % _e(barrier['last_error'])
        out.append('<tr><td><b>%s</b><br><small>%s · %s · 当前车辆 vehicle %s</small></td>'
                   '<td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
                       _e(lane['code']), _e(lane['name']), _e(lane['direction']),
                       _e(lane['current_vehicle'] or '-'), camera_cell, read_cell, scale_cell,
                       barrier_cell))
    out.append('</table>')

    outbox = status['outbox']
    out.append('<h2>发件箱 / Outbox</h2><table>%s</table>' % _rows([
        ('待发送 pending', _e(outbox['pending'])),
        ('最久等待 oldest (s)', _e(None if outbox['oldest_age'] is None
                                else round(outbox['oldest_age'], 1))),
        ('重试中 deferred', _e(outbox['deferred'])),
        ('ERP 拒收 dead', _e(outbox['dead'])),
    ]))
    if outbox.get('dead_events'):
        out.append('<table><tr><th>event</th><th>lane</th><th>reason</th></tr>%s</table>' % ''.join(
            '<tr><td>%s</td><td>%s</td><td>%s</td></tr>' % (_e(d['event_id']), _e(d['lane']),
                                                            _e(d['reason']))
            for d in outbox['dead_events']))

    forwarder = status['forwarder']
    last_error = forwarder.get('last_error') or {}
    out.append('<h2>转发 / Forwarder</h2><table>%s</table>' % _rows([
        ('状态 state', _state(forwarder['state'])),
        ('ERP', _e(forwarder.get('url'))),
        ('最近成功 last success', _e(forwarder.get('last_success') or '-')),
        ('最近错误 last error', _e(last_error.get('message') or '-')),
        ('累计 totals', _e(', '.join('%s %s' % kv for kv in sorted(
            (forwarder.get('totals') or {}).items())))),
    ]))

    cache = status['cache']
    out.append('<h2>本地名录缓存 / Register cache</h2><table>%s</table>' % _rows([
        ('同步 sync', _state(cache['state'])),
        ('版本 version', _e(cache['version'])),
        ('车辆 vehicles', _e(cache['vehicles'])),
        ('黑名单 blacklist', _e(cache['blacklist'])),
        ('管控策略 strategies', _e(cache['strategies'])),
        ('最近同步 last sync', _e(cache.get('last_success') or '-')),
        ('最近错误 last error', _e(' / '.join(x for x in (cache.get('last_error'),
                                                        cache.get('last_error_zh')) if x)
                                 or '-')),
    ]))

    quarantine = status['quarantine']
    report = status['erp_status_report']
    out.append('<h2>隔离区与上报 / Quarantine and reporting</h2><table>%s</table>' % _rows([
        ('隔离的报文 quarantined payloads', _e(quarantine['count'])),
        ('最近 last', _e((quarantine.get('last') or {}).get('message_en') or '-')),
        ('向 ERP 上报状态 status to ERP', _state(report.get('state'))),
    ]))

    if box.get('manual_lift_from_page'):
        options = ''.join('<option value="%s">%s</option>' % (_e(lane['code']), _e(lane['code']))
                          for lane in status['lanes'])
        out.append(
            '<h2>人工抬杆 / Manual lift</h2>'
            '<form method="post" action="/env_gate_hw/barrier/open">'
            '<label>车道 Lane <select name="lane">%s</select></label> '
            '<label>操作人 Who <input name="user" required></label> '
            '<label>原因 Why <input name="reason" required size="40"></label> '
            '<label>操作密码 Password <input name="password" type="password" required></label> '
            '<button type="submit">抬杆 Open</button></form>'
            '<p><small>每次抬杆都记入台账（操作人、原因）。Every lift is recorded with who and '
            'why.</small></p>' % options)
    out.append('</body></html>')
    return '\n'.join(out)
