"""Regulator platforms: where the ledger is uploaded, how, and how well it is going.

One record per platform (a province's transport-control service, the product's own
canonical JSON service...). The network side is `regulator_clients`; this model keeps the
configuration, the platform's state (paused while it is down, then only probed) and the
day's delivery alarm.
"""
import datetime
import logging
import threading

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .. import regulator_clients
from ..hj1321 import regulators as wire

_logger = logging.getLogger(__name__)

ADAPTERS = [
    ('canonical_json', 'Canonical JSON (this product)'),
    ('henan_transport_control', 'Henan transportControl'),
    ('hebei_integrated', 'Hebei integrated platform'),
    ('soap_deal_command', 'SOAP dealCommand (e.g. Baoding)'),
]
MANAGER_GROUP = 'env_gate_ledger.group_manager'
PLANT_TZ = 'Asia/Shanghai'
# kind -> the regulator's boolean saying it wants that kind
KIND_FLAGS = {
    'passage': 'send_passages',
    'vehicle': 'send_vehicles',
    'in_plant_vehicle': 'send_in_plant_vehicles',
    'machinery': 'send_machinery',
    'gate_status': 'send_gate_status',
}

# Clients live per process, keyed by regulator and configuration, so tokens (Henan,
# Hebei) are reused between cron runs instead of one login per run.
_CLIENTS = {}
_CLIENTS_LOCK = threading.Lock()


class EnvGateRegulator(models.Model):
    _name = 'env.gate.regulator'
    _description = 'Regulator Platform'
    _inherit = ['mail.thread', 'mail.activity.mixin']
    _order = 'sequence, id'

    name = fields.Char('Name', required=True, track_visibility='onchange')
    sequence = fields.Integer(default=10)
    adapter = fields.Selection(ADAPTERS, 'Adapter', required=True, default='canonical_json',
                               track_visibility='onchange')
    base_url = fields.Char('Base URL', required=True, track_visibility='onchange',
                           help='e.g. http://127.0.0.1:8075 for the demo simulator.')
    username = fields.Char('Username', groups=MANAGER_GROUP)
    password = fields.Char('Password', groups=MANAGER_GROUP,
                           help='Only the environmental manager can read it; it never appears '
                                'in attempts or logs.')
    client_id = fields.Char('Client ID', groups=MANAGER_GROUP)
    client_secret = fields.Char('Client Secret', groups=MANAGER_GROUP)
    credentials_display = fields.Char('Credentials', compute='_compute_credentials_display',
                                      help='Masked: only the environmental manager sees them.')
    enterprise_code = fields.Char(
        'Enterprise Code', required=True, track_visibility='onchange',
        default=lambda self: self.env.user.company_id.env_gate_enterprise_code,
        help='企业编码, sent as qybh / organ.')
    send_passages = fields.Boolean('Passages', default=True)
    send_vehicles = fields.Boolean('Transport Vehicles', default=True)
    send_in_plant_vehicles = fields.Boolean('In-plant Vehicles', default=True)
    send_machinery = fields.Boolean('Non-road Machinery', default=True)
    send_gate_status = fields.Boolean('Gate Status')
    timeout = fields.Integer('Timeout (s)', default=30,
                             help='Seconds to wait for an answer (the connection: 5 s).')
    deadline_minutes = fields.Integer('Deadline (minutes)', default=30,
                                      help='A record not delivered this long after it was '
                                           'recorded is overdue.')
    alarm_threshold = fields.Float('Alarm Threshold (%)', default=95.0,
                                   help='Below this share of records delivered within the '
                                        'deadline in a day, the manager is alerted.')
    active = fields.Boolean(default=True, track_visibility='onchange')
    state = fields.Selection([('ok', 'Delivering'), ('paused', 'Paused: down, probing'),
                              ('auth', 'Paused: credentials refused')], 'Platform State',
                             default='ok', required=True, readonly=True,
                             track_visibility='onchange', copy=False)
    state_message = fields.Char('State Details', readonly=True, copy=False)
    paused_since = fields.Datetime('Paused Since', readonly=True, copy=False)
    last_probe = fields.Datetime('Last Probe', readonly=True, copy=False)
    last_probe_ok = fields.Boolean('Last Probe Answered', readonly=True, copy=False)
    alarm_date = fields.Date('Alarm Day', readonly=True, copy=False)
    alarm_message = fields.Char('Alarm', readonly=True, copy=False)
    warning = fields.Char('Warning', compute='_compute_warning',
                          help='What the dashboard shows: today\'s alarm or the paused state.')
    upload_ids = fields.One2many('env.gate.upload', 'regulator_id', 'Uploads')
    pending_count = fields.Integer('To Send', compute='_compute_counts')
    rejected_count = fields.Integer('Rejected', compute='_compute_counts')
    company_id = fields.Many2one('res.company', 'Company', required=True,
                                 default=lambda self: self.env.user.company_id)

    _sql_constraints = [
        ('timeout_positive', 'CHECK(timeout > 0)', 'The timeout must be positive.'),
        ('deadline_positive', 'CHECK(deadline_minutes > 0)', 'The deadline must be positive.'),
    ]

    @api.depends('adapter')
    def _compute_credentials_display(self):
        for regulator in self:
            regulator.credentials_display = '********'

    def _compute_warning(self):
        today = self._plant_today()
        for regulator in self:
            parts = []
            if regulator.state != 'ok':
                parts.append(regulator.state_message or dict(
                    self._fields['state'].selection).get(regulator.state))
            if regulator.alarm_date == today and regulator.alarm_message:
                parts.append(regulator.alarm_message)
            regulator.warning = ' / '.join(p for p in parts if p) or False

    def _compute_counts(self):
        Upload = self.env['env.gate.upload']
        for regulator in self:
            regulator.pending_count = Upload.search_count(
                [('regulator_id', '=', regulator.id), ('state', 'in', ('pending', 'failed'))])
            regulator.rejected_count = Upload.search_count(
                [('regulator_id', '=', regulator.id), ('state', '=', 'rejected')])

    @api.model
    def _plant_today(self):
        return fields.Date.to_string(
            datetime.datetime.now(pytz.timezone(PLANT_TZ)).date())

    # -- actions ---------------------------------------------------------------------

    @api.multi
    def action_test_connection(self):
        """Probe the platform and say what it answered, in the chatter and the state.

        No error dialog when it does not answer: raising would roll back the paused state
        the probe has just recorded, and the delivery would keep trying a platform the
        manager has seen down."""
        self.ensure_one()
        attempt = self._probe()
        message = attempt.message(self.env.lang)
        if attempt.delivered:
            self.message_post(body=_('Connection test: %s') % message)
        else:
            self.message_post(body=_('Connection test failed: %s') % message)
        return True

    @api.multi
    def action_pull_blacklist(self):
        self.ensure_one()
        attempt = self._canonical_client('pull_blacklist').pull_blacklist()
        if not attempt.delivered:
            raise UserError(_('The blacklist could not be pulled: %s')
                            % attempt.message(self.env.lang))
        count = self._apply_blacklist(attempt.data or [])
        self.message_post(body=_('Blacklist pulled: %d entries (%s)')
                          % (count, attempt.message(self.env.lang)))
        return True

    @api.multi
    def action_pull_strategies(self):
        self.ensure_one()
        attempt = self._canonical_client('pull_strategies').pull_strategies()
        if not attempt.delivered:
            raise UserError(_('The strategies could not be pulled: %s')
                            % attempt.message(self.env.lang))
        count = self._apply_strategies(attempt.data or [])
        self.message_post(body=_('Emergency strategies pulled: %d (%s)')
                          % (count, attempt.message(self.env.lang)))
        return True

    @api.multi
    def action_resume(self):
        """Leave the paused state now (the next run delivers again)."""
        self._set_state('ok', _('Resumed by %s') % self.env.user.name)
        return True

    @api.multi
    def action_view_uploads(self):
        self.ensure_one()
        action = self.env.ref('env_gate_ledger.env_gate_upload_action').read()[0]
        action['domain'] = [('regulator_id', '=', self.id)]
        action['context'] = {'search_default_not_delivered': 1}
        return action

    # -- business --------------------------------------------------------------------

    @api.model
    def _check_vehicle(self, company, plate, plate_color=None, barrier_no=''):
        """Ask the company's platform whether a vehicle may pass (Henan getCheckVehicle).
        Returns (platform, Attempt); UserError when no active platform answers checks."""
        for regulator in self.sudo().search([('company_id', '=', company.id)]):
            client = regulator._client()
            if hasattr(client, 'check_vehicle'):
                return regulator, client.check_vehicle(plate, plate_color, barrier_no)
        raise UserError(_('No active regulator platform of %s answers vehicle checks '
                          '(Henan-style platforms do).') % company.name)


    def _canonical_client(self, operation):
        if self.adapter != 'canonical_json':
            raise UserError(_('Only canonical JSON platforms publish a blacklist and '
                              'strategies (%s).') % operation)
        return self._client()

    def _client(self):
        """The platform client of this configuration, shared in this process."""
        self.ensure_one()
        me = self.sudo()
        config = dict(base_url=me.base_url, enterprise_code=me.enterprise_code,
                      enterprise_name=me.company_id.name, username=me.username or None,
                      password=me.password or None, client_id=me.client_id or None,
                      client_secret=me.client_secret or None,
                      timeout=(min(5.0, float(me.timeout)), float(me.timeout)))
        key = (self.env.cr.dbname, me.id, me.adapter,
               tuple(sorted((k, str(v)) for k, v in config.items())))
        with _CLIENTS_LOCK:
            client = _CLIENTS.get(key)
            if client is None:
                for old in [k for k in _CLIENTS if k[:2] == key[:2]]:
                    _CLIENTS.pop(old).close()
                client = _CLIENTS[key] = regulator_clients.make_client(me.adapter, **config)
        return client

    def _wants(self, kind):
        flag = KIND_FLAGS.get(kind)
        return bool(flag and self[flag] and wire.supports(self.adapter, kind))

    def _probe(self):
        """One cheap call; the platform's state follows its answer."""
        self.ensure_one()
        attempt = self._client().probe()
        vals = {'last_probe': fields.Datetime.now(), 'last_probe_ok': attempt.delivered}
        self.sudo().write(vals)
        if attempt.delivered and self.state != 'ok':
            self._set_state('ok', _('The platform answers again: %s')
                            % attempt.message(self.env.lang))
        elif not attempt.delivered:
            self._pause(attempt)
        return attempt

    def _pause(self, attempt):
        state = 'auth' if attempt.outcome == wire.AUTH else 'paused'
        self._set_state(state, attempt.message(self.env.lang))

    def _set_state(self, state, message):
        for regulator in self.sudo():
            changed = regulator.state != state
            vals = {'state': state, 'state_message': message}
            if state == 'ok':
                vals['paused_since'] = False
            elif changed:
                vals['paused_since'] = fields.Datetime.now()
            regulator.write(vals)
            if changed:
                regulator.message_post(body=message)
                _logger.info('Regulator %s (%s): %s, %s', regulator.name, regulator.id, state,
                             message)

    def _apply_blacklist(self, entries):
        """Create or update env.gate.blacklist entries from a pull (by plate)."""
        Blacklist = self.env['env.gate.blacklist'].with_context(active_test=False)
        count = 0
        for entry in entries:
            vals = {
                'plate': entry['plate'],
                'plate_color': entry.get('plate_color') or False,
                'source': entry.get('source') or self.name,
                'reason': entry.get('reason') or _('Listed by %s') % self.name,
                'valid_from': entry.get('valid_from') or fields.Datetime.now(),
                'valid_to': entry.get('valid_to') or False,
                'active': True,
                'company_id': self.company_id.id,
            }
            existing = Blacklist.search([('plate', '=', entry['plate']),
                                         ('company_id', '=', self.company_id.id),
                                         ('source', '=', vals['source'])], limit=1)
            if existing:
                existing.write(vals)
            else:
                Blacklist.create(vals)
            count += 1
        return count

    def _apply_strategies(self, entries):
        """Create or update env.gate.strategy records from a pull (by name and start)."""
        Strategy = self.env['env.gate.strategy']
        count = 0
        now = datetime.datetime.utcnow()
        for entry in entries:
            start = entry.get('date_start') or fields.Datetime.to_string(now)
            end = entry.get('date_end') or fields.Datetime.to_string(
                fields.Datetime.from_string(start) + datetime.timedelta(days=3))
            name = entry.get('name') or _('%s: %s alert') % (self.name, entry['level'])
            vals = {'name': name, 'level': entry['level'], 'date_start': start,
                    'date_end': end, 'company_id': self.company_id.id,
                    'authority': self.name,
                    'exempt_plates': '\n'.join(entry.get('exempt_plates') or []) or False}
            if entry.get('rules'):
                vals['rule_ids'] = [(5, 0, 0)] + [(0, 0, {
                    'max_stage': rule.get('max_stage') or False,
                    'fuels': rule.get('fuels') if isinstance(rule.get('fuels'), str)
                    else ', '.join(rule.get('fuels') or []) or False,
                    'vehicle_classes': rule.get('vehicle_classes')
                    if isinstance(rule.get('vehicle_classes'), str)
                    else ', '.join(rule.get('vehicle_classes') or []) or False,
                    'action': rule.get('action') or 'refuse',
                }) for rule in entry['rules']]
            existing = Strategy.search([('name', '=', name), ('date_start', '=', start),
                                        ('company_id', '=', self.company_id.id)], limit=1)
            if existing:
                existing.write({k: v for k, v in vals.items()
                                if k in ('date_end', 'exempt_plates', 'rule_ids')})
            else:
                Strategy.create(vals)
            count += 1
        return count

    @api.model
    def _cron_check_alarms(self):
        """Called by the cron "Regulator uploads: delivery alarms" (every 15 minutes)."""
        self.search([])._check_alarms()

    def _check_alarms(self, now=None):
        """Today's share of records delivered within the deadline; below the threshold or
        with any record overdue, one activity per regulator and day for the managers and a
        banner (alarm_message)."""
        now = now or fields.Datetime.now()
        today, _day_start = self._plant_day_bounds(now)
        managers = self.env.ref(MANAGER_GROUP).users.filtered(lambda u: u.active)
        activity_type = self.env.ref('mail.mail_activity_data_todo', raise_if_not_found=False)
        figures = self._delivery_today(now)
        for regulator in self:
            due, on_time, overdue = figures[regulator.id]
            share = 100.0 * on_time / due if due else 100.0
            if overdue or share < regulator.alarm_threshold:
                message = _('%(share).1f %% of today\'s records delivered within %(minutes)d '
                            'minutes (threshold %(threshold).0f %%), %(overdue)d overdue') % {
                    'share': share, 'minutes': regulator.deadline_minutes,
                    'threshold': regulator.alarm_threshold, 'overdue': overdue}
                first = regulator.alarm_date != today
                regulator.sudo().write({'alarm_date': today, 'alarm_message': message})
                if first and activity_type:
                    for user in managers:
                        regulator.sudo()._schedule_alarm_activity(activity_type, user, message)
            elif regulator.alarm_date == today:
                regulator.sudo().write({'alarm_message': False})

    @api.model
    def _plant_day_bounds(self, now):
        """(the plant's date, its first second in UTC) at the UTC time `now`, as strings."""
        tz = pytz.timezone(PLANT_TZ)
        local_now = pytz.utc.localize(fields.Datetime.from_string(now)).astimezone(tz)
        day_start = tz.localize(datetime.datetime.combine(local_now.date(), datetime.time()))
        return (fields.Date.to_string(local_now.date()), fields.Datetime.to_string(
            day_start.astimezone(pytz.utc).replace(tzinfo=None)))

    def _delivery_today(self, now):
        """{regulator id: (due, delivered on time, overdue)} among the records whose
        deadline falls in the plant's day of `now`: due = deadline passed or delivered.
        What the alarm checks and the dashboard shows; one indexed query per regulator
        (comparing two columns, which a search domain cannot)."""
        _today, day_start = self._plant_day_bounds(now)
        result = {}
        for regulator in self:
            self.env.cr.execute("""
                SELECT count(*) FILTER (WHERE deadline <= %(now)s OR state IN ('sent', 'duplicate')),
                       count(*) FILTER (WHERE state IN ('sent', 'duplicate')
                                        AND delivered_at <= deadline),
                       count(*) FILTER (WHERE state NOT IN ('sent', 'duplicate')
                                        AND deadline < %(now)s)
                  FROM env_gate_upload
                 WHERE regulator_id = %(reg)s AND deadline >= %(start)s
                """, {'now': now, 'reg': regulator.id, 'start': day_start})
            result[regulator.id] = self.env.cr.fetchone()
        return result

    def _schedule_alarm_activity(self, activity_type, user, note):
        """One to-do for `user` on this regulator (Odoo 11 has no activity_schedule)."""
        self.env['mail.activity'].create({
            'activity_type_id': activity_type.id,
            'res_model_id': self.env['ir.model']._get(self._name).id,
            'res_id': self.id,
            'user_id': user.id,
            'summary': _('Regulator uploads behind: %s') % self.name,
            'note': note,
            'date_deadline': fields.Date.context_today(self),
        })
