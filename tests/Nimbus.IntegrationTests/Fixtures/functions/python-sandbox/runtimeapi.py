import os
import socket


def own(event, context):
    """Returns the Runtime API address this instance was given."""
    return {"runtimeApi": os.environ["AWS_LAMBDA_RUNTIME_API"]}


def steal(event, context):
    """Asks another instance's Runtime API for that instance's next event; returns the HTTP status or why not."""
    host, port = event["runtimeApi"].split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=3) as s:
            s.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
            status_line = s.recv(4096).split(b"\r\n", 1)[0].decode()
            return {"status": int(status_line.split()[1])}
    except socket.timeout:
        return {"status": "timeout"}
    except OSError as e:
        return {"status": type(e).__name__}


def whoami(event, context):
    """The instance's user as the sandbox's /etc/passwd names it, and the accounts that file lists."""
    import pwd
    return {
        "uid": os.getuid(),
        "name": pwd.getpwuid(os.getuid()).pw_name,
        "accounts": sorted({p.pw_name for p in pwd.getpwall() if not p.pw_name.startswith("sbx_user")}),
    }
