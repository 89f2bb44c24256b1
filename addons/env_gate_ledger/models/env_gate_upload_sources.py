"""What the ledgers give the regulator uploads: rows queued when a record is created (or a
register entry edited), and the field values the canonical builders read.

Kept apart from the ledger models so the upload machinery stays in one place; each class
only extends its ledger model.
"""
from odoo import api, fields, models

PASSAGE_EXTRA = ('lane_id', 'gate_id', 'entry_id', 'exit_id', 'cargo_id', 'manual_user_id',
                 'vehicle_id', 'company_id')


def _content_changed(vals):
    """False for writes of bookkeeping only (chatter, activities, box sync counters)."""
    return any(not key.startswith(('message_', 'activity_', 'sync_', 'website_'))
               for key in vals)


def _plain_names(model, embed):
    """The stored scalar fields the canonical builders read (pictures only when embedded)."""
    names = [name for name, field in model._fields.items()
             if field.store and field.type not in ('one2many', 'many2many', 'binary')
             and name not in ('message_main_attachment_id',)]
    if embed:
        names += [name for name, field in model._fields.items()
                  if field.type == 'binary' and name.startswith('picture_')]
    return names


def _plain_values(records, embed):
    """read() of the stored scalar fields (pictures only when embedded): {id: values}."""
    return {values['id']: values for values in records.read(_plain_names(records, embed),
                                                             load='_classic_write')}


def stored_values(model, ids):
    """_plain_values(model.browse(ids), False) straight from the table, for exports of
    thousands of register entries: NULL for the ORM's False, which the canonical builders
    read alike (a test holds the records equal)."""
    names = _plain_names(model, False)
    # column names come from the model's fields, never from input
    model.env.cr.execute('SELECT %s FROM "%s" WHERE id = ANY(%%s)' % (
        ', '.join('"%s"' % name for name in names), model._table), (list(ids),))
    return {row['id']: row for row in model.env.cr.dictfetchall()}


class EnvGatePassage(models.Model):
    _inherit = 'env.gate.passage'

    upload_ids = fields.One2many('env.gate.upload', 'passage_id', 'Regulator Uploads',
                                 readonly=True)
    upload_state = fields.Selection([
        ('none', 'Not Sent'), ('pending', 'Sending'), ('delivered', 'Delivered'),
        ('failed', 'Retrying'), ('rejected', 'Rejected')], 'Upload',
        compute='_compute_upload_state',
        help='Delivered when every platform has the passage; Rejected when one refused it.')
    upload_count = fields.Integer('Uploads', compute='_compute_upload_state')

    def _compute_upload_state(self):
        states = {}
        if self.ids:
            self.env.cr.execute(
                'SELECT passage_id, array_agg(state) FROM env_gate_upload '
                'WHERE passage_id = ANY(%s) GROUP BY passage_id', (list(self.ids),))
            states = dict(self.env.cr.fetchall())
        for passage in self:
            mine = states.get(passage.id) or []
            passage.upload_count = len(mine)
            if not mine:
                passage.upload_state = 'none'
            elif 'rejected' in mine:
                passage.upload_state = 'rejected'
            elif 'failed' in mine:
                passage.upload_state = 'failed'
            elif 'pending' in mine:
                passage.upload_state = 'pending'
            else:
                passage.upload_state = 'delivered'

    @api.model
    def create(self, vals):
        passage = super(EnvGatePassage, self).create(vals)
        self.env['env.gate.upload']._enqueue(self._name, passage.ids, 'passage')
        return passage

    @api.model
    def _chain_insert(self, company_id, rows):
        """The ingestion path's bulk insert: queue the batch's uploads in one query."""
        super(EnvGatePassage, self)._chain_insert(company_id, rows)
        if rows:
            self.env['env.gate.upload']._enqueue(self._name, [row['id'] for row in rows],
                                                 'passage')

    @api.multi
    def action_view_uploads(self):
        self.ensure_one()
        action = self.env.ref('env_gate_ledger.env_gate_upload_action').read()[0]
        action['domain'] = [('passage_id', '=', self.id)]
        action['context'] = {}
        return action

    def _upload_values(self, embed):
        """{id: values for hj1321.canonical.canonical_passage}."""
        values = _plain_values(self, embed and any(self.mapped('picture_digests')))
        lanes = {l['id']: l for l in self.mapped('lane_id').read(['barrier_no', 'code'])}
        gates = {g['id']: g for g in self.mapped('gate_id').read(['code'])}
        others = self.mapped('entry_id') | self.mapped('exit_id')
        names = dict((p.id, p.name) for p in others)
        cargos = {c.id: c for c in self.mapped('cargo_id')}
        users = {u.id: u.name for u in self.mapped('manual_user_id')}
        vehicles = _plain_values(self.mapped('vehicle_id'), False)
        for pid, row in values.items():
            lane = lanes.get(row.get('lane_id')) or {}
            row.update({
                'barrier_no': lane.get('barrier_no'),
                'lane_code': lane.get('code'),
                'gate_code': (gates.get(row.get('gate_id')) or {}).get('code'),
                'entry_name': names.get(row.get('entry_id')),
                'exit_name': names.get(row.get('exit_id')),
                'manual_user': users.get(row.get('manual_user_id')),
                'hash': row.get('chain_hash'),
                'vehicle': vehicles.get(row.get('vehicle_id')),
            })
            cargo = cargos.get(row.get('cargo_id'))
            if cargo:
                row.update({'cargo_name': cargo.name, 'uom': cargo.uom})
        return values


class EnvGateVehicle(models.Model):
    _inherit = 'env.gate.vehicle'

    @api.model
    def create(self, vals):
        vehicle = super(EnvGateVehicle, self).create(vals)
        vehicle._queue_uploads()
        return vehicle

    @api.multi
    def write(self, vals):
        result = super(EnvGateVehicle, self).write(vals)
        if _content_changed(vals):
            # an edited entry has a new revision, so a new record_id: send it again
            self._queue_uploads(requeue=True)
        return result

    def _queue_uploads(self, requeue=False):
        kinds = {v.id: 'in_plant_vehicle' if v.category == 'in_plant' else 'vehicle'
                 for v in self}
        self.env['env.gate.upload']._enqueue(self._name, self.ids, kinds, requeue=requeue)

    def _upload_values(self, embed):
        return _plain_values(self, embed)


class EnvGateMachinery(models.Model):
    _inherit = 'env.gate.machinery'

    @api.model
    def create(self, vals):
        machine = super(EnvGateMachinery, self).create(vals)
        self.env['env.gate.upload']._enqueue(self._name, machine.ids, 'machinery')
        return machine

    @api.multi
    def write(self, vals):
        result = super(EnvGateMachinery, self).write(vals)
        if _content_changed(vals):
            self.env['env.gate.upload']._enqueue(self._name, self.ids, 'machinery',
                                                 requeue=True)
        return result

    def _upload_values(self, embed):
        return _plain_values(self, embed)
