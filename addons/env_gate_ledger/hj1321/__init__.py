"""hj1321: the framework-free core of env_gate (no Odoo import).

Code tables, plate and VIN rules, consistency warnings, the hash chain and the ingestion
contract of HJ 1321-2023 gate e-ledgers, shared by the ERP add-on, the gate box and the
regulator adapters. Only the standard library is used (jsonschema only in tests), and
imports inside the package are relative, so it works both as top-level `hj1321` and as
`odoo.addons.env_gate_ledger.hj1321`.
"""
from . import chain, codes, consistency, errors, events, plates, transport, vin  # noqa: F401
from .chain import GENESIS, canonical_json, chain_hash, verify_chain  # noqa: F401
from .codes import camera_color_to_hj, check_code, is_v_plus_or_new_energy  # noqa: F401
from .consistency import check_vehicle  # noqa: F401
from .errors import Hj1321Error  # noqa: F401
from .events import parse_event, parse_request, strip_pictures  # noqa: F401
from .plates import classify_plate, expected_colors, normalize_plate, validate_plate  # noqa: F401
from .vin import validate_vin, vin_check_digit  # noqa: F401
