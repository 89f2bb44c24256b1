"""env_gate_hw: the gate box, an Odoo 11 server-wide module on the hw_proxy pattern.

Started as its own database-less Odoo process:

    odoo-bin -c box.conf --load=web,hw_proxy,env_gate_hw

Odoo imports this package at start and calls `post_load` (service.py), which reads the
[env_gate_hw] configuration and starts the box's threads once. The work itself is done by
the framework-free `gatebox` package; `controllers` only translate HTTP.

The box imports the shared `hj1321` package (code tables, plate rules, the event
contract) from the env_gate_ledger add-on directory, which must be on the addons path
(it is not installed: the box has no database).
"""
import os
import sys

from odoo.modules.module import get_module_path


def _put_hj1321_on_path():
    ledger = get_module_path('env_gate_ledger', display_warning=False)
    if ledger and os.path.isdir(os.path.join(ledger, 'hj1321')) and ledger not in sys.path:
        sys.path.append(ledger)


_put_hj1321_on_path()

from . import controllers  # noqa: E402
from .service import post_load  # noqa: E402,F401
