import errno
import os


def _name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def handler(event, context):
    """Reports what this sandbox can see, read, signal and write.

    {"paths": [...]}  -> for each path: exists, listable (+ entries, or the listing's errno)
    {"read": [...]}   -> for each file: its first 64 KiB as latin-1 text, or the errno
    {"pid": N}        -> "kill": os.kill(N, 0) as "ok" or an errno name
    {"write": path}   -> "write": "ok" after creating path for writing, or the errno name
    """
    result = {"paths": {}, "read": {}}
    for path in event.get("paths", []):
        entry = {"exists": os.path.exists(path)}
        try:
            entry["entries"] = sorted(os.listdir(path))
            entry["listable"] = True
        except OSError as e:
            entry["listable"] = False
            entry["listError"] = _name(e)
        result["paths"][path] = entry

    for path in event.get("read", []):
        try:
            with open(path, "rb") as f:
                result["read"][path] = {"text": f.read(65536).decode("latin-1")}
        except OSError as e:
            result["read"][path] = {"error": _name(e)}

    if "pid" in event:
        try:
            os.kill(event["pid"], 0)
            result["kill"] = "ok"
        except OSError as e:
            result["kill"] = _name(e)

    if "write" in event:
        try:
            with open(event["write"], "w") as f:
                f.write("written from inside the sandbox")
            result["write"] = "ok"
        except OSError as e:
            result["write"] = _name(e)

    return result
