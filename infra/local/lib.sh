# Shared by the emulator scripts in infra/local/: wait for a loopback port,
# stop a process started in the background by its PID file.

# wait_for_port NAME PORT: waits up to 30 s for 127.0.0.1:PORT to accept connections.
wait_for_port() {
  local name="$1" port="$2"
  for _ in $(seq 1 120); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.25
  done
  echo "$name did not start on port $port" >&2
  return 1
}

# stop_pidfile FILE: stops the process whose PID FILE holds, and removes FILE.
stop_pidfile() {
  local pidfile="$1"
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
}
