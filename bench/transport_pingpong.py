"""What one request/answer exchange costs over loopback TCP and over a Unix domain socket, the transport alone.

Two Python processes (forked), the client sending a 300-byte request and the server a 250-byte answer, blocking
reads and writes, --exchanges per run, TCP and Unix alternated (order flipped each round) for --rounds rounds. Reports
the client's median round trip and the CPU time of both ends per exchange (getrusage: user + system; of it, system),
and the median of the per-round differences. The Python on both ends is the same for both transports: the difference
is the kernel's. It is the upper bound of what bench/FloorGateway --unix (NIMBUS_RUNTIME_API_SOCKET) can save per
Runtime API message; the end-to-end effect also depends on where the scheduler runs each woken end.

    python3 bench/transport_pingpong.py --exchanges 30000 --rounds 10
"""

import argparse
import os
import resource
import socket
import statistics
import tempfile
import time

REQUEST = b"x" * 300
ANSWER = b"y" * 250


def usage():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_stime


def serve(listener, exchanges, report):
    conn, _ = listener.accept()
    if conn.family == socket.AF_INET:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray(65536)
    cpu0, sys0 = usage()
    for _ in range(exchanges):
        got = 0
        while got < len(REQUEST):
            got += conn.recv_into(buf)
        conn.sendall(ANSWER)
    cpu1, sys1 = usage()
    os.write(report, b"%f %f" % (cpu1 - cpu0, sys1 - sys0))
    os._exit(0)


def run(kind, exchanges):
    if kind == "tcp":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        address = listener.getsockname()
    else:
        address = os.path.join(tempfile.mkdtemp(prefix="nimbus-pingpong-"), "s")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(address)
    listener.listen(1)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        serve(listener, exchanges, write_end)
    client = socket.socket(listener.family, socket.SOCK_STREAM)
    client.connect(address)
    if kind == "tcp":
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray(65536)
    trips = []
    cpu0, sys0 = usage()
    for _ in range(exchanges):
        start = time.perf_counter_ns()
        client.sendall(REQUEST)
        got = 0
        while got < len(ANSWER):
            got += client.recv_into(buf)
        trips.append(time.perf_counter_ns() - start)
    cpu1, sys1 = usage()
    os.waitpid(pid, 0)
    server_cpu, server_sys = map(float, os.read(read_end, 100).split())
    os.close(read_end)
    os.close(write_end)
    client.close()
    listener.close()
    if kind == "unix":
        os.unlink(address)
        os.rmdir(os.path.dirname(address))
    return (statistics.median(trips) / 1000, 1e6 * (cpu1 - cpu0 + server_cpu) / exchanges,
            1e6 * (sys1 - sys0 + server_sys) / exchanges)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=30000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    results = {"tcp": [], "unix": []}
    for round_ in range(args.rounds):
        for kind in (["tcp", "unix"] if round_ % 2 == 0 else ["unix", "tcp"]):
            results[kind].append(run(kind, args.exchanges))
    print("%d rounds of %d exchanges, load average %.1f" % (args.rounds, args.exchanges, os.getloadavg()[0]))
    print()
    print("| transport | round trip µs (median of rounds) | range | CPU µs per exchange, both ends | range | of it system |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for kind, runs in results.items():
        print("| %s | %.1f | %.1f-%.1f | %.1f | %.1f-%.1f | %.1f |" % (
            kind, statistics.median(r[0] for r in runs), min(r[0] for r in runs), max(r[0] for r in runs),
            statistics.median(r[1] for r in runs), min(r[1] for r in runs), max(r[1] for r in runs),
            statistics.median(r[2] for r in runs)))
    pairs = list(zip(results["tcp"], results["unix"]))
    print()
    print("TCP minus Unix, median of pairs: round trip %+.1f µs (Unix lower in %d of %d), CPU %+.1f µs (Unix lower in %d of %d)" % (
        statistics.median(t[0] - u[0] for t, u in pairs), sum(1 for t, u in pairs if u[0] < t[0]), len(pairs),
        statistics.median(t[1] - u[1] for t, u in pairs), sum(1 for t, u in pairs if u[1] < t[1]), len(pairs)))


if __name__ == "__main__":
    main()
