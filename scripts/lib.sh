# Shared setup for run.sh and test.sh: find Python 3.7, keep the virtualenv, lessc and
# PostgreSQL ready. Sourced, not run. Every step is idempotent and skips work already done.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.state"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
mkdir -p "$STATE"

log() { printf '\033[1m[env_gate]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[env_gate] %s\033[0m\n' "$*" >&2; exit 1; }

find_python37() {
    local c
    for c in "${PYTHON37:-}" \
             "$(command -v pyenv >/dev/null 2>&1 && echo "$(pyenv root)/versions/3.7.16/bin/python3.7")" \
             "$HOME/.pyenv/versions/3.7.16/bin/python3.7" \
             /root/.pyenv/versions/3.7.16/bin/python3.7 \
             "$(ls -d "$HOME"/.pyenv/versions/3.7.*/bin/python3.7 2>/dev/null | tail -n1)" \
             "$(command -v python3.7 || true)"; do
        [ -n "$c" ] && [ -x "$c" ] && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 7)' 2>/dev/null \
            && { echo "$c"; return 0; }
    done
    die "Python 3.7 not found. Odoo 11 needs exactly 3.7 (see ../shared/PLATFORM.md).
Install it (e.g. 'pyenv install 3.7.16') or set PYTHON37=/path/to/python3.7."
}

# Debian packages: libzbar0 for pyzbar, wkhtmltopdf for PDF reports, npm for lessc and
# playwright-core, chromium for the browser check (tests/system/test_browser.py), and a
# Chinese font unless one is there, so that Chinese is not drawn as boxes.
ensure_debs() {
    local missing=() p
    for p in libzbar0 wkhtmltopdf chromium; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    { command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh | grep -q .; } \
        || missing+=(fontconfig fonts-noto-cjk)
    ((${#missing[@]})) || return 0
    if [ "$(id -u)" = 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        log "warning: missing Debian packages ${missing[*]} (run as root or: sudo apt-get install ${missing[*]})"
    fi
}

ensure_venv() {
    local want have
    want=$(sha256sum "$ROOT/requirements.txt" | cut -c1-16)
    have=$(cat "$VENV/.req-hash" 2>/dev/null || true)
    [ "$want" = "$have" ] && [ -x "$PY" ] && return 0
    if [ ! -x "$PY" ]; then
        log "creating the Python 3.7 virtualenv in .venv"
        "$(find_python37)" -m venv "$VENV"
    fi
    log "installing pinned dependencies (about 2 minutes the first time)"
    "$PY" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements.txt" 2>&1 \
        | grep -v "is ignored: it is neither a file nor a directory" >&2 || true
    "$PY" -c 'import odoo, psycopg2, pyzbar.pyzbar, serial, zeep, jsonschema, pytest_odoo' \
        || die "the virtualenv is incomplete; see the pip output above"
    echo "$want" > "$VENV/.req-hash"
}

ensure_lessc() {
    local bin="$STATE/node/node_modules/.bin"
    if [ ! -x "$bin/lessc" ]; then
        command -v npm >/dev/null || die "npm is missing: apt-get install npm"
        log "installing lessc 3.9.0 (the Odoo 11 web client compiles LESS with it)"
        mkdir -p "$STATE/node"
        (cd "$STATE/node" && npm install --silent --no-audit --no-fund --prefix . less@3.9.0 >/dev/null)
    fi
    export PATH="$bin:$PATH"
}

# playwright-core drives the Debian chromium for the browser check; pinned (works with Node
# 18 and 20 and with Debian 12's Chromium), never downloads a browser of its own.
PLAYWRIGHT_CORE=1.61.1
ensure_playwright() {
    local node="$STATE/node"
    [ "$(cat "$node/node_modules/playwright-core/package.json" 2>/dev/null \
         | sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p')" = "$PLAYWRIGHT_CORE" ] && return 0
    command -v npm >/dev/null || die "npm is missing: apt-get install npm"
    log "installing playwright-core $PLAYWRIGHT_CORE (the browser check drives /usr/bin/chromium with it)"
    mkdir -p "$node"
    (cd "$node" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --silent --no-audit --no-fund \
        --save-exact --prefix . "playwright-core@$PLAYWRIGHT_CORE" >/dev/null)
}

# PostgreSQL: the caller's PG* settings when they answer; else the machine's cluster
# (as root); else a private cluster in .state/pg owned by the current user.
ensure_postgres() {
    if [ -n "${PGHOST:-}" ] && pg_isready -q -h "$PGHOST" -p "${PGPORT:-5432}" 2>/dev/null \
        && psql -h "$PGHOST" -p "${PGPORT:-5432}" -U "${PGUSER:-$USER}" -d postgres -Atc 'select 1' >/dev/null 2>&1; then
        DB_ARGS=(--db_host="$PGHOST" --db_port="${PGPORT:-5432}" --db_user="${PGUSER:-$(id -un)}")
        [ -n "${PGPASSWORD:-}" ] && DB_ARGS+=(--db_password="$PGPASSWORD")
        return 0
    fi
    unset PGHOST PGPORT
    if [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null; then
        local ver
        ver=$(pg_lsclusters -h 2>/dev/null | awk '{print $1; exit}')
        [ -n "$ver" ] || die "no PostgreSQL cluster on this machine: apt-get install postgresql"
        pg_lsclusters -h | awk '{print $4}' | head -n1 | grep -q online \
            || { log "starting PostgreSQL $ver"; pg_ctlcluster "$ver" main start; }
        for _ in $(seq 30); do pg_isready -q && break; sleep 0.5; done
        su postgres -c "psql -Atc \"select 1 from pg_roles where rolname='root'\"" | grep -q 1 \
            || su postgres -c "createuser --createdb --superuser root"
        DB_ARGS=(--db_user=root)
        export PGUSER=root
        return 0
    fi
    local bindir data="$STATE/pg" port="${GATE_PG_PORT:-54329}"
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
    [ -n "$bindir" ] || die "PostgreSQL is not installed: sudo apt-get install postgresql"
    if [ ! -f "$data/PG_VERSION" ]; then
        log "initialising a private PostgreSQL cluster in .state/pg"
        "$bindir/initdb" -D "$data" -U "$(id -un)" --auth=trust -E UTF8 >/dev/null
    fi
    if ! "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        "$bindir/pg_ctl" -D "$data" -l "$STATE/pg.log" -w \
            -o "-p $port -k $data -c listen_addresses=''" start >/dev/null
    fi
    export PGHOST="$data" PGPORT="$port"
    DB_ARGS=(--db_host="$data" --db_port="$port" --db_user="$(id -un)")
}

# .state/odoo.conf = odoo.conf plus this machine's database settings, so that Odoo,
# pytest-odoo and the system tests all read one file.
write_conf() {
    CONF="$STATE/odoo.conf"
    {
        grep -vE '^(addons_path|data_dir|db_[a-z]+) *=' "$ROOT/odoo.conf"
        local a
        for a in "${DB_ARGS[@]}"; do
            a=${a#--}; printf '%s = %s\n' "${a%%=*}" "${a#*=}"
        done
        printf 'addons_path = %s\n' "$ROOT/addons"
        printf 'data_dir = %s\n' "$STATE/filestore"
    } > "$CONF"
}

odoo() { "$PY" "$ROOT/bin/odoo" -c "$CONF" "$@"; }

# .state/box.conf: the demo gate box (addons/env_gate_hw), a database-less Odoo of its own
# on port $2 forwarding to the ERP on port $1, with the four demo lanes and their tokens.
# AlarmInfoPlate cameras push to http://<box>/env_gate_hw/camera/alarminfoplate?lane=E-IN.
write_box_conf() {
    local erp_port=$1 box_port=$2 lane token
    BOX_CONF="$STATE/box.conf"
    {
        printf '; generated by scripts/lib.sh (write_box_conf); see addons/env_gate_hw/box.example.conf\n'
        printf '[options]\naddons_path = %s\ndata_dir = %s\n' "$ROOT/addons" "$STATE/box/odoo"
        printf 'server_wide_modules = web,hw_proxy,env_gate_hw\nhttp_port = %s\n' "$box_port"
        printf 'workers = 0\nmax_cron_threads = 0\nlist_db = False\nlog_level = info\n'
        printf 'logfile = %s\n\n' "$STATE/box.log"
        printf '[env_gate_hw]\nerp_url = http://127.0.0.1:%s\ndata_dir = %s\n' "$erp_port" "$STATE/box"
        printf 'box_name = demo gate box\noperator_password = demo-operator\n'
        printf 'sync_interval = 30\nstatus_interval = 30\n'
        for lane in E-IN E-OUT N-IN N-OUT; do
            token="demo-token-$(printf '%s' "$lane" | tr 'A-Z' 'a-z')"
            printf '\n[env_gate_hw lane %s]\ntoken = %s\ndirection = %s\n' "$lane" "$token" \
                "$( [ "${lane#*-}" = IN ] && echo in || echo out )"
            printf 'camera = alarminfoplate\nbarrier = camera\nheartbeat_timeout = 600\n'
        done
    } > "$BOX_CONF"
    chmod 600 "$BOX_CONF"
}

db_exists() { psql -d postgres -Atc "select 1 from pg_database where datname='$1'" | grep -q 1; }

setup_all() {
    ensure_debs
    ensure_venv
    ensure_lessc
    ensure_playwright
    ensure_postgres
    write_conf
    cd "$ROOT"
}
