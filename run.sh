#!/usr/bin/env bash
# Install what is missing, create (or update) the demo database, and serve env_gate with
# the demo gate box (addons/env_gate_hw, a database-less Odoo of its own) next to it.
#   GATE_DB (env_gate_demo)  GATE_HTTP_PORT (8069)  GATE_PROXY_PORT (8070)
#   PGHOST/PGPORT/PGUSER/PGPASSWORD
source "$(dirname "$0")/scripts/lib.sh"
setup_all

DB=${GATE_DB:-env_gate_demo}
PORT=${GATE_HTTP_PORT:-8069}
PROXY_PORT=${GATE_PROXY_PORT:-8070}
MODULES=env_gate_ledger
addons_hash=$(find "$ROOT/addons" -type f ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
stamp="$STATE/$DB.addons-hash"

installed() {
    db_exists "$DB" && psql -d "$DB" -Atc \
        "select 1 from ir_module_module where name='env_gate_ledger' and state='installed'" 2>/dev/null | grep -q 1
}

if ! installed; then
    log "creating database $DB with the demo plant (2-3 minutes)"
    odoo -d "$DB" -i "$MODULES" --load-language=zh_CN --stop-after-init --log-level=warn
    echo "$addons_hash" > "$stamp"
elif [ "$(cat "$stamp" 2>/dev/null)" != "$addons_hash" ]; then
    log "add-ons changed: updating $MODULES in $DB"
    odoo -d "$DB" -u "$MODULES" --stop-after-init --log-level=warn
    echo "$addons_hash" > "$stamp"
fi

# The gate box runs beside the ERP; both stop when run.sh stops (Ctrl+C, TERM, or the
# ERP ending).
write_box_conf "$PORT" "$PROXY_PORT"
mkdir -p "$STATE/box"
BOX_PID= ERP_PID=
stop_all() {
    local pid
    for pid in $ERP_PID $BOX_PID; do kill "$pid" 2>/dev/null || true; done
    for pid in $ERP_PID $BOX_PID; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$PY" "$ROOT/bin/odoo" -c "$BOX_CONF" &
BOX_PID=$!

cat >&2 <<INFO

  env_gate is running:  http://localhost:$PORT/web?db=$DB
  Demo logins (password = login):
    admin    administrator (password: admin)
    manager  王芳, environmental manager
    clerk    李娜, logistics clerk
    guard    张伟, gate operator
    auditor  刘洋, auditor (read only)
  Gate-box API:  POST http://localhost:$PORT/env_gate/api/v1/events
                 Authorization: Bearer demo-token-e-in   (lanes E-IN, E-OUT, N-IN, N-OUT)
  Gate box:      http://localhost:$PROXY_PORT/env_gate_hw/status   (log: .state/box.log)
                 manual lift from that page: operator password demo-operator
                 cameras push to http://localhost:$PROXY_PORT/env_gate_hw/camera/alarminfoplate?lane=E-IN
                 e.g. .venv/bin/python tests/simulators/cameras_sim.py alarminfoplate \\
                      'http://localhost:$PROXY_PORT/env_gate_hw/camera/alarminfoplate?lane=E-IN' --plate 冀B12345

INFO
"$PY" "$ROOT/bin/odoo" -c "$CONF" -d "$DB" --db-filter="^$DB\$" --http-port="$PORT" &
ERP_PID=$!
wait "$ERP_PID"
