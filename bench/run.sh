#!/usr/bin/env bash
# Nimbus benchmarks, one command:   bench/run.sh [extra invoke_bench.py options, e.g. --only cold,peer]
#
# Builds the server and the bare-Kestrel floor app if needed, installs the serverless-offline peer on first use
# (npm ci of bench/peer into artifacts/bench/peer), starts a fresh Nimbus in a temporary data directory, runs
# bench/invoke_bench.py against it (floors, warm round trips, throughput, cold starts, the peers, scale-out,
# density; the many-function cold starts on servers of their own, with and without the pre-started pool),
# stops everything it started and prints the results as Markdown on stdout. Progress goes to stderr.
# Bounded: builds and the one-time npm ci aside, the measurements stop at --budget seconds (default 300) and
# the driver is stopped by a watchdog after BENCH_TIMEOUT seconds (default 345).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="$root/bench"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# The root key the benchmark's servers start with; the drivers sign every request with it (bench/sigv4.py).
export NIMBUS_ROOT_ACCESS_KEY_ID="${NIMBUS_ROOT_ACCESS_KEY_ID:-bench}" NIMBUS_ROOT_SECRET_ACCESS_KEY="${NIMBUS_ROOT_SECRET_ACCESS_KEY:-bench-secret}"
timeout_s="${BENCH_TIMEOUT:-345}"

# --only PARTS (see invoke_bench.py --help) also decides whether the serverless-offline peer is installed.
only=""
previous=""
for arg in "$@"; do
  case "$arg" in --only=*) only="${arg#--only=}" ;; esac
  if [[ "$previous" == "--only" ]]; then only="$arg"; fi
  previous="$arg"
done
wants() { [[ -z "$only" || ",$only," == *",$1,"* ]]; }

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
  # Servers the driver started lead sessions of their own; kill any that outlived it (a watchdog kill).
  local pid
  for pid in $(cat "$work/children.pids" 2>/dev/null); do
    if [[ "$(ps -o sid= -p "$pid" 2>/dev/null | tr -d ' ')" == "$pid" ]]; then
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  done
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
dotnet build "$bench/FloorGateway/FloorGateway.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >&2

# The interpreters Nimbus itself resolves: real binaries, not version-manager shims.
python_bin="$(python3 -c 'import sys;print(sys.executable)')"
node_bin="$(command -v node)"

# The peer: serverless-offline (versions pinned by bench/peer/package-lock.json), installed once with npm ci
# into a directory outside git; reinstalled only when the lock file changes.
peer_dir="$root/artifacts/bench/peer"
peer_args=()
peer_versions="not part of this run"
if wants peer; then
  if ! command -v npm >/dev/null 2>&1; then
    peer_args=(--offline-peer-error "npm is not installed on this machine")
    peer_versions="unavailable (see the problems under the tables)"
  else
    mkdir -p "$peer_dir"
    cp "$bench/peer/package.json" "$bench/peer/package-lock.json" "$bench/peer/serverless.yml" "$peer_dir/"
    lock_sum="$(sha256sum "$bench/peer/package-lock.json" | cut -d' ' -f1)"
    if [[ "$(cat "$peer_dir/.installed" 2>/dev/null || true)" != "$lock_sum" ]]; then
      echo "bench: installing the serverless-offline peer (npm ci into $peer_dir, first use only)..." >&2
      rm -f "$peer_dir/.installed"
      if (cd "$peer_dir" && timeout 600 npm ci --no-audit --no-fund) >"$work/npm-ci.log" 2>&1; then
        echo "$lock_sum" >"$peer_dir/.installed"
      else
        peer_args=(--offline-peer-error "npm ci of bench/peer failed: $(tail -n 5 "$work/npm-ci.log" | tr '\n' ' ')")
        peer_versions="unavailable (see the problems under the tables)"
      fi
    fi
    if [[ ${#peer_args[@]} -eq 0 ]]; then
      peer_args=(--offline-peer "$peer_dir")
      peer_versions="$(cd "$peer_dir/node_modules" && "$node_bin" -p 'const v = (p) => JSON.parse(require("fs").readFileSync(p + "/package.json")).version; "serverless " + v("serverless") + ", serverless-offline " + v("serverless-offline")')"
    fi
  fi
fi

echo "bench: starting Nimbus (data in $work/data)..." >&2
"$root/nimbus" serve --listen http://127.0.0.1:0 --data "$work/data" >"$work/server.out" 2>"$work/server.out.err" &
server_pid=$!
nimbus_url="$(wait_for_line "$server_pid" "$work/server.out" 'http://127\.0\.0\.1:[0-9]+' 120)"

dotnet "$root/artifacts/bin/FloorKestrel/release/FloorKestrel.dll" >"$work/floor.out" 2>"$work/floor.out.err" &
floor_pid=$!
floor_url="$(wait_for_line "$floor_pid" "$work/floor.out" 'http://127\.0\.0\.1:[0-9]+' 60)"
echo "bench: Nimbus on $nimbus_url, Kestrel floor on $floor_url" >&2

# Like for like: the floors and the gateways run python and node on the interpreters this server runs the benchmark's
# python3.12 and nodejs20.x functions on (its log says which, event 8270), and on its build's runtime clients.
runtime_interpreter() {
  for _ in $(seq 1 300); do
    local found
    found="$(sed -n -e "s/^ *Runtime $1 runs on \(.*\) (version [^)]*)\.\$/\1/p" \
      -e "s/^ *Runtime $1 has no interpreter of its version on this node: its functions run on \(.*\) (version [^)]*) instead.*/\1/p" \
      "$work/server.out" | head -n 1)"
    if [[ -n "$found" ]]; then
      echo "$found"
      return 0
    fi
    sleep 0.1
  done
  echo "bench: the server did not say which interpreter runs $1; the floors use $2" >&2
  echo "$2"
}
runtime_python="$(runtime_interpreter python3.12 "$python_bin")"
runtime_node="$(runtime_interpreter nodejs20.x "$node_bin")"
clients="$root/artifacts/bin/Nimbus.Server/release/lambda-runtimes"

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
ram="$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
cat <<EOF
## Nimbus benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC')

- machine: $(nproc) cores, ${cpu}, ${ram} RAM, Linux $(uname -r)
- .NET SDK $(dotnet --version), $(bwrap --version 2>/dev/null || echo 'bwrap ?'), $(curl --version | head -n 1 | cut -d' ' -f1-2); the drivers run on python $("$python_bin" -c 'import platform;print(platform.python_version())') ($python_bin)
- runtimes (Nimbus's functions, the floors and the gateways alike): nodejs20.x on node $("$runtime_node" --version) ($runtime_node), python3.12 on python $("$runtime_python" -c 'import platform;print(platform.python_version())') ($runtime_python)
- serverless-offline peer: $peer_versions
- load before the run: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min); other processes are not stopped
- command: bench/run.sh $*

EOF

status=0
timeout --kill-after=10 "$timeout_s" "$python_bin" "$bench/invoke_bench.py" \
  --nimbus "$nimbus_url" --floor "$floor_url" \
  --node "$runtime_node" --python "$runtime_python" --bwrap "$(command -v bwrap || echo /usr/bin/bwrap)" \
  --runtimes "$root/runtimes" --workdir "$work" --json "$work/results.json" \
  --serve "$root/nimbus" --nimbus-pid "$server_pid" --nimbus-data "$work/data" "${peer_args[@]}" "$@" || status=$?

# Warm invokes under load with wrk (1 and 32 callers, Nimbus and the Kestrel floor): bench/load_bench.py. It first
# loads each runtime at 32 callers until it is steady (CPU per invoke no longer falling, no scale-out: 20-40 s for the
# first, the tiered JIT recompiling the invoke path), then takes 5 interleaved runs of 5 s per cell and prints every
# 32-caller run with what the server did in it (CPU per invoke, instances, scale-outs, garbage collections). Beside the
# bare Kestrel floor it measures issue 3's gateway floor (bench/FloorGateway, a stock Kestrel app handing each invoke to
# plain runtime processes over the Runtime API, one gateway per runtime): with one runtime process at 1 and 32 callers,
# and at 32 callers also with as many runtime processes as the instances Nimbus held for that runtime once it settled
# (the issue quotes its gateway at 4-32 worker processes), and gives Nimbus's ratios to each.
if ! wants warm && ! wants throughput && ! wants floors; then
  echo "bench: --only $only names none of warm, throughput, floors: skipping the load benchmark" >&2
elif command -v wrk >/dev/null; then
  timeout --kill-after=10 "${LOAD_TIMEOUT:-600}" "$python_bin" "$bench/load_bench.py" \
    --nimbus "$nimbus_url" --floor "$floor_url" --nimbus-pid "$server_pid" --json "$work/load.json" \
    --gateway "$root/artifacts/bin/FloorGateway/release/FloorGateway.dll" --gateway-python "$runtime_python" \
    --gateway-node "$runtime_node" --gateway-clients "$clients" --workdir "$work" || status=$?
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
