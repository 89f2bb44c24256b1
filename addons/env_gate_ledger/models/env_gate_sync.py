"""What the gate boxes' register caches are synced from: versions, tombstones, the reply.

Every row a gate box holds (vehicles, blacklist entries, emergency strategies, lanes)
carries `sync_version`, the value a PostgreSQL sequence gave when a field the box receives
last changed. A box asks for the changes since the version it holds; rows that left its
view (deleted, moved to another company, a lane code renamed) are remembered as
tombstones. The wire format is the one documented in env_gate_hw/gatebox/cache.py.

Versions are taken under one transaction-scoped advisory lock, so transactions that
change synced rows commit in version order: a box that read version V has seen every
change up to V, and a slow transaction can never commit a version below one a box has
already been given (which it would then miss for good). Register changes are rare
(clerks, imports, the manager), so the serialisation costs nothing noticeable; status
reports and ingestion never take the lock.
"""
import zlib

from odoo import api, fields, models

SEQUENCE = 'env_gate_sync_version_seq'
LOCK_KEY = zlib.crc32(b'env_gate_sync_version') & 0x7fffffff
HORIZON_PARAM = 'env_gate.sync_horizon'
TOMBSTONE_DAYS = 90

LANE_DIRECTIONS = {'1': 'in', '2': 'out', 'both': 'both'}
VEHICLE_FLAGS = (('special_purpose', 'special'), ('hazardous_goods', 'hazardous'),
                 ('livelihood', 'livelihood'))


def _time(value):
    """A Datetime column as the wire wants it: UTC 'YYYY-MM-DD HH:MM:SS' or None."""
    return value[:19] if value else None


# the flag list of each combination of the three booleans, built once: a full reply
# builds 100,000 rows
_FLAG_LISTS = {(special, hazardous, livelihood): [
    name for (_f, name), on in zip(VEHICLE_FLAGS, (special, hazardous, livelihood)) if on]
    for special in (False, True) for hazardous in (False, True) for livelihood in (False, True)}


def vehicle_row(vid, plate, color, stage, fuel, vtype, category, owner, flags):
    """One wire vehicle row (cache.parse_vehicle); `flags` the three booleans (True or
    False) in VEHICLE_FLAGS order."""
    return {'id': vid, 'plate_key': plate, 'plate_color': color or None,
            'stage': stage or None, 'fuel': fuel or None, 'vehicle_type': vtype or None,
            'category': category or None, 'owner': owner or '',
            'flags': _FLAG_LISTS[flags]}


class EnvGateSyncMixin(models.AbstractModel):
    """A model whose rows gate boxes keep in their local cache."""
    _name = 'env.gate.sync.mixin'
    _description = 'Synced to Gate Boxes'

    # Fields the gate box receives: only a change of one of them makes a new version
    # (stored tares, status reports and chatter do not churn the boxes' caches).
    _sync_fields = ()

    sync_version = fields.Integer('Sync Version', readonly=True, copy=False, index=True,
                                  group_operator='max',
                                  help='Change counter the gate boxes sync by.')

    @api.model_cr
    def init(self):
        cr = self.env.cr
        cr.execute('CREATE SEQUENCE IF NOT EXISTS %s' % SEQUENCE)
        if self._abstract:
            return
        # rows that existed before the column get a version, so incremental syncs see them
        cr.execute('UPDATE "%s" SET sync_version = nextval(%%s) WHERE sync_version IS NULL'
                   % self._table, (SEQUENCE,))

    # ---- what the box sees ----------------------------------------------------------

    def _sync_key(self):
        """The key the box stores a row under when it is not the id (lanes: code)."""
        return None

    def _sync_snapshot(self):
        """{id: (company id, key)} before a write, to tell when a row leaves a company's
        boxes or changes its key."""
        return {record.id: (record.company_id.id, record._sync_key()) for record in self}

    # ---- versions ---------------------------------------------------------------------

    @api.model
    def _sync_lock(self):
        self.env.cr.execute('SELECT pg_advisory_xact_lock(%s)', (LOCK_KEY,))

    def _sync_bump(self, before=None):
        """Give these rows a new version; tombstone what left a company or a key."""
        if not self:
            return
        self._sync_lock()
        gone = []
        for record in self:
            company, key = (before or {}).get(record.id, (None, None))
            if company and company != record.company_id.id:
                gone.append((record.id, company, key))
            elif key and key != record._sync_key():
                gone.append((record.id, company, key))
        self.env['env.gate.sync.tombstone']._bury(self._name, gone)
        self.env.cr.execute('UPDATE "%s" SET sync_version = nextval(%%s) WHERE id IN %%s'
                            % self._table, (SEQUENCE, tuple(self.ids)))
        self.invalidate_cache(['sync_version'], self.ids)

    @api.model
    def create(self, vals):
        record = super(EnvGateSyncMixin, self).create(vals)
        record._sync_bump()
        return record

    @api.multi
    def write(self, vals):
        if not set(vals) & set(self._sync_fields):
            return super(EnvGateSyncMixin, self).write(vals)
        before = self._sync_snapshot()
        result = super(EnvGateSyncMixin, self).write(vals)
        self._sync_bump(before)
        return result

    @api.multi
    def unlink(self):
        if self:
            self._sync_lock()
            gone = [(rid, company, key) for rid, (company, key) in self._sync_snapshot().items()]
            self.env['env.gate.sync.tombstone']._bury(self._name, gone)
        return super(EnvGateSyncMixin, self).unlink()


class EnvGateSyncTombstone(models.Model):
    """A row the gate boxes must drop: deleted, moved to another company, renamed key."""
    _name = 'env.gate.sync.tombstone'
    _description = 'Gate Box Sync Tombstone'
    _order = 'sync_version'

    res_model = fields.Char('Model', required=True, readonly=True)
    res_id = fields.Integer('Record ID', required=True, readonly=True)
    key = fields.Char('Key', readonly=True, help='The lane code, for lanes.')
    company_id = fields.Many2one('res.company', 'Company', readonly=True, index=True,
                                 ondelete='cascade')
    sync_version = fields.Integer('Sync Version', readonly=True, index=True)

    @api.model_cr
    def init(self):
        self.env.cr.execute('CREATE SEQUENCE IF NOT EXISTS %s' % SEQUENCE)

    @api.model
    def _bury(self, model, gone):
        """Record (res_id, company id, key) rows of `model` as gone, under the sync lock."""
        if not gone:
            return
        cr = self.env.cr
        for res_id, company, key in gone:
            cr.execute('INSERT INTO env_gate_sync_tombstone (res_model, res_id, key, company_id, '
                       'sync_version, create_uid, create_date, write_uid, write_date) '
                       'VALUES (%s, %s, %s, %s, nextval(%s), %s, now() at time zone \'UTC\', '
                       '%s, now() at time zone \'UTC\')',
                       (model, res_id, key, company or None, SEQUENCE, self.env.uid,
                        self.env.uid))

    @api.model
    def _purge(self, days=TOMBSTONE_DAYS):
        """Forget tombstones older than `days`; a box that held an older version then gets
        a full reply. Called daily by the cron 'Gate boxes: purge sync tombstones'."""
        cr = self.env.cr
        cr.execute("DELETE FROM env_gate_sync_tombstone "
                   "WHERE create_date < (now() at time zone 'UTC') - %s * interval '1 day' "
                   "RETURNING sync_version", (days,))
        purged = [row[0] for row in cr.fetchall()]
        if purged:
            params = self.env['ir.config_parameter'].sudo()
            horizon = max(int(params.get_param(HORIZON_PARAM, 0) or 0), max(purged))
            params.set_param(HORIZON_PARAM, str(horizon))
        return len(purged)


class EnvGateSync(models.AbstractModel):
    """The reply of GET /env_gate/api/v1/sync (wire format: env_gate_hw/gatebox/cache.py)."""
    _name = 'env.gate.sync'
    _description = 'Gate Box Sync'

    _TABLES = ('env_gate_vehicle', 'env_gate_blacklist', 'env_gate_strategy', 'env_gate_lane',
               'env_gate_sync_tombstone')

    @api.model
    def _current_version(self):
        """The highest version this transaction can see (never one still uncommitted)."""
        horizon = int(self.env['ir.config_parameter'].sudo().get_param(HORIZON_PARAM, 0) or 0)
        self.env.cr.execute('SELECT GREATEST(%s)' % ', '.join(
            '(SELECT max(sync_version) FROM %s)' % table for table in self._TABLES))
        return max(self.env.cr.fetchone()[0] or 0, horizon)

    @api.model
    def _payload(self, lane, since):
        """The sync reply for the box holding `lane`'s token, which holds version `since`.

        Full (everything of the lane's company) when since is 0, older than the purged
        tombstones, or newer than anything here (a restored database); otherwise the rows
        changed after `since` and the tombstones since then, in version order.
        """
        horizon = int(self.env['ir.config_parameter'].sudo().get_param(HORIZON_PARAM, 0) or 0)
        version = self._current_version()
        full = since <= 0 or since < horizon or since > version
        company = lane.company_id.id
        window = None if full else (since, version)
        payload = {'version': version, 'full': full, 'server_time': fields.Datetime.now()}
        if not full:
            payload['since'] = since
        buried = self._tombstones(company, window)
        payload['vehicles'] = self._merge(self._vehicles(company, window),
                                          buried.get('env.gate.vehicle'))
        payload['blacklist'] = self._merge(self._blacklist(company, window),
                                           buried.get('env.gate.blacklist'))
        payload['strategies'] = self._merge(self._strategies(company, window),
                                            buried.get('env.gate.strategy'))
        payload['lanes'] = self._merge(self._lanes(company, window),
                                       buried.get('env.gate.lane'))
        return payload

    @staticmethod
    def _merge(rows, deleted):
        """(version, row) lists -> rows in version order (a deletion then a re-creation
        of one id must reach the box in that order)."""
        merged = sorted((rows or []) + (deleted or []), key=lambda item: item[0])
        return [row for _version, row in merged]

    def _where(self, company, window, served):
        if window is None:
            return 'company_id = %s AND ' + served, [company]
        return 'company_id = %s AND sync_version > %s AND sync_version <= %s', \
            [company, window[0], window[1]]

    @api.model
    def _tombstones(self, company, window):
        if window is None:
            return {}
        self.env.cr.execute(
            'SELECT res_model, res_id, key, sync_version FROM env_gate_sync_tombstone '
            'WHERE company_id = %s AND sync_version > %s AND sync_version <= %s',
            (company, window[0], window[1]))
        buried = {}
        for model, res_id, key, version in self.env.cr.fetchall():
            row = {'code': key, 'deleted': True} if model == 'env.gate.lane' else \
                {'id': res_id, 'deleted': True}
            buried.setdefault(model, []).append((version, row))
        return buried

    @api.model
    def _vehicles(self, company, window):
        # Plain SQL: a full reply of 100,000 vehicles through the ORM would take seconds.
        where, params = self._where(company, window, 'active AND plate IS NOT NULL')
        self.env.cr.execute(
            'SELECT id, plate, plate_color, emission_stage, fuel_type, vehicle_type, category, '
            "COALESCE(NULLIF(fleet_name, ''), owner), special_purpose, hazardous_goods, "
            'livelihood, active, sync_version FROM env_gate_vehicle WHERE ' + where, params)
        rows = []
        for (vid, plate, color, stage, fuel, vtype, category, owner, special, hazardous,
             livelihood, active, version) in self.env.cr.fetchall():
            if active and plate:
                rows.append((version, vehicle_row(vid, plate, color, stage, fuel, vtype,
                                                  category, owner, (special is True,
                                                                    hazardous is True,
                                                                    livelihood is True))))
            else:
                rows.append((version, {'id': vid, 'deleted': True}))
        return rows

    @api.model
    def _blacklist(self, company, window):
        where, params = self._where(company, window, 'active')
        self.env.cr.execute(
            'SELECT id, plate, source, reason, valid_from, valid_to, active, sync_version '
            'FROM env_gate_blacklist WHERE ' + where, params)
        rows = []
        for bid, plate, source, reason, valid_from, valid_to, active, version in \
                self.env.cr.fetchall():
            if active and plate:
                rows.append((version, {'id': bid, 'plate_key': plate, 'source': source or '',
                                       'reason': reason or '', 'valid_from': _time(valid_from),
                                       'valid_to': _time(valid_to)}))
            else:
                rows.append((version, {'id': bid, 'deleted': True}))
        return rows

    @api.model
    def _strategies(self, company, window):
        where, params = self._where(company, window, "state = 'active'")
        self.env.cr.execute('SELECT id FROM env_gate_strategy WHERE ' + where, params)
        strategies = self.env['env.gate.strategy'].sudo().with_context(
            active_test=False).browse([row[0] for row in self.env.cr.fetchall()])
        return [(s.sync_version, s._sync_row() if s.state == 'active'
                 else {'id': s.id, 'deleted': True}) for s in strategies]

    @api.model
    def _lanes(self, company, window):
        where, params = self._where(company, window, 'active')
        self.env.cr.execute(
            'SELECT code, direction, unregistered, low_confidence, min_confidence, no_plate, '
            'blacklist_exit, require_clean, active, sync_version FROM env_gate_lane WHERE '
            + where, params)
        rows = []
        for (code, direction, unregistered, low_confidence, min_confidence, no_plate,
             blacklist_exit, require_clean, active, version) in self.env.cr.fetchall():
            if not active:
                rows.append((version, {'code': code, 'deleted': True}))
                continue
            rows.append((version, {
                'code': code, 'direction': LANE_DIRECTIONS.get(direction, 'both'),
                'unregistered': unregistered or 'hold', 'low_confidence': low_confidence or 'hold',
                'min_confidence': min_confidence if min_confidence is not None else 90.0,
                'no_plate': no_plate or 'hold', 'blacklist_exit': blacklist_exit or 'hold',
                'require_clean': bool(require_clean)}))
        return rows
