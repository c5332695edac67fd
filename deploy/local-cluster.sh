#!/usr/bin/env bash
# A fenliu cluster on this machine, loopback only, in one command:
#
#   redis-server (AOF on, own temp dir)  <-  fenliu n1, n2, n3  <-  nginx :8080
#
# It builds the binary, starts everything, prints tokens for a demo shop and
# curl examples, and waits. Ctrl-C (or SIGTERM) stops nginx, sends SIGTERM to
# the nodes (they drain and hand their shops back), stops Redis and removes
# the temp dir.
#
# Usage: deploy/local-cluster.sh [--lb-port N] [--node-port-base N] [--nodes N]
#                                [--redis-port N] [--shop S] [--no-build]
#                                [--demo] [--keep-tmp]
#
# Every flag has an environment variable: LB_PORT (8080), NODE_PORT_BASE
# (8081: nodes listen on 8081, 8082, ...), NODES (3), REDIS_PORT (a free
# port), SHOP (demo), SKIP_BUILD=1, DEMO=1, KEEP_TMP=1. Also read:
# FENLIU_JWT_SECRET (generated when unset), FENLIU_LEASE_TTL_MS (10000),
# REDIS_APPENDFSYNC (everysec; `always` for no loss on a host crash),
# FENLIU_BIN (a prebuilt binary; implies --no-build), CARGO_TARGET_DIR.
#
# Needs: redis-server, nginx, curl, and cargo unless FENLIU_BIN is given
# (Debian/Ubuntu: apt-get install redis-server nginx curl).
#
# Started with `&` from another script, bash ignores SIGINT in the child:
# stop it with SIGTERM (kill <pid>) then.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPLATE="$ROOT/deploy/nginx/fenliu.conf"

LB_PORT="${LB_PORT:-8080}"
NODE_PORT_BASE="${NODE_PORT_BASE:-8081}"
NODES="${NODES:-3}"
REDIS_PORT="${REDIS_PORT:-}"
SHOP="${SHOP:-demo}"
SKIP_BUILD="${SKIP_BUILD:-0}"
DEMO="${DEMO:-0}"
KEEP_TMP="${KEEP_TMP:-0}"
LEASE_TTL_MS="${FENLIU_LEASE_TTL_MS:-10000}"
APPENDFSYNC="${REDIS_APPENDFSYNC:-everysec}"

log() { printf '[local-cluster] %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
    --lb-port) LB_PORT="${2:?--lb-port needs a value}"; shift 2 ;;
    --node-port-base) NODE_PORT_BASE="${2:?--node-port-base needs a value}"; shift 2 ;;
    --nodes) NODES="${2:?--nodes needs a value}"; shift 2 ;;
    --redis-port) REDIS_PORT="${2:?--redis-port needs a value}"; shift 2 ;;
    --shop) SHOP="${2:?--shop needs a value}"; shift 2 ;;
    --no-build) SKIP_BUILD=1; shift ;;
    --demo) DEMO=1; shift ;;
    --keep-tmp) KEEP_TMP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done

is_port() { [[ "$1" =~ ^[0-9]+$ ]] && (("$1" >= 1 && "$1" <= 65535)); }
is_port "$LB_PORT" || die "LB_PORT must be a port number, not '$LB_PORT'"
is_port "$NODE_PORT_BASE" || die "NODE_PORT_BASE must be a port number, not '$NODE_PORT_BASE'"
[[ "$NODES" =~ ^[1-9][0-9]*$ ]] || die "NODES must be a positive number, not '$NODES'"
is_port $((NODE_PORT_BASE + NODES - 1)) || die "node ports run past 65535"
[[ -z "$REDIS_PORT" ]] || is_port "$REDIS_PORT" || die "REDIS_PORT must be a port number"
[[ "$SHOP" =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || die "SHOP must match [A-Za-z0-9_.-]{1,64}"
case "$APPENDFSYNC" in always | everysec | no) ;; *) die "REDIS_APPENDFSYNC must be always, everysec or no" ;; esac

# --- prerequisites ------------------------------------------------------------

missing=()
for tool in redis-server nginx curl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    die "not installed: ${missing[*]}. On Debian/Ubuntu: apt-get install redis-server nginx curl"
fi
[[ -f "$TEMPLATE" ]] || die "nginx template $TEMPLATE not found"
if ! grep -q '# >>> fenliu nodes' "$TEMPLATE" || ! grep -q '# <<< fenliu nodes' "$TEMPLATE"; then
    die "$TEMPLATE lost its '# >>> fenliu nodes' / '# <<< fenliu nodes' markers"
fi

# Whether something accepts connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

NODE_PORTS=()
for ((i = 0; i < NODES; i++)); do NODE_PORTS+=($((NODE_PORT_BASE + i))); done
for port in "$LB_PORT" "${NODE_PORTS[@]}"; do
    if port_in_use "$port"; then
        die "port $port is taken; choose others, e.g. LB_PORT=18080 NODE_PORT_BASE=18081 $0"
    fi
done
if [[ -z "$REDIS_PORT" ]]; then
    for _ in $(seq 1 100); do
        candidate=$((20000 + RANDOM % 30000))
        if ! port_in_use "$candidate"; then
            REDIS_PORT=$candidate
            break
        fi
    done
    [[ -n "$REDIS_PORT" ]] || die "no free port for Redis found; set REDIS_PORT"
elif port_in_use "$REDIS_PORT"; then
    die "port $REDIS_PORT (REDIS_PORT) is taken"
fi

# --- build --------------------------------------------------------------------

if [[ -n "${FENLIU_BIN:-}" ]]; then
    BIN="$FENLIU_BIN"
else
    target="${CARGO_TARGET_DIR:-$ROOT/target}"
    [[ "$target" = /* ]] || target="$ROOT/$target"
    BIN="$target/release/fenliu"
    if [[ "$SKIP_BUILD" != 1 ]]; then
        command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust from https://rustup.rs)"
        log "building: cargo build --release -p fenliu"
        (cd "$ROOT" && cargo build --release -p fenliu)
    fi
fi
[[ -x "$BIN" ]] || die "no fenliu binary at $BIN (build it, or set FENLIU_BIN)"

# --- processes and cleanup ----------------------------------------------------

TMP="$(mktemp -d "${TMPDIR:-/tmp}/fenliu-cluster.XXXXXX")"
REDIS_PID=""
NGINX_PID=""
NODE_PIDS=()
SLEEP_PID=""
CLEANED=0

# Whether process $1 still runs (a stopped process counts, a zombie not).
alive() {
    local state
    state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z ]]
}

# Collects the exit status of child $1 once (a second `wait` could not).
declare -A STATUS=()
reap() {
    [[ -n "${STATUS[$1]:-}" ]] && return 0
    local rc=0
    wait "$1" 2>/dev/null || rc=$?
    STATUS[$1]=$rc
}

# stop NAME PID SIGNAL SECONDS: signal, wait, SIGKILL after SECONDS.
stop() {
    local name="$1" pid="$2" sig="$3" secs="$4"
    [[ -n "$pid" ]] || return 0
    if alive "$pid"; then
        kill "-$sig" "$pid" 2>/dev/null || true
        kill -CONT "$pid" 2>/dev/null || true # in case it was paused (kill -STOP)
    fi
    local deadline=$((SECONDS + secs))
    while alive "$pid"; do
        if ((SECONDS >= deadline)); then
            log "$name (pid $pid) did not stop within ${secs}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done
    reap "$pid"
    log "$name (pid $pid) stopped, exit status ${STATUS[$pid]}"
}

cleanup() {
    ((CLEANED == 0)) || return 0
    CLEANED=1
    trap '' INT TERM # a second Ctrl-C must not cut the shutdown short
    [[ -z "$SLEEP_PID" ]] || kill "$SLEEP_PID" 2>/dev/null || true
    log "shutting down"
    # 1. The balancer first, so no new requests arrive (QUIT: graceful; open
    #    event streams are cut after worker_shutdown_timeout).
    stop nginx "$NGINX_PID" QUIT 10
    # 2. The nodes drain in parallel: readiness turns 503, shop actors
    #    retire, leases are released, in-flight requests finish, exit 0.
    local i
    for i in "${!NODE_PIDS[@]}"; do
        if alive "${NODE_PIDS[$i]}"; then
            kill -TERM "${NODE_PIDS[$i]}" 2>/dev/null || true
            kill -CONT "${NODE_PIDS[$i]}" 2>/dev/null || true
        fi
    done
    for i in "${!NODE_PIDS[@]}"; do
        stop "n$((i + 1))" "${NODE_PIDS[$i]}" TERM 30
    done
    # 3. Redis last: the nodes release their leases through it. SIGTERM makes
    #    it fsync the append-only file and exit.
    stop redis-server "$REDIS_PID" TERM 10
    if [[ "$KEEP_TMP" == 1 ]]; then
        log "kept $TMP (logs, Redis data, nginx config)"
    else
        rm -rf "$TMP"
        log "removed $TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Every child runs in its own session (setsid): a Ctrl-C in this terminal
# reaches only this script, which then stops them in order.

# --- Redis ----------------------------------------------------------------------

redis_ping() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" || exit 1
        printf 'PING\r\n' >&3
        IFS= read -r -t 2 reply <&3 || exit 1
        [[ "$reply" == +PONG* ]]
    ) 2>/dev/null
}

mkdir -p "$TMP/redis"
log "starting redis-server on 127.0.0.1:$REDIS_PORT (appendonly yes, appendfsync $APPENDFSYNC)"
setsid redis-server \
    --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
    --dir "$TMP/redis" --logfile "$TMP/redis/redis.log" --daemonize no \
    --appendonly yes --appendfsync "$APPENDFSYNC" --save "" \
    </dev/null >/dev/null 2>&1 &
REDIS_PID=$!
deadline=$((SECONDS + 15))
until redis_ping; do
    if ! alive "$REDIS_PID" || ((SECONDS >= deadline)); then
        tail -n 20 "$TMP/redis/redis.log" >&2 || true
        die "redis-server did not start (log above)"
    fi
    sleep 0.1
done

# --- nodes ----------------------------------------------------------------------

if [[ -z "${FENLIU_JWT_SECRET:-}" ]]; then
    FENLIU_JWT_SECRET="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
    log "generated FENLIU_JWT_SECRET (set it yourself to keep tokens across runs)"
fi
export FENLIU_JWT_SECRET

REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
for i in "${!NODE_PORTS[@]}"; do
    n=$((i + 1))
    port="${NODE_PORTS[$i]}"
    log "starting node n$n on 127.0.0.1:$port"
    FENLIU_LISTEN="127.0.0.1:$port" \
        FENLIU_NODE_ID="n$n" \
        FENLIU_ADVERTISE_URL="http://127.0.0.1:$port" \
        FENLIU_REDIS_URL="$REDIS_URL" \
        FENLIU_LEASE_TTL_MS="$LEASE_TTL_MS" \
        setsid "$BIN" serve </dev/null >"$TMP/n$n.log" 2>&1 &
    NODE_PIDS+=($!)
done
for i in "${!NODE_PORTS[@]}"; do
    n=$((i + 1))
    port="${NODE_PORTS[$i]}"
    deadline=$((SECONDS + 30))
    until curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz" 2>/dev/null; do
        if ! alive "${NODE_PIDS[$i]}" || ((SECONDS >= deadline)); then
            tail -n 30 "$TMP/n$n.log" >&2 || true
            die "node n$n did not become ready (log above)"
        fi
        sleep 0.2
    done
done

# --- nginx ----------------------------------------------------------------------

mkdir -p "$TMP/nginx/logs" "$TMP/nginx/temp"
# The template's upstream servers become the local nodes (keeping the
# template's max_fails/fail_timeout), its listen becomes loopback, its
# access log goes to the temp dir; every other setting is used as written.
awk -v ports="${NODE_PORTS[*]}" \
    -v listen="127.0.0.1:$LB_PORT" \
    -v access_log="$TMP/nginx/logs/access.log" '
    /# >>> fenliu nodes/ { print; inside = 1; next }
    /# <<< fenliu nodes/ {
        n = split(ports, p, " ")
        for (i = 1; i <= n; i++) printf "    server 127.0.0.1:%s%s;\n", p[i], params
        print; inside = 0; next
    }
    inside && $1 == "server" {
        if (!seen++) { params = ""; for (f = 3; f <= NF; f++) params = params " " $f; sub(/;$/, "", params) }
        next
    }
    $1 == "listen" { if (!listened++) { match($0, /^[ \t]*/); printf "%slisten %s;\n", substr($0, 1, RLENGTH), listen }; next }
    $1 == "access_log" { sub(/access_log[ \t]+[^ \t;]+/, "access_log " access_log); print; next }
    { print }
' "$TEMPLATE" >"$TMP/nginx/fenliu.conf"

cat >"$TMP/nginx/nginx.conf" <<EOF
# Generated by deploy/local-cluster.sh; the fenliu part is fenliu.conf,
# derived from deploy/nginx/fenliu.conf.
daemon off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
# Graceful stop waits for open event streams at most this long.
worker_shutdown_timeout 5s;

events {
    worker_connections 1024;
}

http {
    access_log $TMP/nginx/logs/access.log;
    # Keep nginx away from its compiled-in /var/lib/nginx paths.
    client_body_temp_path $TMP/nginx/temp/body;
    proxy_temp_path $TMP/nginx/temp/proxy;
    fastcgi_temp_path $TMP/nginx/temp/fastcgi;
    uwsgi_temp_path $TMP/nginx/temp/uwsgi;
    scgi_temp_path $TMP/nginx/temp/scgi;
    default_type application/octet-stream;

    include $TMP/nginx/fenliu.conf;
}
EOF

NGINX_ARGS=(-p "$TMP/nginx" -c "$TMP/nginx/nginx.conf")
# -e (nginx >= 1.19.5) keeps even the startup error log out of /var/log.
if nginx -h 2>&1 | grep -qE '^[[:space:]]*-e '; then
    NGINX_ARGS+=(-e "$TMP/nginx/logs/error.log")
fi
if ! nginx -t -q "${NGINX_ARGS[@]}" 2>"$TMP/nginx/test.log"; then
    cat "$TMP/nginx/test.log" >&2
    die "generated nginx configuration is invalid: $TMP/nginx/nginx.conf"
fi
log "starting nginx on 127.0.0.1:$LB_PORT"
setsid nginx "${NGINX_ARGS[@]}" </dev/null >"$TMP/nginx/logs/stdout.log" 2>&1 &
NGINX_PID=$!
LB="http://127.0.0.1:$LB_PORT"
deadline=$((SECONDS + 15))
until curl -fsS -o /dev/null --max-time 2 "$LB/readyz" 2>/dev/null; do
    if ! alive "$NGINX_PID" || ((SECONDS >= deadline)); then
        cat "$TMP/nginx/logs/error.log" "$TMP/nginx/logs/stdout.log" >&2 2>/dev/null || true
        die "nginx did not start (log above)"
    fi
    sleep 0.1
done

# --- tokens and examples --------------------------------------------------------

token() { "$BIN" token --role "$1" --shop "$SHOP" --sub "$2" --ttl-secs 86400; }
ADMIN_TOKEN="$(token admin admin)"
SUPERVISOR_TOKEN="$(token supervisor supervisor)"
SERVICE_TOKEN="$(token service im-gateway)"
AGENT_TOKEN="$(token agent a1)"

ENV_FILE="$TMP/env.sh"
(
    umask 077
    cat >"$ENV_FILE" <<EOF
export FENLIU=$LB
export FENLIU_JWT_SECRET=$FENLIU_JWT_SECRET
export ADMIN_TOKEN=$ADMIN_TOKEN
export SUPERVISOR_TOKEN=$SUPERVISOR_TOKEN
export SERVICE_TOKEN=$SERVICE_TOKEN
export AGENT_TOKEN=$AGENT_TOKEN
EOF
)

nodes_table=""
for i in "${!NODE_PORTS[@]}"; do
    nodes_table+="  n$((i + 1))  http://127.0.0.1:${NODE_PORTS[$i]}  pid ${NODE_PIDS[$i]}  log $TMP/n$((i + 1)).log"$'\n'
done

cat <<EOF

fenliu cluster is up (shop "$SHOP", tokens valid 24 h)

  load balancer  $LB  (nginx, pid $NGINX_PID, logs $TMP/nginx/logs/)
  redis          $REDIS_URL  (pid $REDIS_PID, data $TMP/redis/)
$nodes_table
Tokens (also in $ENV_FILE: run \`source $ENV_FILE\`):

  FENLIU_JWT_SECRET=$FENLIU_JWT_SECRET
  ADMIN_TOKEN=$ADMIN_TOKEN
  SUPERVISOR_TOKEN=$SUPERVISOR_TOKEN
  SERVICE_TOKEN=$SERVICE_TOKEN
  AGENT_TOKEN=$AGENT_TOKEN   # agent a1

Try it (after sourcing the env file):

  curl -s -X PUT \$FENLIU/v1/shops/$SHOP/agents/a1 -H "Authorization: Bearer \$ADMIN_TOKEN" -d '{"display_name":"小王"}'
  curl -s -X PUT \$FENLIU/v1/shops/$SHOP/agents/a1/status -H "Authorization: Bearer \$AGENT_TOKEN" -d '{"status":"online"}'
  curl -s -X POST \$FENLIU/v1/shops/$SHOP/inquiries -H "Authorization: Bearer \$SERVICE_TOKEN" -d '{"buyer_id":"b1","entry":"product_detail"}'
  curl -s \$FENLIU/v1/shops/$SHOP/owner -H "Authorization: Bearer \$SERVICE_TOKEN"      # which node serves the shop
  curl -sN \$FENLIU/v1/shops/$SHOP/events -H "Authorization: Bearer \$SERVICE_TOKEN"    # Server-Sent Events
  curl -s http://127.0.0.1:${NODE_PORTS[0]}/metrics | grep ^fenliu_

Failure drills: \`kill -9 <pid>\` the owner (another node takes the shop within
FENLIU_LEASE_TTL_MS=$LEASE_TTL_MS ms), \`kill -STOP <pid>\` / \`kill -CONT <pid>\` to pause
it, \`kill -TERM <pid>\` to drain one node.

Ctrl-C stops everything.
EOF

if [[ "$DEMO" == 1 ]]; then
    demo() {
        local method="$1" path="$2" token="$3" body="${4:-}"
        printf '\n%s %s\n' "$method" "$path"
        curl -sS -X "$method" "$LB$path" -H "Authorization: Bearer $token" ${body:+-d "$body"} -w '\n  -> HTTP %{http_code}\n'
    }
    echo
    echo "Demo through the load balancer:"
    demo PUT "/v1/shops/$SHOP/agents/a1" "$ADMIN_TOKEN" '{"display_name":"小王"}'
    demo PUT "/v1/shops/$SHOP/agents/a1/status" "$AGENT_TOKEN" '{"status":"online"}'
    demo POST "/v1/shops/$SHOP/inquiries" "$SERVICE_TOKEN" '{"buyer_id":"b1","entry":"product_detail"}'
    demo GET "/v1/shops/$SHOP/owner" "$SERVICE_TOKEN"
fi

# --- wait -----------------------------------------------------------------------

# Report processes that exit on their own (say, a node you killed) and keep
# serving with the rest; only Ctrl-C or SIGTERM ends the script.
declare -A reported=()
while true; do
    for name in redis nginx "${!NODE_PIDS[@]}"; do
        case "$name" in
        redis) pid="$REDIS_PID" label=redis-server ;;
        nginx) pid="$NGINX_PID" label=nginx ;;
        *) pid="${NODE_PIDS[$name]}" label="n$((name + 1))" ;;
        esac
        if [[ -z "${reported[$label]:-}" ]] && ! alive "$pid"; then
            reported[$label]=1
            reap "$pid"
            log "$label (pid $pid) exited on its own, status ${STATUS[$pid]}; the rest keeps running"
        fi
    done
    sleep 1 &
    SLEEP_PID=$!
    wait "$SLEEP_PID" || true
    SLEEP_PID=""
done
