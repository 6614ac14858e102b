#!/usr/bin/env bash
# Function URL under load, one command:   bench/url_load.sh            (SECONDS_PER_RUN=30 CALLERS=32 by default)
#
# wrk (Debian's `wrk`) on loopback, CALLERS keep-alive connections in a closed loop for SECONDS_PER_RUN seconds
# after WARMUP (default 20) seconds of unmeasured load (which starts the instances 32 callers need: on a busy
# 2-core machine a cold start can take seconds, and Lambda's 10 s init limit applies), against three servers answering the same POST of a small JSON event:
#   - Nimbus: a node function (the benchmark's handler, answering {"ok":true,...}) behind its function URL, path
#     form http://127.0.0.1:PORT/lambda-url/<url-id>/ (wrk resolves no *.localhost names);
#   - the floor: bench/FloorKestrel, a bare Kestrel echo (the cheapest ASP.NET Core round trip here);
#   - the peer: serverless-offline (bench/run.sh's peer, installed by it into artifacts/bench/peer) serving the
#     same handler on an httpApi route, when installed.
# bench/wrk_invoke.lua checks every answer (200 and "ok": true; status only for the echoing floor). Prints a
# Markdown table on stdout; raw wrk results go to artifacts/bench/url_load.json. Stops everything it started.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="$root/bench"
seconds="${SECONDS_PER_RUN:-30}"
callers="${CALLERS:-32}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1
# The server's root key is the one the AWS CLI signs with here.
export NIMBUS_ROOT_ACCESS_KEY_ID=bench NIMBUS_ROOT_SECRET_ACCESS_KEY=bench
command -v wrk >/dev/null || { echo "url_load: wrk is not installed (apt-get install wrk)" >&2; exit 2; }

work="$(mktemp -d -t nimbus-url-load.XXXXXX)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits until file $2 has a line matching $3 (extended regex); prints the match. Fails after $4 s or when $1 dies.
wait_for() {
  local pid="$1" file="$2" pattern="$3" limit="$4"
  for _ in $(seq 1 $((limit * 10))); do
    if grep -Eq "$pattern" "$file" 2>/dev/null; then grep -Eo "$pattern" "$file" | head -n 1; return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "url_load: process $pid exited:" >&2; tail -n 30 "$file" >&2; return 1; }
    sleep 0.1
  done
  echo "url_load: nothing matching '$pattern' in $file after ${limit}s" >&2
  return 1
}

# Runs wrk; $1 label, $2 url, $3 check (invoke|status). Appends one JSON line to results and prints a table row.
measure() {
  local label="$1" url="$2" check="$3" line
  echo "url_load: warm-up $label" >&2
  WRK_CHECK="$check" wrk -t2 -c"$callers" -d"${WARMUP:-20}s" --timeout 30s -s "$bench/wrk_invoke.lua" "$url" >/dev/null
  echo "url_load: measuring $label ($seconds s, $callers connections)" >&2
  line="$(WRK_CHECK="$check" wrk -t2 -c"$callers" -d"${seconds}s" --timeout 30s --latency -s "$bench/wrk_invoke.lua" "$url" | sed -n 's/^WRK_JSON //p')"
  echo "{\"label\":\"$label\",\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\",\"wrk\":$line}" >>"$work/results.jsonl"
  python3 - "$label" "$line" <<'EOF'
import json, sys
r = json.loads(sys.argv[2])
print("| %s | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %d |" % (
    sys.argv[1], r["requests"], r["rate"], r["p50_us"] / 1000, r["p90_us"] / 1000, r["p99_us"] / 1000,
    r["p99_9_us"] / 1000, r["errors"]))
EOF
}

echo "url_load: building the server and the floor (only when stale)..." >&2
"$root/nimbus" build >&2
dotnet build "$bench/FloorKestrel/FloorKestrel.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >&2

"$root/nimbus" serve --listen http://127.0.0.1:0 --data "$work/data" >"$work/nimbus.out" 2>&1 &
pids+=($!)
nimbus="$(wait_for "${pids[-1]}" "$work/nimbus.out" 'http://127\.0\.0\.1:[0-9]+' 180)"
dotnet "$root/artifacts/bin/FloorKestrel/release/FloorKestrel.dll" >"$work/floor.out" 2>&1 &
pids+=($!)
floor="$(wait_for "${pids[-1]}" "$work/floor.out" 'http://127\.0\.0\.1:[0-9]+' 60)"

# The benchmark's node handler (bench/invoke_bench.py NODE_HANDLER), with a URL.
mkdir -p "$work/fn"
echo 'exports.handler = async (event) => ({ ok: true, echo: event.body });' >"$work/fn/index.js"
(cd "$work/fn" && zip -q fn.zip index.js)
# A 30 s function timeout (Lambda's default is 3 s): on a shared machine a starved instance can miss 3 s, and that
# would measure the machine, not the URL path. wrk's own timeout is as long.
aws --endpoint-url "$nimbus" lambda create-function --function-name url-load --runtime nodejs20.x --handler index.handler --timeout 30 \
  --role arn:aws:iam::000000000000:role/bench --zip-file "fileb://$work/fn/fn.zip" >/dev/null
# PROVISIONED=N: the URL is on alias "live" with N provisioned instances, initialized before the run (no cold
# start during it); 0 (default): the URL is on $LATEST and instances start on demand.
provisioned="${PROVISIONED:-0}"
qualifier=()
if ((provisioned > 0)); then
  aws --endpoint-url "$nimbus" lambda publish-version --function-name url-load >/dev/null
  aws --endpoint-url "$nimbus" lambda create-alias --function-name url-load --name live --function-version 1 >/dev/null
  aws --endpoint-url "$nimbus" lambda put-provisioned-concurrency-config --function-name url-load --qualifier live \
    --provisioned-concurrent-executions "$provisioned" >/dev/null
  for _ in $(seq 1 600); do
    status="$(aws --endpoint-url "$nimbus" lambda get-provisioned-concurrency-config --function-name url-load --qualifier live --query Status --output text)"
    [[ "$status" == READY ]] && break
    sleep 1
  done
  echo "url_load: provisioned concurrency $provisioned: $status" >&2
  qualifier=(--qualifier live)
fi
url="$(aws --endpoint-url "$nimbus" lambda create-function-url-config --function-name url-load "${qualifier[@]}" --auth-type NONE --query FunctionUrl --output text)"
url_id="${url#http://}"; url_id="${url_id%%.*}"

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
cat <<EOF
### Function URL under load ($(date -u '+%Y-%m-%d %H:%M UTC'))

- machine: $(nproc) cores, ${cpu}; load before the run: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min), other processes not stopped
- wrk $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f2), ${callers} connections, 2 threads, ${seconds} s after ${WARMUP:-20} s of warm-up, loopback; command: bench/url_load.sh

| target | requests | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
EOF
label="Nimbus function URL, node (path form)"
((provisioned > 0)) && label="$label, $provisioned provisioned instances"
measure "$label" "$nimbus/lambda-url/$url_id/" invoke
measure "floor: bare Kestrel POST echo" "$floor/" status

peer="$root/artifacts/bench/peer"
if [[ -d "$peer/node_modules/serverless-offline" ]]; then
  mkdir -p "$work/peer"
  ln -s "$peer/node_modules" "$work/peer/node_modules"
  cp "$work/fn/index.js" "$work/peer/index.js"
  cat >"$work/peer/serverless.yml" <<'EOF'
service: nimbus-bench-url-peer
frameworkVersion: "3"
provider: { name: aws, runtime: nodejs20.x, region: us-east-1, stage: dev }
plugins: [serverless-offline]
custom: { serverless-offline: { host: 127.0.0.1, noPrependStageInUrl: true } }
functions:
  web: { handler: index.handler, events: [ { httpApi: { method: POST, path: / } } ] }
EOF
  http_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  lambda_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  env -C "$work/peer" SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_DEPRECATION_DISABLE='*' \
    node node_modules/serverless/bin/serverless.js offline start --httpPort "$http_port" --lambdaPort "$lambda_port" >"$work/peer.out" 2>&1 &
  pids+=($!)
  if wait_for "${pids[-1]}" "$work/peer.out" "http://127\.0\.0\.1:$http_port" 120 >/dev/null; then
    versions="$(cd "$peer/node_modules" && node -p 'const v = (p) => JSON.parse(require("fs").readFileSync(p + "/package.json")).version; "serverless " + v("serverless") + ", serverless-offline " + v("serverless-offline")')"
    measure "peer: ${versions} httpApi, node" "http://127.0.0.1:$http_port/" invoke
  fi
else
  echo "| peer: serverless-offline not installed (run bench/run.sh once) | - | - | - | - | - | - | - |"
fi

if grep -Eq '^(warn|fail|crit): ' "$work/nimbus.out"; then
  echo "url_load: the server logged warnings or errors:" >&2
  grep -E -A2 '^(warn|fail|crit): ' "$work/nimbus.out" | head -n 40 >&2 || true
fi

echo
echo "Load after the run: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)."
mkdir -p "$root/artifacts/bench"
cp "$work/results.jsonl" "$root/artifacts/bench/url_load.json"
echo "url_load: raw wrk results in artifacts/bench/url_load.json" >&2
