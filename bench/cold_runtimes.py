#!/usr/bin/env python3
"""First invoke of new functions per runtime, .NET and Java next to node and python.

Usage: bench/cold_runtimes.py PORT LABEL N   against a running `./nimbus serve --listen http://127.0.0.1:PORT`
(start it with NIMBUS_PRESTART_POOL=0 or 1). Needs the integration tests' build (the function fixtures).
For each runtime it creates N functions one by one, waits 1.5 s (the pool refills), invokes each once with
X-Amz-Log-Type: Tail and prints one Markdown row of medians: Init Duration, Duration of that invoke, their
sum (process start, or specialization, to the first response), the client-observed invoke, and its maximum.
"""
import base64, http.client, json, re, sys, time, subprocess, os, io, zipfile

import sigv4  # noqa: E402  (Nimbus refuses unsigned requests: every request to it is signed)
sigv4.sign_all_requests()
port = int(sys.argv[1]); label = sys.argv[2]; n = int(sys.argv[3])
fix = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "artifacts", "bin", "Nimbus.IntegrationTests", "release", "Fixtures", "functions") + "/"
def zipdir(d):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for root, _, files in os.walk(d):
            for f in files:
                if f.endswith(".pdb"): continue
                p = os.path.join(root, f); z.write(p, os.path.relpath(p, d))
    return base64.b64encode(b.getvalue()).decode()
shapes = {
  "dotnet8 (POCO + context)": ("dotnet8", "DotnetFunction::DotnetFunction.Functions::Order", zipdir(fix + "dotnet-function"), '{"orderId":"a","quantity":2}'),
  "dotnet8 (Stream)": ("dotnet8", "DotnetFunction::DotnetFunction.Functions::Echo", zipdir(fix + "dotnet-function"), '{"a":1}'),
  "nodejs20.x": ("nodejs20.x", "index.handler", zipdir(fix + "node-cjs"), '{"name":"x"}'),
  "python3.12": ("python3.12", "lambda_function.lambda_handler", zipdir(fix + "python"), '{"name":"x"}'),
  "java17 (POJO)": ("java17", "example.OrderHandler", zipdir(fix + "java-function"), '{"orderId":"a","quantity":2}'),
}
c = http.client.HTTPConnection("127.0.0.1", port)
def req(m, p, body=None, h=None):
    c.request(m, p, body=body, headers=h or {}); r = c.getresponse(); return r, r.read()
res = {}
for key, (rt, handler, z, payload) in shapes.items():
    rows = []
    for i in range(n):
        name = f"c{abs(hash(key))%10000}x{i}x{int(time.time()*1000)%100000}"
        body = json.dumps({"FunctionName": name, "Runtime": rt, "Handler": handler, "Role": "arn:aws:iam::000000000000:role/x", "Code": {"ZipFile": z}})
        r, b = req("POST", "/2015-03-31/functions", body, {"Content-Type": "application/json"})
        assert r.status == 201, b
        time.sleep(1.5)  # let the pool refill
        t = time.perf_counter()
        r, b = req("POST", f"/2015-03-31/functions/{name}/invocations", payload, {"X-Amz-Log-Type": "Tail"})
        wall = (time.perf_counter() - t) * 1000
        log = base64.b64decode(r.getheader("X-Amz-Log-Result")).decode()
        assert r.getheader("X-Amz-Function-Error") is None, (b, log)
        init = re.search(r"Init Duration: ([\d.]+)", log); dur = re.search(r"\tDuration: ([\d.]+)", log)
        rows.append((float(init.group(1)) if init else 0.0, float(dur.group(1)), wall))
        req("DELETE", f"/2015-03-31/functions/{name}")
    def p50(v): v = sorted(v); return v[len(v)//2]
    res[key] = rows
    print(f"| {label} | {key} | {p50([r[0] for r in rows]):.0f} | {p50([r[1] for r in rows]):.0f} | {p50([r[0]+r[1] for r in rows]):.0f} | {p50([r[2] for r in rows]):.0f} | {max(r[2] for r in rows):.0f} |", flush=True)
