from odoo import api, models

from ..hj1321 import plates
from ..hj1321.errors import Hj1321Error
from .common import validation_error


class EnvGatePlateMixin(models.AbstractModel):
    """Records keyed by a typed plate (appointments, blacklist entries, register proposals):
    the plate is validated and stored as its normalised key, so it matches the register
    and the gate box's reads whatever spacing or case was typed or imported."""
    _name = 'env.gate.plate.mixin'
    _description = 'Normalised Plate'

    @api.model
    def _normalise_vals(self, vals):
        if vals.get('plate'):
            try:
                vals = dict(vals, plate=plates.validate_plate(vals['plate'])[0])
            except Hj1321Error as exc:
                raise validation_error(exc, self.env)
        return vals

    @api.model
    def create(self, vals):
        return super(EnvGatePlateMixin, self).create(self._normalise_vals(vals))

    @api.multi
    def write(self, vals):
        return super(EnvGatePlateMixin, self).write(self._normalise_vals(vals))
