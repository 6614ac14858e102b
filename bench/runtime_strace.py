"""The runtime process of one function, traced: `strace -f -ttt -T` and `strace -c` of the busiest runtime process (or,
with --server-trace, of the server) during a one-caller wrk run, then its CPU and voluntary switches per invoke untraced.

    python3 bench/runtime_strace.py --dll /tmp/nimbus-base/nimbusd.dll --family python --out /tmp/nimbus-py
    python3 bench/runtime_strace.py --dll artifacts/bin/FloorGateway/release/FloorGateway.dll --family python \\
        --env=--python=/root/.pyenv/versions/3.12.1/bin/python3.12 --out /tmp/gateway-py

writes OUT.trace (every syscall with its time and duration; strings up to 300 bytes) and OUT.count (the syscall counts).
strace attaches while wrk runs and detaches before the load stops: the cgroup freezer freezes an idle instance 10 ms
after its last invoke, and strace cannot detach from a frozen process. A FloorGateway.dll runs the runtime that --env's
--python=/--node= items name (else the gateway's default); traced figures are slower than untraced ones.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu_per_invoke  # noqa: E402
import onecaller_ab  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--dll", required=True)
p.add_argument("--family", default="python")
p.add_argument("--env", action="append", default=[])
p.add_argument("--out", required=True)
p.add_argument("--server-trace", action="store_true")
a = p.parse_args()
body = '{"hello":"world","n":42}'
gw = os.path.basename(a.dll) == "FloorGateway.dll"
if gw:
    env, workers, arguments, interpreters, clients = onecaller_ab.gateway_options(a.env)
    srv = onecaller_ab.Gateway(a.dll, a.family, env, workers, arguments, interpreters.get(a.family), clients)
    url = srv.url + "/invoke"
else:
    srv = cpu_per_invoke.Server(types.SimpleNamespace(server=a.dll, env=a.env))
    cpu_per_invoke.create_function(srv.url, "st-" + a.family, a.family)
    url = "%s/2015-03-31/functions/st-%s/invocations" % (srv.url, a.family)
try:
    hdr = {} if gw else cpu_per_invoke.signed_headers(url, body)
    cpu_per_invoke.run_wrk("wrk", url, 1, 5, hdr)
    comms = onecaller_ab.RUNTIME_COMMS[a.family]
    rts = cpu_per_invoke.runtime_processes(srv.pid, comms)
    cpu = {q: cpu_per_invoke.proc_cpu_seconds(q) for q in rts}
    best = max(rts, key=lambda q: cpu[q])
    info = {"pid": best, "exe": os.readlink("/proc/%d/exe" % best),
            "cmdline": open("/proc/%d/cmdline" % best).read().split("\0")[:-1]}
    print(json.dumps(info), flush=True)
    for mode in ("ttt", "c"):
        t = threading.Thread(target=cpu_per_invoke.run_wrk, args=("wrk", url, 1, 4, hdr)); t.start()
        time.sleep(1)
        target = srv.pid if a.server_trace else best
        args = ["-ttt", "-T", "-s", "300", "-o", a.out + ".trace"] if mode == "ttt" else ["-c", "-o", a.out + ".count"]
        tr = subprocess.Popen(["timeout", "-s", "INT", "1.5", "strace", "-f"] + args + ["-p", str(target)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tr.wait(); t.join()
    rows = []
    for i in range(3):
        b = cpu_per_invoke.proc_cpu_seconds(best); sb = cpu_per_invoke.proc_cpu_seconds(srv.pid)
        vb = cpu_per_invoke.proc_switches(best)
        r = cpu_per_invoke.run_wrk("wrk", url, 1, 3, hdr)
        n = max(1, r["requests"])
        print("run %d: invokes %d p50 %d us | runtime CPU %.1f us/invoke, %.2f voluntary switches | server CPU %.1f | load %.1f" % (
            i, n, r["p50_us"], 1e6*(cpu_per_invoke.proc_cpu_seconds(best)-b)/n, (cpu_per_invoke.proc_switches(best)-vb)/n,
            1e6*(cpu_per_invoke.proc_cpu_seconds(srv.pid)-sb)/n, os.getloadavg()[0]), flush=True)
finally:
    srv.stop()
