#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 with trust auth for user `postgres` and
# has a database `test`: what tests/conftest.py expects. For test machines (CI, dev containers):
# when it has to start a Debian cluster it also sets it to listen on 127.0.0.1:5432 and trusts
# local connections.
#
# In order: already answering -> done. A Debian cluster exists -> start it. Otherwise install the
# `postgresql` package (root, or password-less sudo) and start its cluster. If none of that is
# possible, initdb a throwaway cluster under $TMPDIR as an unprivileged user.
#
# Idempotent, non-interactive (no stdin needed), every wait bounded; exit 0 only when the server
# answers and the `test` database exists.
set -euo pipefail

HOST=127.0.0.1
PORT=5432
WAIT_SECONDS=${ENSURE_PG_WAIT:-30}
export PGCONNECT_TIMEOUT=5 DEBIAN_FRONTEND=noninteractive

say() { echo "ensure-postgres: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# 0: accepting connections; 1: up but rejecting (starting); 2: no response. Without the client
# tools, a bare TCP probe tells 0 from 2.
probe() {
    if command -v pg_isready >/dev/null; then
        pg_isready -q -h "$HOST" -p "$PORT" -t 3 </dev/null 2>/dev/null
    else
        timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$PORT" 2>/dev/null || return 2
    fi
}

wait_until_ready() {
    local i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        probe && return 0
        sleep 1
    done
    return 1
}

# Run as root, through password-less sudo, or fail fast (never prompts).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}
can_be_root() { [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }

ensure_test_db() {
    local psql=(psql -X -w -q -h "$HOST" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1)
    local exists
    command -v psql >/dev/null || die "server answers on $HOST:$PORT but psql is missing (install postgresql-client)"
    exists=$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" </dev/null) ||
        die "server answers on $HOST:$PORT but user postgres cannot log in without a password (need trust auth)"
    if [ "$exists" != 1 ]; then
        "${psql[@]}" -c 'CREATE DATABASE test' </dev/null
        say "created database test"
    fi
}

debian_cluster() {  # prints "VERSION NAME" of the newest Debian cluster, if any
    local version name
    [ -d /etc/postgresql ] || return 1
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    [ -n "$version" ] || return 1
    if [ -d "/etc/postgresql/$version/main" ]; then name=main; else name=$(ls "/etc/postgresql/$version" | head -n 1); fi
    [ -n "$name" ] || return 1
    echo "$version $name"
}

configure_debian_cluster() {  # listen on 127.0.0.1:5432, trust local connections (test machines only)
    local conf=/etc/postgresql/$1/$2
    if ! grep -qsE "^\s*port\s*=\s*$PORT\b" "$conf"/conf.d/*.conf; then
        as_root tee "$conf/conf.d/90-csgate-test.conf" >/dev/null <<EOF
# written by csgate scripts/ensure-postgres.sh: test server on loopback only
listen_addresses = '$HOST'
port = $PORT
EOF
    fi
    if ! as_root grep -qE "^host\s+all\s+all\s+$HOST/32\s+trust" "$conf/pg_hba.conf"; then
        as_root sed -i "1i host all all $HOST/32 trust  # csgate ensure-postgres.sh" "$conf/pg_hba.conf"
        as_root sed -i "1i local all all trust  # csgate ensure-postgres.sh" "$conf/pg_hba.conf"
    fi
}

start_debian_cluster() {
    local version=$1 name=$2
    configure_debian_cluster "$version" "$name"
    say "starting Debian cluster $version/$name"
    # restart starts a stopped cluster and makes a running one (listening elsewhere) re-read the above
    as_root timeout 60 pg_ctlcluster --skip-systemctl-redirect "$version" "$name" restart </dev/null &&
        wait_until_ready ||
        die "Debian cluster $version/$name did not answer on $HOST:$PORT; see /var/log/postgresql/"
    say "Debian cluster $version/$name answers on $HOST:$PORT"
}

install_postgres() {
    command -v apt-get >/dev/null || { say "no apt-get here"; return 1; }
    can_be_root || { say "installing postgresql needs root or password-less sudo"; return 1; }
    say "installing the postgresql package"
    as_root timeout 300 apt-get update -qq -o Acquire::Retries=2 </dev/null || return 1
    as_root timeout 600 apt-get install -y -qq --no-install-recommends postgresql </dev/null || return 1
}

throwaway_cluster() {  # initdb under $TMPDIR, as an unprivileged user (initdb refuses root)
    local initdb user dir
    initdb=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$initdb" ] || die "no PostgreSQL here and none can be installed; install PostgreSQL or start a server on $HOST:$PORT"
    local bindir
    bindir=$(dirname "$(readlink -f "$initdb")")
    local run=()
    if [ "$(id -u)" -eq 0 ]; then
        user=postgres
        id "$user" >/dev/null 2>&1 || user=nobody
        run=(runuser -u "$user" --)
    else
        user=$(id -un)
    fi
    dir="${TMPDIR:-/tmp}/csgate-pg-$user"
    if [ ! -f "$dir/PG_VERSION" ]; then
        say "creating a throwaway cluster in $dir (user $user)"
        mkdir -p "$dir"
        chmod 700 "$dir"
        [ "$(id -u)" -ne 0 ] || chown "$user" "$dir"
        "${run[@]}" "$bindir/initdb" -D "$dir" -U postgres -A trust --no-sync -E UTF8 >"$dir.initdb.log" 2>&1 </dev/null ||
            die "initdb failed, see $dir.initdb.log"
    fi
    say "starting the throwaway cluster in $dir"
    "${run[@]}" "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t "$WAIT_SECONDS" \
        -o "-c listen_addresses=$HOST -p $PORT -k $dir" start </dev/null >/dev/null ||
        die "the throwaway cluster did not start, see $dir/server.log"
    wait_until_ready
}

cluster=""
status=0
probe || status=$?
if [ "$status" -eq 1 ]; then
    say "server on $HOST:$PORT is starting up; waiting"
    wait_until_ready || die "server on $HOST:$PORT still rejects connections after ${WAIT_SECONDS}s"
fi
if probe; then
    say "PostgreSQL answers on $HOST:$PORT"
elif cluster=$(debian_cluster) && can_be_root; then
    start_debian_cluster $cluster
elif [ -z "$cluster" ] && install_postgres && cluster=$(debian_cluster); then
    start_debian_cluster $cluster
elif throwaway_cluster; then  # no root, or nothing installable
    say "throwaway cluster answers on $HOST:$PORT"
else
    die "PostgreSQL did not come up on $HOST:$PORT within ${WAIT_SECONDS}s"
fi
ensure_test_db
