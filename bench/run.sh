#!/usr/bin/env bash
# Nimbus benchmarks, one command:   bench/run.sh [extra invoke_bench.py options]
#
# Builds the server and the bare-Kestrel floor app if needed, starts a fresh Nimbus in a temporary data
# directory, runs bench/invoke_bench.py against it (cold starts, warm round trips, throughput, floors and the
# direct peer), stops everything it started and prints the results as Markdown on stdout. Progress goes to
# stderr. Bounded: builds aside, the measurements stop at --budget seconds (default 200) and the whole
# script is killed by a watchdog after BENCH_TIMEOUT seconds (default 280).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="$root/bench"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
timeout_s="${BENCH_TIMEOUT:-280}"

work="$(mktemp -d -t nimbus-bench.XXXXXX)"
server_pid=""
floor_pid=""

stop() {
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -9 "$pid" 2>/dev/null || true
}

cleanup() {
  stop "$server_pid"
  stop "$floor_pid"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits until $2 contains a line matching $3 (extended regex), or fails after $4 seconds or when $1 dies.
wait_for_line() {
  local pid="$1" file="$2" pattern="$3" seconds="$4"
  for _ in $(seq 1 $((seconds * 10))); do
    if grep -Eq "$pattern" "$file" 2>/dev/null; then
      grep -Eo "$pattern" "$file" | head -n 1
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "bench: process $pid exited before printing its address; its output:" >&2
      tail -n 40 "$file" "$file.err" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.1
  done
  echo "bench: no address from process $pid after ${seconds}s" >&2
  return 1
}

echo "bench: building the server and the floor app (only when stale)..." >&2
"$root/nimbus" build
dotnet build "$bench/FloorKestrel/FloorKestrel.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >&2

# The interpreters Nimbus itself resolves: real binaries, not version-manager shims.
python_bin="$(python3 -c 'import sys;print(sys.executable)')"
node_bin="$(command -v node)"

echo "bench: starting Nimbus (data in $work/data)..." >&2
"$root/nimbus" serve --listen http://127.0.0.1:0 --data "$work/data" >"$work/server.out" 2>"$work/server.out.err" &
server_pid=$!
nimbus_url="$(wait_for_line "$server_pid" "$work/server.out" 'http://127\.0\.0\.1:[0-9]+' 120)"

dotnet "$root/artifacts/bin/FloorKestrel/release/FloorKestrel.dll" >"$work/floor.out" 2>"$work/floor.out.err" &
floor_pid=$!
floor_url="$(wait_for_line "$floor_pid" "$work/floor.out" 'http://127\.0\.0\.1:[0-9]+' 60)"
echo "bench: Nimbus on $nimbus_url, Kestrel floor on $floor_url" >&2

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
ram="$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
cat <<EOF
## Nimbus benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC')

- machine: $(nproc) cores, ${cpu}, ${ram} RAM, Linux $(uname -r)
- .NET SDK $(dotnet --version), node $("$node_bin" --version), python $("$python_bin" -c 'import platform;print(platform.python_version())') ($python_bin), $(bwrap --version 2>/dev/null || echo 'bwrap ?'), $(curl --version | head -n 1 | cut -d' ' -f1-2)
- load before the run: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min); other processes are not stopped
- command: bench/run.sh $*

EOF

status=0
timeout --kill-after=10 "$timeout_s" "$python_bin" "$bench/invoke_bench.py" \
  --nimbus "$nimbus_url" --floor "$floor_url" \
  --node "$node_bin" --python "$python_bin" --bwrap "$(command -v bwrap || echo /usr/bin/bwrap)" \
  --runtimes "$root/runtimes" --workdir "$work" --json "$work/results.json" "$@" || status=$?

# Warm invokes under load with wrk (1 and 32 callers, Nimbus and the Kestrel floor): bench/load_bench.py.
if command -v wrk >/dev/null; then
  timeout --kill-after=10 "${LOAD_TIMEOUT:-150}" "$python_bin" "$bench/load_bench.py" \
    --nimbus "$nimbus_url" --floor "$floor_url" --json "$work/load.json" || status=$?
else
  echo "bench: wrk not found (apt-get install wrk): skipping the load benchmark" >&2
fi

# The machine-readable results outlive the temporary directory.
for result in results load; do
  if [[ -f "$work/$result.json" ]]; then
    mkdir -p "$root/artifacts/bench"
    cp "$work/$result.json" "$root/artifacts/bench/$result.json"
    echo "bench: JSON results in artifacts/bench/$result.json" >&2
  fi
done

echo
echo "Load after the run: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)."

# ASP.NET Core's console logger prefixes errors with "fail:" and "crit:".
if grep -Eq '^(fail|crit): ' "$work/server.out" "$work/server.out.err" 2>/dev/null; then
  echo "bench: the server logged errors:" >&2
  grep -E -h -A3 '^(fail|crit): ' "$work/server.out" "$work/server.out.err" | head -n 40 >&2 || true
fi
exit "$status"
