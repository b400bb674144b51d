# Shared by the scripts: toolchain on PATH, free ports, a throwaway redis-server.

authbench_find_swift() {
  if ! command -v swift >/dev/null 2>&1; then
    for candidate in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
      if [ -x "$candidate/swift" ]; then PATH="$candidate:$PATH"; export PATH; break; fi
    done
  fi
  command -v swift >/dev/null 2>&1 || {
    echo "error: no Swift toolchain: put its usr/bin on PATH (https://www.swift.org/install/linux/)" >&2
    return 1
  }
}

authbench_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# authbench_start_redis DIR [PORT]: starts redis-server on PORT (a free loopback port if
# absent) with no persistence, its files in DIR; sets AUTHBENCH_REDIS_PID and AUTHBENCH_REDIS_PORT.
authbench_start_redis() {
  local dir=$1 port=${2:-}
  [ -n "$port" ] || port=$(authbench_free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --daemonize no --loglevel warning --logfile "$dir/redis.log" </dev/null >/dev/null 2>&1 &
  AUTHBENCH_REDIS_PID=$!
  AUTHBENCH_REDIS_PORT=$port
  for _ in $(seq 1 300); do
    if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then return 0; fi
    kill -0 "$AUTHBENCH_REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "error: redis-server did not start on 127.0.0.1:$port; see $dir/redis.log" >&2
  return 1
}

# authbench_help SCRIPT ARGUMENTS...: with -h or --help among the arguments, prints the script's
# opening comment (what it does and its usage) and exits.
authbench_help() {
  local script=$1 argument
  shift
  for argument in "$@"; do
    case "$argument" in
      -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$script"; exit 0 ;;
    esac
  done
}

# authbench_docker_engine LOG_DIR: makes sure a Docker engine answers, starting dockerd (as root)
# when none does; sets AUTHBENCH_DOCKERD_PID to the one it started (empty if it found one), so
# that the caller stops only what it started (authbench_stop_docker_engine).
authbench_docker_engine() {
  local log_dir=$1
  AUTHBENCH_DOCKERD_PID=""
  docker info >/dev/null 2>&1 && return 0
  command -v dockerd >/dev/null 2>&1 || { echo "error: no Docker engine and no dockerd: run scripts/bootstrap" >&2; return 1; }
  [ "$(id -u)" -eq 0 ] || { echo "error: no Docker engine answers and starting dockerd needs root" >&2; return 1; }
  dockerd > "$log_dir/dockerd.log" 2>&1 < /dev/null &
  AUTHBENCH_DOCKERD_PID=$!
  for _ in $(seq 1 300); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$AUTHBENCH_DOCKERD_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "error: dockerd did not start; its log:" >&2
  tail -5 "$log_dir/dockerd.log" >&2
  return 1
}

authbench_stop_docker_engine() {
  [ -n "${AUTHBENCH_DOCKERD_PID:-}" ] || return 0
  kill -TERM "$AUTHBENCH_DOCKERD_PID" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$AUTHBENCH_DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
  AUTHBENCH_DOCKERD_PID=""
}

# authbench_free_subnet_prefixes: prints two /24 prefixes (e.g. "10.213.40 10.213.41") that no
# Docker network and no route of this host uses, for a project's own front and back networks.
authbench_free_subnet_prefixes() {
  local used x
  used=$( { docker network inspect $(docker network ls -q) -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' 2>/dev/null; ip -4 route 2>/dev/null; } | tr ' ' '\n')
  for _ in $(seq 1 100); do
    x=$(( (RANDOM % 120) * 2 + 2 ))
    if ! grep -qE "^10\.213\.($x|$((x + 1)))\." <<< "$used"; then echo "10.213.$x 10.213.$((x + 1))"; return 0; fi
  done
  echo "error: no free 10.213.x.0/24 pair for the project's networks" >&2
  return 1
}

# authbench_generate_key ALG FILE: a fresh signing key for HS256 (48 random bytes), ES256 or
# EdDSA (PEM), readable by its owner only; fails for any other algorithm.
authbench_generate_key() {
  case "$1" in
    HS256) head -c 48 /dev/urandom > "$2" ;;
    ES256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" 2>/dev/null ;;
    EdDSA) openssl genpkey -algorithm ED25519 -out "$2" 2>/dev/null ;;
    *) echo "error: --jwt-alg must be HS256, ES256 or EdDSA" >&2; return 1 ;;
  esac
  chmod 600 "$2"
}

# authbench_crash_container CONTAINER: SIGKILL to the container's main process from the host, a
# crash; waits until it is gone and prints its host pid. Not `docker kill`: the engine counts
# that as a deliberate stop and no restart policy brings the container back.
authbench_crash_container() {
  local pid
  pid=$(docker inspect -f '{{.State.Pid}}' "$1")
  [ "$pid" -gt 0 ] || { echo "error: container $1 is not running" >&2; return 1; }
  kill -KILL "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
  echo "$pid"
}

# authbench_check NAME DESCRIPTION CONDITION: evaluates CONDITION, prints "NAME: ok: ..." or
# "NAME: FAIL: ...", and counts a failure in AUTHBENCH_CHECK_FAILURES.
AUTHBENCH_CHECK_FAILURES=0
authbench_check() {
  if eval "$3"; then
    echo "$1: ok: $2"
  else
    echo "$1: FAIL: $2"
    AUTHBENCH_CHECK_FAILURES=$((AUTHBENCH_CHECK_FAILURES + 1))
  fi
}
