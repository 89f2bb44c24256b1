"""hj1321: the framework-free core of env_gate (no Odoo import).

Code tables, plate and VIN rules, consistency warnings, the hash chain and the ingestion
contract, shared by the ERP add-on, the gate box and the regulator adapters.
"""
