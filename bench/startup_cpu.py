"""nimbusd's CPU from start to warm: a fresh server's start-up, its first invokes and what they cost in JIT.

A fresh server compiles its code as it first runs it; that CPU is what a user pays on every restart (and each
integration test class on every server it starts). Load-independent where wall time is not: for each build given
(--server, repeatable, alternated --repeat times), this starts a fresh server and reads nimbusd's CPU time
(utime + stime, /proc/<pid>/stat) at the listening banner, after creating a node and a python function, after
each function's first (cold) invoke, and after --invokes more sequential invokes of each; plus wall seconds to the
banner. --env NAME=VALUE (repeatable) sets server environment variables for every build.

    python3 bench/startup_cpu.py --server /tmp/a/nimbusd.dll --server /tmp/b/nimbusd.dll --repeat 3
"""

import argparse
import os
import sys
import time
import urllib.request

# invoke_bench signs every http.client request with these (the servers started here use them as root key).
os.environ["NIMBUS_ROOT_ACCESS_KEY_ID"] = os.environ["NIMBUS_ROOT_SECRET_ACCESS_KEY"] = "test"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu_per_invoke  # noqa: E402  (server start-up, function creation, signing)
import invoke_bench  # noqa: E402


def invoke(url):
    request = urllib.request.Request(url, data=invoke_bench.PAYLOAD, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
        if response.status != 200 or response.headers.get("X-Amz-Function-Error"):
            raise RuntimeError("invoke failed: %d" % response.status)


def measure(server_dll, env, invokes):
    args = argparse.Namespace(server=server_dll, env=list(env))
    server = cpu_per_invoke.Server(args)
    try:
        pid = server.pid
        row = {"server": server_dll, "ready_s": server.start_seconds, "ready_cpu": server.start_cpu}
        urls = []
        for family in ("node", "python"):
            cpu_per_invoke.create_function(server.url, "start-" + family, family)
            urls.append((family, "%s/2015-03-31/functions/start-%s/invocations" % (server.url, family)))
        row["created_cpu"] = cpu_per_invoke.proc_cpu_seconds(pid)
        for family, url in urls:
            invoke(url)
            row[family + "_first_cpu"] = cpu_per_invoke.proc_cpu_seconds(pid)
            started = cpu_per_invoke.proc_cpu_seconds(pid)
            for _ in range(invokes):
                invoke(url)
            row[family + "_warm_us"] = 1e6 * (cpu_per_invoke.proc_cpu_seconds(pid) - started) / invokes
        row["total_cpu"] = cpu_per_invoke.proc_cpu_seconds(pid)
        row["load"] = os.getloadavg()[0]
        return row
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", action="append", required=True, help="nimbusd.dll of a build (repeatable)")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server (repeatable)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--invokes", type=int, default=300, help="sequential warm invokes per function after the first")
    args = parser.parse_args()
    rows = []
    for repeat in range(args.repeat):
        for dll in args.server:
            row = measure(dll, args.env, args.invokes)
            rows.append(row)
            print("start: %s #%d: ready %.2f s (%.2f s CPU), CPU after creating 2 functions %.2f s, after node's first invoke "
                  "%.2f s, python's %.2f s, total %.2f s; the next %d invokes %.0f µs (node) / %.0f µs (python) each; load %.0f" % (
                      dll, repeat + 1, row["ready_s"], row["ready_cpu"], row["created_cpu"], row["node_first_cpu"],
                      row["python_first_cpu"], row["total_cpu"], args.invokes, row["node_warm_us"], row["python_warm_us"], row["load"]),
                  file=sys.stderr, flush=True)
    print("| build | ready (s) | CPU at ready (s) | + 2 functions created | + node's first invoke | + python's first invoke | total CPU (s) | next invokes, node / python (CPU µs each) | load |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f / %.0f | %.0f |" % (
            row["server"], row["ready_s"], row["ready_cpu"], row["created_cpu"], row["node_first_cpu"], row["python_first_cpu"],
            row["total_cpu"], row["node_warm_us"], row["python_warm_us"], row["load"]))


if __name__ == "__main__":
    main()
