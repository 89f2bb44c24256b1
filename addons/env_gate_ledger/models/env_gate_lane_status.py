"""Lane status snapshots (道闸在线状态): what the regulator's gate-status upload sends.

Platforms want a gate's online state on a schedule (Henan `putdcstatus`, the SOAP `01W06`,
the canonical `/gate-status`), not only when something changes: a cron takes one snapshot
per active lane of every company that has a platform asking for it, and queues it like any
ledger record. A snapshot reads what the ERP knows of the lane: the gate box's last status
report, the camera state it reported, and the lane's last event.
"""
import datetime

from odoo import api, fields, models

STALE_MINUTES = 10      # no report, heartbeat or event for this long: the lane is offline
TRI_STATES = [('ok', 'OK'), ('fault', 'Fault'), ('unknown', 'Unknown')]
BARRIER_FAULTS = ('error', 'disconnected')


def lane_online(now, *times):
    """True when any of the lane's signs of life (UTC datetimes or None) is recent."""
    since = now - datetime.timedelta(minutes=STALE_MINUTES)
    return any(when and when >= since for when in times)


class EnvGateLaneStatus(models.Model):
    _name = 'env.gate.lane.status'
    _description = 'Lane Status Snapshot'
    _order = 'time desc, id desc'

    lane_id = fields.Many2one('env.gate.lane', 'Lane', required=True, readonly=True,
                              ondelete='cascade', index=True)
    gate_id = fields.Many2one(related='lane_id.gate_id', store=True, readonly=True)
    company_id = fields.Many2one('res.company', 'Company', required=True, readonly=True,
                                 index=True)
    time = fields.Datetime('Time', required=True, readonly=True, index=True)
    online = fields.Boolean('Online', readonly=True)
    barrier_state = fields.Selection(TRI_STATES, 'Barrier', readonly=True)
    camera_state = fields.Selection(TRI_STATES, 'Camera', readonly=True)
    last_event_time = fields.Datetime('Last Event', readonly=True)
    message = fields.Char('Message', readonly=True)

    @api.model
    def _cron_snapshot(self, now=None):
        """Called by the cron "Gate status: report to regulators". Snapshots only for
        companies with an active platform that wants gate status (no platform, no rows)."""
        regulators = self.env['env.gate.regulator'].sudo().search([('send_gate_status', '=', True)])
        companies = regulators.filtered(lambda r: r._wants('gate_status')).mapped('company_id')
        if not companies:
            return self.browse()
        lanes = self.env['env.gate.lane'].sudo().search([('company_id', 'in', companies.ids)])
        return self._snapshot(lanes, now)

    @api.model
    def _snapshot(self, lanes, now=None):
        now = now or datetime.datetime.utcnow().replace(microsecond=0)
        dt = fields.Datetime.from_string
        rows = []
        for lane in lanes:
            online = lane_online(now, dt(lane.box_reported_at), dt(lane.last_heartbeat),
                                 dt(lane.last_event_time))
            camera = {'online': 'ok', 'offline': 'fault'}.get(lane.camera_state, 'unknown')
            rows.append({
                'lane_id': lane.id, 'company_id': lane.company_id.id,
                'time': fields.Datetime.to_string(now), 'online': online,
                'barrier_state': lane.barrier_state or 'unknown',
                'camera_state': camera if online else 'unknown',
                'last_event_time': lane.last_event_time,
                'message': lane.barrier_error or False,
            })
        snapshots = self.browse()
        for row in rows:
            snapshots |= self.create(row)
        self.env['env.gate.upload']._enqueue(self._name, snapshots.ids, 'gate_status')
        return snapshots

    def _upload_values(self, embed):
        """{id: values for hj1321.canonical.canonical_gate_status}."""
        result = {}
        for status in self:
            lane = status.lane_id
            result[status.id] = {
                'gate_code': lane.gate_id.code, 'barrier_no': lane.barrier_no,
                'lane_code': lane.code, 'time': status.time, 'online': status.online,
                'barrier_ok': {'ok': True, 'fault': False}.get(status.barrier_state),
                'camera_ok': {'ok': True, 'fault': False}.get(status.camera_state),
                'last_event_time': status.last_event_time or None,
                'message': status.message or None,
            }
        return result
