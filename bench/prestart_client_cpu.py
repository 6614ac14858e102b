#!/usr/bin/env python3
"""CPU and wall time of one pre-start of a runtime client, bare (no sandbox, no server).

Starts COMMAND as Nimbus starts a pre-started runtime (_NIMBUS_PRESTARTED=1, AWS_LAMBDA_RUNTIME_API at a listening
socket of this script), N times, and for each start reads the time until its GET /nimbus/.../assignment arrives and
the CPU the process used by then (/proc/<pid>/task/*/schedstat: every thread, in ns). The process is then killed.
Prints the medians and ranges. CPU moves less with the machine's load than wall time.

    python3 bench/prestart_client_cpu.py LABEL N COMMAND...
    python3 bench/prestart_client_cpu.py py 30 python3 -s runtimes/python/bootstrap.py
    python3 bench/prestart_client_cpu.py node 30 node --max-old-space-size=108 runtimes/nodejs/bootstrap.js
"""
import os
import socket
import subprocess
import sys
import time


def one(command):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    environment = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % server.getsockname()[1],
                   "_NIMBUS_PRESTARTED": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    connection, _ = server.accept()
    connection.recv(4096)
    elapsed = time.perf_counter() - started
    cpu = 0
    for thread in os.listdir("/proc/%d/task" % process.pid):
        with open("/proc/%d/task/%s/schedstat" % (process.pid, thread)) as f:
            cpu += int(f.read().split()[0])
    process.kill()
    process.wait()
    connection.close()
    server.close()
    return elapsed * 1000, cpu / 1e6


def main():
    label, n, command = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    rows = [one(command) for _ in range(n)]
    wall = sorted(r[0] for r in rows)
    cpu = sorted(r[1] for r in rows)
    print("%-12s wall p50 %6.1f [%5.1f-%5.1f] ms  cpu p50 %6.1f [%5.1f-%5.1f] ms" % (
        label, wall[n // 2], wall[0], wall[-1], cpu[n // 2], cpu[0], cpu[-1]))


if __name__ == "__main__":
    main()
