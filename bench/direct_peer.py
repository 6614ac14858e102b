"""The "direct" peer: a Nimbus runtime client driven with no platform around it.

One asyncio process plays the Lambda Runtime API (2018-06-01) for one runtime process at a time: it starts
the same bootstrap Nimbus ships (runtimes/nodejs/bootstrap.js or runtimes/python/bootstrap.py) as a plain
child process - no bubblewrap, no HTTP front door, no pool - and hands it events directly.

What it measures is the cost of the runtime client itself (start-up, handler load, the /next -> handler ->
/response exchange on loopback). Nimbus minus this peer is what the platform adds: the front door, the
invoker and pool, the sandbox and the log pipeline.

Only the standard library is used. Every wait has a deadline.
"""

import asyncio
import os
import time

_PREFIX = "/2018-06-01/runtime/"
_REQUEST_TIMEOUT_S = 10.0


class DirectRuntimeApi:
    """A single-instance Runtime API: /invocation/next, /invocation/<id>/response|error, /init/error."""

    def __init__(self):
        self._events = None  # asyncio.Queue of (request_id, payload bytes)
        self._replies = {}  # request_id -> Future[(is_error, body)]
        self._first_next = None  # Future set on the first GET /next (end of init)
        self._server = None
        self._connections = set()  # handler tasks; cancelled when an instance is replaced
        self.port = 0
        self._seq = 0

    async def start(self):
        self._events = asyncio.Queue(maxsize=1)
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self):
        self._drop_connections()
        self._server.close()
        await self._server.wait_closed()

    def _drop_connections(self):
        # A killed instance may leave a handler parked on /next; it must not outlive the instance.
        for task in list(self._connections):
            task.cancel()
        self._connections.clear()

    def reset(self):
        """Forget any state of a previous instance (called before starting a new one)."""
        self._drop_connections()
        self._events = asyncio.Queue(maxsize=1)
        self._replies.clear()
        self._first_next = asyncio.get_running_loop().create_future()

    @property
    def initialized(self):
        return self._first_next

    async def invoke(self, payload):
        """Hands one event to the runtime and returns (is_error, body) once it answers."""
        self._seq += 1
        request_id = "peer-%08d" % self._seq
        reply = asyncio.get_running_loop().create_future()
        self._replies[request_id] = reply
        await self._events.put((request_id, payload))
        try:
            return await asyncio.wait_for(reply, _REQUEST_TIMEOUT_S)
        finally:
            self._replies.pop(request_id, None)

    # -- HTTP/1.1, just enough for the two runtime clients (Content-Length bodies, keep-alive) --

    async def _serve(self, reader, writer):
        task = asyncio.current_task()
        self._connections.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                await self._dispatch(method, path, body, writer)
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _dispatch(self, method, path, body, writer):
        rest = path[len(_PREFIX):] if path.startswith(_PREFIX) else None
        if rest == "invocation/next" and method == "GET":
            if not self._first_next.done():
                self._first_next.set_result(time.perf_counter())
            request_id, payload = await self._events.get()
            deadline_ms = int(time.time() * 1000) + 3000
            self._write(writer, 200, payload, [
                ("Lambda-Runtime-Aws-Request-Id", request_id),
                ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:peer"),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
            ])
        elif rest is not None and method == "POST" and rest.startswith("invocation/"):
            parts = rest.split("/")
            reply = self._replies.get(parts[1]) if len(parts) == 3 else None
            if reply is not None and not reply.done():
                reply.set_result((parts[2] == "error", body))
            self._write(writer, 202, b'{"status":"OK"}', [])
        elif rest == "init/error" and method == "POST":
            if not self._first_next.done():
                self._first_next.set_exception(RuntimeError("init error: %s" % body[:300].decode("utf-8", "replace")))
            self._write(writer, 202, b'{"status":"OK"}', [])
        else:
            self._write(writer, 404, b'{"errorType":"NotFound"}', [])
        await writer.drain()

    @staticmethod
    def _write(writer, status, body, headers):
        reason = {200: "OK", 202: "Accepted", 404: "Not Found"}[status]
        out = ["HTTP/1.1 %d %s" % (status, reason), "Content-Type: application/json",
               "Content-Length: %d" % len(body)]
        out.extend("%s: %s" % h for h in headers)
        writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)


def runtime_command(family, node, python, runtimes_dir):
    """The command line Nimbus uses for the family, minus bubblewrap."""
    if family == "node":
        # Nimbus passes --max-old-space-size = 85% of a 128 MB function.
        return [node, "--max-old-space-size=108", os.path.join(runtimes_dir, "nodejs", "bootstrap.js")]
    return [python, "-s", os.path.join(runtimes_dir, "python", "bootstrap.py")]


def runtime_environment(api_port, handler, task_root, runtimes_dir):
    """The subset of Nimbus's instance environment the runtime clients read."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "_HANDLER": handler,
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": runtimes_dir,
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % api_port,
        "AWS_LAMBDA_FUNCTION_NAME": "peer",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/peer",
        "AWS_LAMBDA_LOG_STREAM_NAME": "peer",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


async def _start_instance(api, command, environment, stderr_path):
    api.reset()
    with open(stderr_path, "ab") as stderr:
        return await asyncio.create_subprocess_exec(
            *command, env=environment, cwd=environment["LAMBDA_TASK_ROOT"],
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=stderr)


async def _stop_instance(process):
    if process.returncode is None:
        process.kill()
    try:
        await asyncio.wait_for(process.wait(), 5)
    except asyncio.TimeoutError:
        pass


async def _measure(command, environment, payload, cold_samples, warm_samples, warmup, pause_s, stderr_path, deadline):
    api = DirectRuntimeApi()
    await api.start()
    environment = dict(environment, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % api.port)
    cold_total, cold_init, warm, warm_paced, errors = [], [], [], [], 0
    try:
        # Cold: spawn -> first GET /next (init) and spawn -> first response (first invoke). Sample 0 is
        # discarded (page cache, first use of the interpreter binary).
        for i in range(cold_samples + 1):
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            process = await _start_instance(api, command, environment, stderr_path)
            try:
                ready = await asyncio.wait_for(api.initialized, _REQUEST_TIMEOUT_S)
                is_error, _ = await api.invoke(payload)
                done = time.perf_counter()
            except (asyncio.TimeoutError, RuntimeError):
                errors += 1
                continue
            finally:
                await _stop_instance(process)
            errors += 1 if is_error else 0
            if i > 0:
                cold_init.append((ready - started) * 1000)
                cold_total.append((done - started) * 1000)

        # Warm: one long-lived instance, sequential events, back-to-back then with a pause before each.
        process = await _start_instance(api, command, environment, stderr_path)
        try:
            await asyncio.wait_for(api.initialized, _REQUEST_TIMEOUT_S)
            for samples, pause in ((warm, 0.0), (warm_paced, pause_s)):
                for i in range(warmup + warm_samples):
                    if time.monotonic() > deadline:
                        break
                    if pause:
                        await asyncio.sleep(pause)
                    started = time.perf_counter()
                    is_error, _ = await api.invoke(payload)
                    elapsed = (time.perf_counter() - started) * 1000
                    errors += 1 if is_error else 0
                    if i >= warmup and not is_error:
                        samples.append(elapsed)
        finally:
            await _stop_instance(process)
    finally:
        await api.close()
    return {"cold_total": cold_total, "cold_init": cold_init, "warm": warm, "warm_paced": warm_paced, "errors": errors}


def measure(command, environment, payload, cold_samples, warm_samples, warmup, pause_s, stderr_path, deadline):
    """Runs the peer for one runtime; returns lists of milliseconds and an error count."""
    return asyncio.run(_measure(command, environment, payload, cold_samples, warm_samples, warmup, pause_s,
                                stderr_path, deadline))
