"""logs.db rows per invocation and nimbusd's allocated bytes per invoke: load-independent counts of the log path.

Starts one server (the build in artifacts/, or --server) holding a node function at 6 instances
(NIMBUS_INSTANCE_MEMORY_LIMIT_MB=768, NIMBUS_CONCURRENCY_LIMIT=1000, as bench/metering_bench.py), warms it with
--warmup-runs runs of 5 s at 32 callers, then for each of --runs runs of 5 s counts the rows and events logs.db
gained per invocation (a warm invoke logs START, END and REPORT: 3 events; fewer rows means the writer joined lines of
one millisecond) and the bytes nimbusd allocated per invoke (bench/ThreadPoolProbe, built with
`dotnet build bench/ThreadPoolProbe -c Release`).

    python3 bench/log_rows.py
    python3 bench/log_rows.py --server /tmp/base/artifacts/bin/Nimbus.Server/release/nimbusd.dll
"""

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu_per_invoke as cpu  # noqa: E402
import invoke_bench  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.path.join(cpu.ROOT, "artifacts/bin/Nimbus.Server/release/nimbusd.dll"))
    parser.add_argument("--probe", default=os.path.join(cpu.ROOT, "artifacts/bin/ThreadPoolProbe/release/ThreadPoolProbe.dll"))
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--warmup-runs", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    probe_file = os.path.join(tempfile.mkdtemp(prefix="nimbus-rows-"), "probe")
    env = ["NIMBUS_INSTANCE_MEMORY_LIMIT_MB=768", "NIMBUS_CONCURRENCY_LIMIT=1000",
           "DOTNET_STARTUP_HOOKS=" + os.path.abspath(args.probe), "NIMBUS_POOL_PROBE_FILE=" + probe_file]
    server = cpu.Server(SimpleNamespace(server=args.server, env=env))
    try:
        cpu.create_function(server.url, "rows", "node")
        url = "%s/2015-03-31/functions/rows/invocations" % server.url
        for _ in range(args.warmup_runs):
            cpu.wrk_cpu(args.wrk, url, 32, 5, cpu.signed_headers(url, invoke_bench.PAYLOAD))
        db = sqlite3.connect(os.path.join(server.data, "logs.db"))
        count = "SELECT COUNT(*), COALESCE(SUM(event_count), 0) FROM events"
        print("| run | invokes | invokes/s | load | logs.db rows / invocation | events / invocation | nimbusd CPU µs / invoke | allocated B / invoke |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for run in range(args.runs):
            before = cpu.snapshot(server.pid, {"node"}, probe_file)
            rows0, events0 = db.execute(count).fetchone()
            result = cpu.wrk_cpu(args.wrk, url, 32, 5, cpu.signed_headers(url, invoke_bench.PAYLOAD))
            time.sleep(0.5)  # the log writer's 100 ms window
            after = cpu.snapshot(server.pid, {"node"}, probe_file)
            rows1, events1 = db.execute(count).fetchone()
            n = max(1, result["requests"])
            allocated = "" if after["pool"] is None or before["pool"] is None else "%.0f" % ((after["pool"][1] - before["pool"][1]) / n)
            print("| %d | %d | %.0f | %.1f | %.3f | %.3f | %.0f | %s |" % (
                run + 1, n, result["rate"], os.getloadavg()[0], (rows1 - rows0) / n, (events1 - events0) / n,
                1e6 * (after["server_cpu"] - before["server_cpu"]) / n, allocated), flush=True)
        db.close()
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
