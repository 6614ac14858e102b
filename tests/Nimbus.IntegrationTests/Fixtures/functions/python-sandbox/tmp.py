import errno
import os

CHUNK = b"\1" * (1 << 20)


def _name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def handler(event, context):
    action = event["action"]
    if action == "fill":
        return _fill(event.get("path", "/tmp/fill"), event.get("maxMb", 600))
    if action == "touch":
        with open(event["path"], "w") as f:
            f.write("marker")
        return {"exists": os.path.exists(event["path"])}
    if action == "exists":
        return {"exists": os.path.exists(event["path"])}
    raise ValueError("unknown action " + action)


def _fill(path, max_mb):
    """Writes whole 1 MB chunks to path until a write fails or max_mb are written, then deletes it."""
    written = 0
    error = None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        attempts = 0
        while written < max_mb and attempts < 2 * max_mb:
            attempts += 1
            try:
                n = os.write(fd, CHUNK)
            except OSError as e:
                error = _name(e)
                break
            # A short write means the filesystem just filled up; the next write says why.
            if n == len(CHUNK):
                written += 1
    finally:
        os.close(fd)
        os.unlink(path)
    return {"written_mb": written, "errno": error}
