#!/usr/bin/env bash
# Install what is missing, then run every test against fresh throwaway databases.
# Last line: "N passed, M failed". Exits non-zero on any failure, error, or an ERROR /
# CRITICAL line in the Odoo log. Artefacts (logs, JUnit XML) go to artifacts/.
source "$(dirname "$0")/scripts/lib.sh"
setup_all
set +e   # from here on, a failing step is counted, not fatal

ART="$ROOT/artifacts"
rm -rf "$ART"; mkdir -p "$ART"
DB="env_gate_test_$$"
export GATE_TEST_DB="$DB" GATE_ODOO_CONF="$CONF" GATE_PYTHON="$PY"
cleanup() {
    psql -d postgres -qc "drop database if exists \"$DB\"" >/dev/null 2>&1 || true
    rm -rf "$STATE/filestore/filestore/$DB"
}
trap cleanup EXIT
status=0

log "installing env_gate_ledger with demo data into $DB"
if ! odoo -d "$DB" -i env_gate_ledger --stop-after-init --log-level=info \
        > "$ART/odoo-install.log" 2>&1; then
    tail -n 40 "$ART/odoo-install.log" >&2; die "the add-on did not install"
fi
if grep -E ' (ERROR|CRITICAL) ' "$ART/odoo-install.log" >&2; then
    log "the install log has ERROR/CRITICAL lines (above)"; status=1
fi

run_pytest() {  # name, pytest args...
    local name=$1; shift
    log "pytest: $name"
    env -u HOST -u PORT -u USER -u PASSWORD "$PY" -m pytest -q -p no:cacheprovider -p no:warnings \
        --junitxml="$ART/junit-$name.xml" "$@" 2>&1 | tee "$ART/pytest-$name.log" | tail -n 15 >&2
    [ "${PIPESTATUS[0]}" = 0 ] || status=1
}

run_pytest unit -p no:odoo tests/unit
# the Odoo tests log to a file of their own, read for ERROR/CRITICAL lines afterwards
{ cat "$CONF"; echo "logfile = $ART/odoo-tests.log"; } > "$STATE/odoo-tests.conf"
run_pytest odoo --odoo-config="$STATE/odoo-tests.conf" --odoo-database="$DB" --odoo-log-level=info \
    addons/env_gate_ledger/tests
if grep -E ' (ERROR|CRITICAL) ' "$ART/odoo-tests.log" >&2; then
    log "the Odoo test log has ERROR/CRITICAL lines (above)"; status=1
fi
run_pytest system -p no:odoo tests/system
if grep -E ' (ERROR|CRITICAL) ' "$ART/odoo-system-server.log" >&2; then
    log "the system-test server logged ERROR/CRITICAL lines (above)"; status=1
fi

"$PY" - "$ART"/junit-*.xml <<'PY'
import sys
import xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in sys.argv[1:]:
    root = ET.parse(path).getroot()
    for suite in (root.iter('testsuite')):
        tests, fail = int(suite.get('tests', 0)), int(suite.get('failures', 0)) + int(suite.get('errors', 0))
        skip = int(suite.get('skipped', 0))
        passed += tests - fail - skip; failed += fail; skipped += skip
line = '%d passed, %d failed' % (passed, failed)
print(line + (', %d skipped' % skipped if skipped else ''))
sys.exit(1 if failed or passed == 0 else 0)
PY
[ $? = 0 ] || status=1
exit $status
