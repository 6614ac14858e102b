#!/usr/bin/env python3
"""First invoke of new functions per runtime (.NET and Java next to node and python), without and with the pool of
pre-started runtimes, in one command.

Usage: bench/cold_runtimes.py [N]      (N functions per runtime and pool setting, default 5)
Needs `./nimbus build` and the integration tests' build (the function fixtures), i.e.
`dotnet build Nimbus.slnx -c Release`. Starts two servers of its own (NIMBUS_PRESTART_POOL=0, then 1) on free
ports with throw-away data directories, signs every request with SigV4 (botocore) as a client would, and stops them.
For each runtime it creates N functions one by one, waits 1.5 s (the pool refills; a shape the pool does not keep
from the start, such as Java's, joins after its first cold start), invokes each once with X-Amz-Log-Type: Tail and
prints one Markdown row of medians: Init Duration, Duration of that invoke, their sum (process start, or
specialization, to the first response), the client-observed invoke, and its maximum.
"""
import base64, http.client, io, json, os, re, shutil, socket, subprocess, sys, tempfile, threading, time, zipfile

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
server_dll = os.path.join(repo, "artifacts", "bin", "Nimbus.Server", "release", "nimbusd.dll")
fix = os.path.join(repo, "artifacts", "bin", "Nimbus.IntegrationTests", "release", "Fixtures", "functions") + "/"
credentials = Credentials("benchroot", "benchrootsecret")


def zipdir(d):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for root, _, files in os.walk(d):
            for f in files:
                if f.endswith(".pdb"):
                    continue
                p = os.path.join(root, f)
                z.write(p, os.path.relpath(p, d))
    return base64.b64encode(b.getvalue()).decode()


shapes = {
    "dotnet8 (POCO + context)": ("dotnet8", "DotnetFunction::DotnetFunction.Functions::Order", "dotnet-function", '{"orderId":"a","quantity":2}'),
    "dotnet8 (Stream)": ("dotnet8", "DotnetFunction::DotnetFunction.Functions::Echo", "dotnet-function", '{"a":1}'),
    "java17 (POJO)": ("java17", "example.OrderHandler", "java-function", '{"orderId":"a","quantity":2}'),
    "java21 (method)": ("java21", "example.Handlers::upper", "java-function", '"x"'),
    "nodejs20.x": ("nodejs20.x", "index.handler", "node-cjs", '{"name":"x"}'),
    "python3.12": ("python3.12", "lambda_function.lambda_handler", "python", '{"name":"x"}'),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(pool):
    port, data = free_port(), tempfile.mkdtemp(prefix="nimbus-bench-cold-")
    env = dict(os.environ, NIMBUS_PRESTART_POOL=str(pool), NIMBUS_ROOT_ACCESS_KEY_ID=credentials.access_key,
               NIMBUS_ROOT_SECRET_ACCESS_KEY=credentials.secret_key, DOTNET_NOLOGO="1")
    process = subprocess.Popen(["dotnet", server_dll, "serve", "--listen", f"http://127.0.0.1:{port}", "--data", data],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        if "Nimbus is ready on" in line:
            break
    else:
        raise SystemExit(f"the server with NIMBUS_PRESTART_POOL={pool} exited before it was ready")
    # Keep reading its output, or a full pipe would stall the server.
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    return process, port, data


def request(c, port, method, path, body=None, headers=None):
    signed = AWSRequest(method=method, url=f"http://127.0.0.1:{port}{path}", data=body or b"", headers=headers or {})
    SigV4Auth(credentials, "lambda", "us-east-1").add_auth(signed)
    c.request(method, path, body=body, headers=dict(signed.headers.items()))
    r = c.getresponse()
    return r, r.read()


def measure(label, port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    time.sleep(5)  # the pool's default shapes start with the server
    zips = {}
    for key, (rt, handler, fixture, payload) in shapes.items():
        z = zips.setdefault(fixture, zipdir(fix + fixture))
        rows = []
        for i in range(n):
            name = f"c{abs(hash(key)) % 10000}x{i}x{int(time.time() * 1000) % 100000}"
            body = json.dumps({"FunctionName": name, "Runtime": rt, "Handler": handler, "Role": "arn:aws:iam::000000000000:role/x", "Code": {"ZipFile": z}})
            r, b = request(c, port, "POST", "/2015-03-31/functions", body.encode(), {"Content-Type": "application/json"})
            assert r.status == 201, b
            time.sleep(1.5)  # let the pool refill
            t = time.perf_counter()
            r, b = request(c, port, "POST", f"/2015-03-31/functions/{name}/invocations", payload.encode(), {"X-Amz-Log-Type": "Tail"})
            wall = (time.perf_counter() - t) * 1000
            log = base64.b64decode(r.getheader("X-Amz-Log-Result")).decode()
            assert r.getheader("X-Amz-Function-Error") is None, (b, log)
            init = re.search(r"Init Duration: ([\d.]+)", log)
            dur = re.search(r"\tDuration: ([\d.]+)", log)
            rows.append((float(init.group(1)) if init else 0.0, float(dur.group(1)), wall))
            request(c, port, "DELETE", f"/2015-03-31/functions/{name}")

        def p50(v):
            v = sorted(v)
            return v[len(v) // 2]

        print(f"| {label} | {key} | {p50([r[0] for r in rows]):.0f} | {p50([r[1] for r in rows]):.0f} | {p50([r[0] + r[1] for r in rows]):.0f} | {p50([r[2] for r in rows]):.0f} | {max(r[2] for r in rows):.0f} |", flush=True)


print("| pool | runtime (handler) | Init Duration p50 (ms) | Duration p50 (ms) | sum p50 (ms) | client p50 (ms) | client max (ms) |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for pool in (0, 1):
    process, port, data = start(pool)
    try:
        measure(f"PrestartPool={pool}", port)
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
