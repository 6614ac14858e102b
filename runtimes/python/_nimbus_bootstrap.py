"""Nimbus Python runtime interface client.

Speaks the Lambda Runtime API (2018-06-01) at http://$AWS_LAMBDA_RUNTIME_API,
imports the user handler named by $_HANDLER from $LAMBDA_TASK_ROOT once, then
serves invocations one at a time until the process is killed.

Started by bootstrap.py beside it (python3 -s /var/runtime/python/bootstrap.py),
which imports this module so that its compiled form is cached.

Start-up cost matters, so only os, sys, json and the `_socket` builtin are
imported up front (the HTTP client below is hand-rolled: http.client alone
would cost more than the interpreter's own start-up). traceback, importlib,
time and logging are imported on first use; the root logger is configured the
moment user code imports `logging`.
"""

import os
import sys
import json
import _socket

API_PREFIX = "/2018-06-01/runtime"

_env = os.environ
_this_file = os.path.abspath(__file__)

# Request id shown by the logging handler; None before the first invoke.
_current_request_id = None


# ---------------------------------------------------------------------------
# stdout / stderr
# ---------------------------------------------------------------------------

def _setup_stdio():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except Exception:
            pass


def _flush_stdio():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _write_stdout(text):
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except Exception:
        pass


# ---------------------------------------------------------------------------
# Runtime API client (one keep-alive connection)
# ---------------------------------------------------------------------------

class _RuntimeApiUnavailable(Exception):
    pass


class _ConnectionLost(Exception):
    """The connection died before any byte of the response arrived."""


class RuntimeApiClient:
    """Minimal HTTP/1.1 client for the Runtime API: one keep-alive
    connection, reconnected when the server has closed it.

    Written on the `_socket` builtin instead of http.client: http.client pulls
    in email, ssl, urllib and friends, which costs several times the
    interpreter's own start-up. Using `_socket` directly also keeps the
    runtime independent of user code that monkey-patches `socket` (gevent).
    Responses may use Content-Length, chunked transfer coding or
    close-delimited bodies.
    """

    def __init__(self, address, unix_path=None):
        host, port = self._split(address)
        # NIMBUS_RUNTIME_API_SOCKET: the same Runtime API on a Unix domain socket, which only Nimbus's own clients
        # know of (cheaper per request than loopback TCP); the address stays the contract and the Host header.
        self._unix_path = unix_path or None
        self._host = host
        self._port = port
        self._host_header = address
        self._sock = None
        self._buf = bytearray()
        self._next_data = None
        self._answer_heads = None
        self._recv_view = None
        # Response parsing caches (_parse_head, _read_response). The headers dicts they hand out are shared: the
        # runtime only reads them.
        self._line_cache = {}
        self._last_heads = {}

    @staticmethod
    def _split(address):
        if not address:
            raise ValueError("AWS_LAMBDA_RUNTIME_API is not set")
        if address.startswith("["):  # [::1]:9001
            end = address.index("]")
            host = address[1:end]
            rest = address[end + 1:]
            port = int(rest[1:]) if rest.startswith(":") else 80
            return host, port
        if ":" in address:
            host, _, port = address.rpartition(":")
            return host, int(port)
        return address, 80

    # -- connection -----------------------------------------------------

    def _connect(self):
        if self._unix_path is not None:
            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            try:
                sock.settimeout(None)
                sock.connect(self._unix_path)
            except OSError:
                sock.close()
                raise
            self._sock = sock
            self._buf = bytearray()
            return
        last = None
        host = self._host
        try:
            host = host.encode("ascii")  # bytes: skips loading the idna codec
        except UnicodeError:
            pass
        for family, socktype, proto, _name, sockaddr in _socket.getaddrinfo(
                host, self._port, 0, _socket.SOCK_STREAM):
            sock = _socket.socket(family, socktype, proto)
            try:
                # No timeout: /invocation/next is a long poll. Set explicitly,
                # user code may have called socket.setdefaulttimeout().
                sock.settimeout(None)
                sock.connect(sockaddr)
            except OSError as e:
                sock.close()
                last = e
                continue
            try:
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            except OSError:
                pass
            self._sock = sock
            self._buf = bytearray()
            return
        raise last if last is not None else OSError("cannot resolve %s" % self._host)

    def _drop(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
        self._buf = bytearray()

    # -- reading --------------------------------------------------------

    def _fill(self):
        # Into one buffer kept for the connection's life: recv(n) would allocate (mmap) n bytes per call.
        view = self._recv_view
        if view is None:
            view = self._recv_view = memoryview(bytearray(262144))
        n = self._sock.recv_into(view)
        if not n:
            raise ConnectionResetError("connection closed by the Runtime API")
        self._buf += view[:n]

    def _read_until(self, sep, limit=1 << 20):
        start = 0
        while True:
            i = self._buf.find(sep, start)
            if i >= 0:
                out = bytes(self._buf[:i])
                del self._buf[:i + len(sep)]
                return out
            if len(self._buf) > limit:
                raise http_error("response header too long")
            start = max(0, len(self._buf) - len(sep) + 1)
            self._fill()

    def _read_exact(self, n):
        while len(self._buf) < n:
            self._fill()
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _read_to_close(self):
        while True:
            try:
                self._fill()
            except ConnectionResetError:
                break
        out = bytes(self._buf)
        self._buf = bytearray()
        return out

    def _read_head(self):
        """The next response's head, up to the blank line, as latin-1 text."""
        buf = self._buf
        if not buf:
            try:
                self._fill()
            except ConnectionResetError:
                raise _ConnectionLost()
            buf = self._buf
        end = buf.find(b"\r\n\r\n")
        while end < 0:
            if len(buf) > 1 << 20:
                raise http_error("response header too long")
            start = max(0, len(buf) - 3)
            self._fill()
            end = buf.find(b"\r\n\r\n", start)
        head = buf[:end].decode("latin-1")
        del buf[:end + 4]
        return head

    def _parse_head(self, head):
        """(version, status, headers with lower-case names) of a response head. Most header lines repeat from one
        response to the next (Content-Type, Server, the function's ARN): their (name, value) come from a cache
        of the first lines seen, which costs a hash instead of a partition, two strips and a lower."""
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise http_error("bad status line %r" % lines[0])
        headers = {}
        cache = self._line_cache
        for line in lines[1:]:
            entry = cache.get(line)
            if entry is None:
                name, sep, value = line.partition(":")
                if not sep:
                    continue
                entry = (name.strip().lower(), value.strip())
                if len(cache) < 64:
                    cache[line] = entry
            headers[entry[0]] = entry[1]
        return parts[0], int(parts[1]), headers

    def _read_response(self, method):
        # Status line + headers (skipping any 1xx interim responses).
        while True:
            head = self._read_head()
            last = self._last_heads.get(method)
            if last is not None and last[0] == head:
                # The answer to a POST is the same 202 head time after time (until its Date changes).
                _, version, status, headers = last
            else:
                version, status, headers = self._parse_head(head)
                self._last_heads[method] = (head, version, status, headers)
            if 100 <= status < 200 and status != 101:
                continue
            break

        conn_hdr = headers.get("connection")
        if conn_hdr is None:
            keep_alive = version != "HTTP/1.0"
        else:
            conn_hdr = conn_hdr.lower()
            keep_alive = ("close" not in conn_hdr) and (version != "HTTP/1.0" or "keep-alive" in conn_hdr)
        length = headers.get("content-length")
        te = headers.get("transfer-encoding")
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif te is None and length is not None:
            n = int(length)
            buf = self._buf
            while len(buf) < n:
                self._fill()
            body = bytes(buf[:n])
            del buf[:n]
        elif te is not None and "chunked" in te.lower():
            chunks = []
            while True:
                size_line = self._read_until(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self._read_until(b"\r\n"):  # trailers, then blank line
                        pass
                    break
                chunks.append(self._read_exact(size))
                self._read_exact(2)
            body = b"".join(chunks)
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        else:
            body = self._read_to_close()
            keep_alive = False
        if not keep_alive:
            self._drop()
        return status, headers, body

    # -- requests -------------------------------------------------------

    def _encode(self, method, path, body, headers):
        head = ["%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, self._host_header)]
        for name, value in (headers or {}).items():
            head.append("%s: %s\r\n" % (name, value))
        if body is not None:
            head.append("Content-Length: %d\r\n" % len(body))
        head.append("\r\n")
        data = "".join(head).encode("latin-1")
        if body:
            data += body
        return data

    def _next_request(self):
        data = self._next_data
        if data is None:
            data = self._next_data = self._encode("GET", API_PREFIX + "/invocation/next", None, None)
        return data

    def _answer_head(self, path, error_type):
        """The head of POST <path> up to its Content-Length value."""
        heads = self._answer_heads
        if heads is None:
            host = self._host_header.encode("latin-1")
            heads = self._answer_heads = (
                b"POST " + API_PREFIX.encode() + b"%s HTTP/1.1\r\nHost: " + host
                + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
                b"POST " + API_PREFIX.encode() + b"%s HTTP/1.1\r\nHost: " + host
                + b"\r\nContent-Type: application/json\r\nLambda-Runtime-Function-Error-Type: %s"
                + b"\r\nContent-Length: %d\r\n\r\n")
        return heads

    def request(self, method, path, body=None, headers=None, then_next=False):
        """Returns (status, headers with lower-case names, body bytes).
        Retries once on a fresh connection when a reused one turns out to
        have been closed by the server.

        then_next: pipelines GET /invocation/next behind the request (one
        write, HTTP/1.1 pipelining; the server answers in order) and returns
        ((status, headers, body), (status, headers, body) of /next). That
        saves the wait for the answer before asking for the next event."""
        data = self._encode(method, path, body, headers)
        if then_next:
            data += self._next_request()
        return self._exchange(data, method, path, then_next)

    def _exchange(self, data, method, path, then_next):
        for attempt in (0, 1):
            reused = self._sock is not None
            try:
                if self._sock is None:
                    self._connect()
                self._sock.sendall(data)
                first = self._read_response(method)
                if not then_next:
                    return first
                if self._sock is None:
                    # The server closed after the first answer: ask again.
                    return first, self.request("GET", API_PREFIX + "/invocation/next")
                return first, self._read_response("GET")
            except (_ConnectionLost, BrokenPipeError, ConnectionResetError) as e:
                self._drop()
                if attempt == 0 and reused:
                    continue
                raise _RuntimeApiUnavailable("%s %s: %s" % (method, path, str(e) or "connection lost"))
            except (OSError, ValueError, IndexError) as e:
                self._drop()
                raise _RuntimeApiUnavailable("%s %s: %s" % (method, path, e))
        raise _RuntimeApiUnavailable("%s %s: unreachable" % (method, path))

    def next(self):
        return self._checked_next(self.request("GET", API_PREFIX + "/invocation/next"))

    @staticmethod
    def _checked_next(answer):
        status, headers, data = answer
        if status != 200:
            raise _RuntimeApiUnavailable(
                "GET /invocation/next answered %d: %r" % (status, data[:500]))
        return headers, data

    def _post(self, path, body, error_type=None, then_next=False):
        # Everything the handler printed must reach the pipe before the
        # server learns the invoke is over.
        _flush_stdio()
        heads = self._answer_heads or self._answer_head(path, error_type)
        if error_type is None:
            data = heads[0] % (path.encode("latin-1"), len(body)) + body
        else:
            data = heads[1] % (path.encode("latin-1"), _header_safe(error_type).encode("latin-1"), len(body)) + body
        if then_next:
            data += self._next_data or self._next_request()
        answer = self._exchange(data, "POST", API_PREFIX + path, then_next)
        following = None
        if then_next:
            answer, following = answer
        status, _headers, data = answer
        if status >= 500:
            raise _RuntimeApiUnavailable(
                "POST %s answered %d: %r" % (path, status, data[:500]))
        if status not in (200, 202):
            # e.g. invoke already timed out: nothing to do but carry on.
            try:
                sys.stderr.write("[nimbus-runtime] POST %s answered %d: %r\n"
                                 % (path, status, data[:500]))
                sys.stderr.flush()
            except Exception:
                pass
        return self._checked_next(following) if then_next else None

    def post_response(self, request_id, body, then_next=False):
        """then_next: also asks for the next event; returns its (headers, body)."""
        return self._post("/invocation/%s/response" % request_id, body, None, then_next)

    def post_error(self, request_id, body, error_type, then_next=False):
        return self._post("/invocation/%s/error" % request_id, body, error_type, then_next)

    def post_init_error(self, body, error_type):
        self._post("/init/error", body, error_type)


def http_error(message):
    return ValueError("malformed HTTP response from the Runtime API: %s" % message)


def _header_safe(value):
    value = str(value)
    if all(" " <= c <= "~" for c in value):
        return value
    out = []
    for c in value:
        if " " <= c <= "~":
            out.append(c)
        else:
            out.extend("%%%02X" % b for b in c.encode("utf-8"))
    return "".join(out)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

class FaultException(Exception):
    """An error the runtime reports on the user's behalf (Runtime.*)."""

    def __init__(self, error_type, message, stack_trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace if stack_trace is not None else []


def _user_frames(tb):
    """Traceback entries without the runtime's own leading frames."""
    import traceback
    frames = traceback.extract_tb(tb)
    for i, frame in enumerate(frames):
        name = frame.filename
        if not (name == _this_file or name.startswith("<frozen importlib")
                or name.endswith(os.path.join("importlib", "__init__.py"))):
            return traceback.format_list(frames[i:])
    return []


def _error_body(error_type, message, stack_trace, request_id):
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack_trace,
    }


def _exception_body(exc, request_id):
    if isinstance(exc, FaultException):
        return _error_body(exc.error_type, exc.message, exc.stack_trace, request_id)
    try:
        message = str(exc)
    except Exception:
        message = "<exception str() failed>"
    try:
        stack = _user_frames(exc.__traceback__)
    except Exception:
        stack = []
    return _error_body(type(exc).__name__, message, stack, request_id)


def _json_logs():
    return _env.get("AWS_LAMBDA_LOG_FORMAT") == "JSON"


def _log_error(body):
    """One log record: `[ERROR] Type: message` + traceback, '\\r'-joined (JSON with LogFormat JSON)."""
    if _json_logs():
        import time
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        entry = {
            "timestamp": "%s.%03dZ" % (stamp, int(now * 1000) % 1000),
            "level": "ERROR",
            "message": "%s: %s" % (body.get("errorType"), body.get("errorMessage")),
            "errorType": body.get("errorType"),
            "errorMessage": body.get("errorMessage"),
            "requestId": _current_request_id,
            "stackTrace": body.get("stackTrace") or [],
        }
        _write_stdout(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        return
    head = "[ERROR]"
    if body.get("errorType"):
        head += " " + body["errorType"]
    if body.get("errorMessage"):
        if body.get("errorType"):
            head += ":"
        head += " " + body["errorMessage"]
    lines = [head]
    stack = body.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for entry in stack:
            if entry == "":
                lines.append("")
            else:
                lines.extend(entry.splitlines())
    _write_stdout("\r".join(lines).replace("\n", "\r") + "\n")


def _to_json_bytes(obj):
    return _encode_json(obj).encode("utf-8")


def _json_default(o):
    # Decimal (e.g. from DynamoDB) serialises as a number, as on AWS.
    if type(o).__name__ == "Decimal" and "decimal" in sys.modules:
        import decimal
        if isinstance(o, decimal.Decimal):
            return float(o)
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


def _make_json_encoder():
    """json.dumps(obj, ensure_ascii=False, allow_nan=True, default=_json_default), with what it builds per call
    built once: JSONEncoder.encode makes a new C encoder (c_make_encoder) for every call, which cost more than
    encoding a small result. The C encoder keeps the ids of the containers it is inside in `markers` (circular
    reference check) and leaves them there when encoding fails half-way, so they are cleared after a failure."""
    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=True, default=_json_default)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    markers = {}
    try:
        encode_c = make(markers, encoder.default, json.encoder.encode_basestring, None, encoder.key_separator,
                        encoder.item_separator, False, False, True)
    except TypeError:  # another signature in a future Python
        return encoder.encode
    encode_str = json.encoder.encode_basestring

    def encode(obj):
        if obj.__class__ is str:
            return encode_str(obj)
        try:
            return "".join(encode_c(obj, 0))
        except BaseException:
            markers.clear()
            raise

    return encode


_encode_json = _make_json_encoder()
_decode_json = json.JSONDecoder().decode


def _parse_event(body):
    """json.loads(body), without its per-call encoding detection for the usual UTF-8 body: anything the fast path
    cannot read (a UTF-16 or UTF-32 body, a UTF-8 BOM, bad JSON) goes through json.loads, which reads it or
    raises its own error."""
    try:
        return _decode_json(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return json.loads(body)


# ---------------------------------------------------------------------------
# logging (configured lazily, the moment anything imports `logging`)
# ---------------------------------------------------------------------------

_logging_configured = False


def _configure_logging(logging):
    global _logging_configured
    if _logging_configured:
        return
    _logging_configured = True
    import time

    class LambdaLoggerHandler(logging.Handler):
        def emit(self, record):
            try:
                msg = self.format(record)
                msg = msg.replace("\n", "\r")
                sys.stdout.write(msg + "\n")
                sys.stdout.flush()
            except Exception:
                self.handleError(record)

    class LambdaLoggerFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _current_request_id
            return True

    class LambdaJsonFormatter(logging.Formatter):
        """LoggingConfig JSON: one record {timestamp, level, message, logger, requestId} per line."""

        def format(self, record):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            entry = {
                "timestamp": "%s.%03dZ" % (stamp, record.msecs),
                "level": "FATAL" if record.levelname == "CRITICAL" else record.levelname,
                "message": record.getMessage(),
                "logger": record.name,
                "requestId": record.aws_request_id,
            }
            if record.exc_info and record.exc_info[0] is not None:
                import traceback
                entry["errorType"] = record.exc_info[0].__name__
                entry["errorMessage"] = str(record.exc_info[1])
                entry["stackTrace"] = traceback.format_tb(record.exc_info[2])
            return json.dumps(entry, ensure_ascii=False, default=str)

    if _json_logs():
        formatter = LambdaJsonFormatter()
    else:
        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S")
        formatter.converter = time.gmtime
    handler = LambdaLoggerHandler()
    handler.setFormatter(formatter)
    handler.addFilter(LambdaLoggerFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = _env.get("AWS_LAMBDA_LOG_LEVEL")
    if level:
        level = level.strip().upper()
        if level == "TRACE":
            level = "DEBUG"
        elif level == "FATAL":
            level = "CRITICAL"
        try:
            root.setLevel(level)
        except (ValueError, TypeError):
            pass


class _LoggingImportHook:
    """Meta path finder that lets the normal machinery import `logging` and
    then installs the Lambda handler on the root logger, before user code gets
    the module. Avoids paying for `logging` when the user never imports it."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "logging":
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module):
            original(module)
            try:
                _configure_logging(module)
            except Exception:
                pass
            try:
                del loader.exec_module  # back to the class attribute
            except AttributeError:
                pass

        loader.exec_module = exec_module
        return spec


def _install_logging():
    mod = sys.modules.get("logging")
    if mod is not None:
        _configure_logging(mod)
    else:
        sys.meta_path.insert(0, _LoggingImportHook())


# ---------------------------------------------------------------------------
# Context
# ---------------------------------------------------------------------------

class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity_id=None, pool_id=None):
        self.cognito_identity_id = identity_id
        self.cognito_identity_pool_id = pool_id

    def __repr__(self):
        return ("CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])"
                % (self.cognito_identity_id, self.cognito_identity_pool_id))


class Client:
    __slots__ = ("installation_id", "app_title", "app_version_name",
                 "app_version_code", "app_package_name")

    def __init__(self, d):
        self.installation_id = d.get("installation_id")
        self.app_title = d.get("app_title")
        self.app_version_name = d.get("app_version_name")
        self.app_version_code = d.get("app_version_code")
        self.app_package_name = d.get("app_package_name")

    def __repr__(self):
        return ("Client([installation_id=%s,app_title=%s,app_version_name=%s,"
                "app_version_code=%s,app_package_name=%s])"
                % (self.installation_id, self.app_title, self.app_version_name,
                   self.app_version_code, self.app_package_name))


class ClientContext:
    __slots__ = ("client", "custom", "env")

    def __init__(self, d):
        client = d.get("client")
        self.client = Client(client) if isinstance(client, dict) else None
        self.custom = d.get("custom")
        self.env = d.get("env")

    def __repr__(self):
        return "ClientContext([client=%s,custom=%s,env=%s])" % (self.client, self.custom, self.env)


# The function's own figures, read from the environment once its handler is
# loaded (each os.environ read encodes and decodes): (log group, log stream,
# function name, memory, version).
_function_env = None


def _read_function_env():
    global _function_env
    _function_env = (_env.get("AWS_LAMBDA_LOG_GROUP_NAME"), _env.get("AWS_LAMBDA_LOG_STREAM_NAME"),
                     _env.get("AWS_LAMBDA_FUNCTION_NAME"), _env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
                     _env.get("AWS_LAMBDA_FUNCTION_VERSION"))


class LambdaContext:
    def __init__(self, request_id, deadline_ms, invoked_function_arn,
                 client_context, cognito_identity):
        self.aws_request_id = request_id
        (self.log_group_name, self.log_stream_name, self.function_name, self.memory_limit_in_mb,
         self.function_version) = _function_env or _read_function_env() or _function_env
        self.invoked_function_arn = invoked_function_arn
        self._deadline_ms = deadline_ms

        self.identity = CognitoIdentity()
        if cognito_identity:
            try:
                d = json.loads(cognito_identity)
                if isinstance(d, dict):
                    self.identity = CognitoIdentity(d.get("cognitoIdentityId"),
                                                    d.get("cognitoIdentityPoolId"))
            except ValueError:
                pass

        self.client_context = None
        if client_context:
            try:
                d = json.loads(client_context)
                if isinstance(d, dict):
                    self.client_context = ClientContext(d)
            except ValueError:
                pass

    def get_remaining_time_in_millis(self):
        import time
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self):
        return ("LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
                "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
                "invoked_function_arn=%s,client_context=%s,identity=%s])"
                % (self.aws_request_id, self.log_group_name, self.log_stream_name,
                   self.function_name, self.memory_limit_in_mb, self.function_version,
                   self.invoked_function_arn, self.client_context, self.identity))


# ---------------------------------------------------------------------------
# Handler loading
# ---------------------------------------------------------------------------

def _syntax_error_trace(e):
    filename = getattr(e, "filename", None)
    lineno = getattr(e, "lineno", None)
    text = getattr(e, "text", None)
    if filename is None:
        return []
    entry = '  File "%s" Line %s\n' % (filename, lineno)
    if text:
        entry += "    %s\n" % text.strip("\n")
    return [entry]


def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException("Runtime.MalformedHandlerName",
                             "Bad handler '%s': %s" % (handler, e))

    import importlib
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException("Runtime.BuiltInModuleConflict",
                                 "Cannot use built-in module %s as a handler module" % modname)
        module = importlib.import_module(modname.replace("/", "."))
    except FaultException:
        raise
    except ImportError as e:
        raise FaultException("Runtime.ImportModuleError",
                             "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        raise FaultException("Runtime.UserCodeSyntaxError",
                             "Syntax error in module '%s': %s" % (modname, e),
                             _syntax_error_trace(e))
    except Exception as e:
        raise FaultException(type(e).__name__, str(e), _user_frames(e.__traceback__))

    try:
        return getattr(module, fname)
    except AttributeError:
        raise FaultException("Runtime.HandlerNotFound",
                             "Handler '%s' missing on module '%s'" % (fname, modname))


# ---------------------------------------------------------------------------
# The trace id's environment variable
# ---------------------------------------------------------------------------

TRACE_ID_VARIABLE = "_X_AMZN_TRACE_ID"


class _TraceIdVariable:
    """Sets _X_AMZN_TRACE_ID to each invoke's trace id without glibc's setenv, which keeps every distinct NAME=value
    string it is ever given for the life of the process (stdlib/setenv.c, known_values): a trace id is new on every
    invoke, so `os.environ[...] = ` keeps ~144 bytes per invoke until the instance reaches its memory limit.
    Python code reads os.environ, whose mapping is set directly; child processes inherit the C environ, which points
    (C putenv, which neither copies nor remembers) at a buffer of this runtime's own, rewritten in place while the id
    fits and nothing else has replaced or removed the variable since."""

    def __init__(self):
        import ctypes
        libc = ctypes.CDLL(None)
        self._putenv = libc.putenv
        self._putenv.argtypes = (ctypes.c_void_p,)
        self._getenv = libc.getenv
        self._getenv.argtypes = (ctypes.c_char_p,)
        self._getenv.restype = ctypes.c_void_p
        self._memmove = ctypes.memmove
        self._new_buffer = ctypes.create_string_buffer
        self._addressof = ctypes.addressof
        self._key = _env.encodekey(TRACE_ID_VARIABLE)
        self._data = _env._data
        self._buffer = None  # in environ from the last putenv; kept alive as long as it may be there
        self._value = None  # the address of its value
        self._capacity = 0  # bytes its value may take, the terminating NUL included

    def set(self, value):
        data = _env.encodevalue(value)
        if len(data) < self._capacity and self._getenv(self._key) == self._value:
            self._memmove(self._value, data + b"\0", len(data) + 1)
        else:
            capacity = max(256, 2 * len(data) + 1)
            buffer = self._new_buffer(self._key + b"=" + data, len(self._key) + 1 + capacity)
            if self._putenv(self._addressof(buffer)) != 0:
                _env[TRACE_ID_VARIABLE] = value
                return
            # environ no longer points at the previous buffer: putenv replaced the entry (or it had gone already).
            self._buffer = buffer
            self._value = self._addressof(buffer) + len(self._key) + 1
            self._capacity = capacity
        self._data[self._key] = data


_trace_id_variable = None
# A fresh (not pre-started) runtime sets the first ids through os.environ and loads ctypes (~10 ms) only after these
# many, never on a cold start's path; a pre-started one loads it before its function arrives.
_TRACE_IDS_BEFORE_CTYPES = 1000
_trace_ids_set = 0


def _load_trace_id_variable():
    global _trace_id_variable
    try:
        _trace_id_variable = _TraceIdVariable()
    except Exception:  # no ctypes, no libc symbols, an os.environ without its mapping: setenv it stays
        _trace_id_variable = False


def _set_trace_id(value):
    global _trace_ids_set
    variable = _trace_id_variable
    if variable:
        variable.set(value)
        return
    _env[TRACE_ID_VARIABLE] = value
    if variable is None:
        _trace_ids_set += 1
        if _trace_ids_set >= _TRACE_IDS_BEFORE_CTYPES:
            _load_trace_id_variable()


# ---------------------------------------------------------------------------
# Invocation
# ---------------------------------------------------------------------------

def handle_invocation(client, handler, headers, body):
    """Runs one event, answers it and returns the next event (headers, body):
    the answer and the request for the next event go out in one write."""
    global _current_request_id
    request_id = headers.get("lambda-runtime-aws-request-id") or ""
    _current_request_id = request_id

    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id:
        _set_trace_id(trace_id)
    else:
        _env.pop(TRACE_ID_VARIABLE, None)

    try:
        deadline_ms = int(headers.get("lambda-runtime-deadline-ms") or 0)
    except ValueError:
        deadline_ms = 0

    try:
        event = _parse_event(body) if body else {}
        context = LambdaContext(request_id, deadline_ms,
                                headers.get("lambda-runtime-invoked-function-arn"),
                                headers.get("lambda-runtime-client-context"),
                                headers.get("lambda-runtime-cognito-identity"))
        result = handler(event, context)
        try:
            payload = _to_json_bytes(result)
        except (TypeError, ValueError, OverflowError, RecursionError) as e:
            raise FaultException("Runtime.MarshalError",
                                 "Unable to marshal response: %s" % e)
    except Exception as e:
        error = _exception_body(e, request_id)
        _log_error(error)
        return client.post_error(request_id, _to_json_bytes(error), error["errorType"], then_next=True)
    return client.post_response(request_id, payload, then_next=True)


def _report_init_error(client, exc):
    error = _exception_body(exc, "")
    _log_error(error)
    try:
        client.post_init_error(_to_json_bytes(error), error["errorType"])
    except _RuntimeApiUnavailable as e:
        _runtime_api_failure(e)
    _flush_stdio()
    sys.exit(1)


def _runtime_api_failure(exc):
    try:
        _flush_stdio()
        sys.stderr.write("[nimbus-runtime] Runtime API failure: %s\n" % exc)
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(1)


ASSIGNMENT_PATH = "/nimbus/2018-06-01/runtime/assignment"


def _take_assignment(client):
    """Nimbus may start this client before any function needs it. It then
    waits here for the function it becomes: the answer is that function's
    whole environment, and its code is at /var/task by then. Everything that
    reads the environment or the task root runs after this."""
    status, _headers, data = client.request("GET", ASSIGNMENT_PATH)
    if status != 200:
        raise _RuntimeApiUnavailable(
            "GET %s answered %d: %r" % (ASSIGNMENT_PATH, status, data[:500]))
    assigned = json.loads(data)["environment"]
    _env.clear()
    _env.update(assigned)
    # The code was mounted over /var/task after this process entered it.
    os.chdir(_env.get("LAMBDA_TASK_ROOT") or "/var/task")


def main():
    _setup_stdio()

    try:
        client = RuntimeApiClient(_env.get("AWS_LAMBDA_RUNTIME_API"), _env.get("NIMBUS_RUNTIME_API_SOCKET"))
    except (ValueError, IndexError) as e:
        sys.stderr.write("[nimbus-runtime] %s\n" % e)
        sys.exit(1)

    if _env.get("_NIMBUS_PRESTARTED") == "1":
        # Loaded now, while no function waits: the logging set-up needs it, and ctypes the trace id's variable.
        import logging  # noqa: F401
        _load_trace_id_variable()
        try:
            _take_assignment(client)
        except _RuntimeApiUnavailable as e:
            _runtime_api_failure(e)
            return

    # The runtime's own directory must not shadow user modules; the task root
    # comes first on the search path.
    here = os.path.dirname(_this_file)
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != here]
    task_root = _env.get("LAMBDA_TASK_ROOT") or os.getcwd()
    sys.path.insert(0, task_root)

    _install_logging()

    try:
        handler = load_handler(_env.get("_HANDLER") or "")
    except Exception as e:
        _report_init_error(client, e)
        return
    _read_function_env()

    try:
        headers, body = client.next()
        while True:
            headers, body = handle_invocation(client, handler, headers, body)
    except _RuntimeApiUnavailable as e:
        _runtime_api_failure(e)


if __name__ == "__main__":
    main()
