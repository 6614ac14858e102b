import ctypes
import errno
import glob
import os
import resource
import signal
import socket
import threading
import uuid

# One value per process: tells a test whether two invocations ran in the same instance.
INSTANCE = uuid.uuid4().hex

# Sockets this instance keeps open past the invocation that opened them.
_kept = []

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
_libc.ptrace.restype = ctypes.c_long
PTRACE_ATTACH = 16
PTRACE_DETACH = 17


def _name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def _ptrace(pid):
    if _libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0:
        _libc.ptrace(PTRACE_DETACH, pid, None, None)
        return "ok"
    return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


def _signal(pid, number):
    try:
        os.kill(pid, number)
        return "ok"
    except OSError as e:
        return _name(e)


def _write(path):
    try:
        with open(path, "w") as f:
            f.write("written from inside the sandbox")
        return "ok"
    except OSError as e:
        return _name(e)


def _read(path):
    try:
        with open(path, "rb") as f:
            f.read(16)
        return "ok"
    except OSError as e:
        return _name(e)


def _serve(listener, reply):
    while True:
        try:
            connection, _ = listener.accept()
            connection.sendall(reply)
            connection.close()
        except OSError:
            return


def _connect(family, address, timeout):
    client = socket.socket(family, socket.SOCK_STREAM)
    client.settimeout(timeout)
    try:
        client.connect(address)
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return _name(e)
    try:
        data = client.recv(64)
        return "data:" + data.decode("latin-1") if data else "closed"
    except socket.timeout:
        return "no answer"
    except OSError as e:
        return _name(e)
    finally:
        client.close()


def _resolve(name):
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)})
    except socket.gaierror as e:
        return "gaierror:" + str(e.errno)


def _http_get(url):
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return f"{response.status} {response.read(200).decode('latin-1')}"
    except urllib.error.HTTPError as e:
        return f"{e.code} {e.read(200).decode('latin-1')}"
    except OSError as e:
        return _name(e) if getattr(e, "errno", None) else type(e).__name__ + ": " + str(e)


def _socket_table():
    """The local "address:port" (hex, as the kernel prints it) of every TCP socket /proc/net/tcp and tcp6 list."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                found += [line.split()[1] for line in f.readlines()[1:]]
        except OSError:
            pass
    return found


def handler(event, context):
    """Each key of the event is one hostile act; the result says how each went ("ok" or an errno name).

    {"read": [paths]}            open for reading
    {"write": [paths]}           create for writing
    {"ptrace": [pids]}           PTRACE_ATTACH (and detach when it worked)
    {"kill": [pids]}             SIGKILL
    {"visiblePids": true}        the pids this sandbox's /proc shows, with their command lines
    {"raiseFiles": n}            raise RLIMIT_NOFILE's soft and hard limits to n
    {"socketTable": true}        the local addresses of the TCP sockets this sandbox's /proc/net shows
    {"leave": {...}}             leave state behind: /tmp and /dev/shm files, an environment variable
    {"find": {...}}              look for state some instance left behind
    {"listenTcp": reply}         a listening TCP socket on 127.0.0.1 that answers reply, kept past the invocation
    {"listenAbstract": name}     a listening abstract Unix socket answering "leaked", kept past the invocation
    {"hold": [host, port]}       a connection to host:port with half an HTTP request, kept past the invocation
    {"holdEndpoint": true}       the same to this node's AWS endpoint ($AWS_ENDPOINT_URL); its port in "endpointPort"
    {"connectTcp": port}         connect to 127.0.0.1:port and read what comes within a second
    {"connectTo": [[host, port]]} connect to each host:port and read what comes within 5 seconds, by "host:port"
    {"resolve": [names]}         the IPv4 addresses each name resolves to, or the error's name
    {"cat": path}                the first 500 characters of a file
    {"httpGet": path}            GET $AWS_ENDPOINT_URL + path: "<status> <body>"
    {"connectAbstract": name}    connect to the abstract Unix socket and read what comes within a second
    {"glob": pattern}            the paths matching pattern
    """
    result = {"instance": INSTANCE}
    if "read" in event:
        result["read"] = {path: _read(path) for path in event["read"]}
    if "write" in event:
        result["write"] = {path: _write(path) for path in event["write"]}
    if "ptrace" in event:
        result["ptrace"] = {str(pid): _ptrace(pid) for pid in event["ptrace"]}
    if "kill" in event:
        result["kill"] = {str(pid): _signal(pid, signal.SIGKILL) for pid in event["kill"]}
    if event.get("visiblePids"):
        pids = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        pids[entry] = f.read().replace(b"\0", b" ").decode("latin-1").strip()
                except OSError as e:
                    pids[entry] = "(" + _name(e) + ")"
        result["visiblePids"] = pids
    if "raiseFiles" in event:
        wanted = event["raiseFiles"]
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            result["raiseFiles"] = "ok"
        except (OSError, ValueError) as e:
            result["raiseFiles"] = type(e).__name__
        result["openFilesLimit"] = list(resource.getrlimit(resource.RLIMIT_NOFILE))
    if "leave" in event:
        leave = event["leave"]
        for path in leave.get("files", []):
            result.setdefault("left", {})[path] = _write(path)
        for key, value in leave.get("environment", {}).items():
            os.environ[key] = value
    if "find" in event:
        find = event["find"]
        result["found"] = {
            "files": [path for path in find.get("files", []) if os.path.exists(path)],
            "environment": [key for key in find.get("environment", []) if key in os.environ],
        }
    if "listenTcp" in event:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        _kept.append(listener)
        threading.Thread(target=_serve, args=(listener, event["listenTcp"].encode()), daemon=True).start()
        result["port"] = listener.getsockname()[1]
    if "listenAbstract" in event:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind("\0" + event["listenAbstract"])
            listener.listen(16)
            _kept.append(listener)
            threading.Thread(target=_serve, args=(listener, b"leaked"), daemon=True).start()
            result["listenAbstract"] = "ok"
        except OSError as e:
            result["listenAbstract"] = _name(e)
    if "hold" in event:
        host, port = event["hold"]
        held = socket.create_connection((host, port), timeout=5)
        held.sendall(b"POST /2015-03-31/functions/x/invocations HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Length: 1000000\r\n")
        _kept.append(held)
        result["hold"] = "ok"
    if event.get("holdEndpoint"):
        import urllib.parse
        endpoint = urllib.parse.urlsplit(os.environ["AWS_ENDPOINT_URL"])
        held = socket.create_connection((endpoint.hostname, endpoint.port), timeout=5)
        held.sendall(b"POST /2015-03-31/functions/x/invocations HTTP/1.1\r\nHost: " + endpoint.netloc.encode() + b"\r\nContent-Length: 1000000\r\n")
        _kept.append(held)
        result["holdEndpoint"] = "ok"
        result["endpointPort"] = endpoint.port
    if "connectTcp" in event:
        result["connectTcp"] = _connect(socket.AF_INET, ("127.0.0.1", event["connectTcp"]), 1.0)
    if "connectTo" in event:
        result["connectTo"] = {f"{host}:{port}": _connect(socket.AF_INET, (host, port), 5.0) for host, port in event["connectTo"]}
    if "resolve" in event:
        result["resolve"] = {name: _resolve(name) for name in event["resolve"]}
    if "cat" in event:
        with open(event["cat"]) as f:
            result["cat"] = f.read(500)
    if "httpGet" in event:
        result["httpGet"] = _http_get(os.environ["AWS_ENDPOINT_URL"] + event["httpGet"])
    if "connectAbstract" in event:
        result["connectAbstract"] = _connect(socket.AF_UNIX, "\0" + event["connectAbstract"], 1.0)
    if "glob" in event:
        result["glob"] = sorted(glob.glob(event["glob"]))
    if event.get("socketTable"):
        result["socketTable"] = _socket_table()
    return result
