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
