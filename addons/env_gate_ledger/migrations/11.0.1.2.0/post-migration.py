"""11.0.1.2.0: refused and voided entries get pairing states of their own.

Before, an entry the barrier refused (the truck never came in) or a guard voided (a false
trigger) stayed "on site" for ever, and an exit could pair with it. The stored compute is
not recomputed on upgrade, so set the new states once here.
"""


def migrate(cr, version):
    if not version:
        return
    cr.execute("""UPDATE env_gate_passage
                     SET pair_state = CASE WHEN voided THEN 'voided' ELSE 'refused' END
                   WHERE direction = '1' AND pair_state = 'on_site'
                     AND (voided OR decision = '2')""")
