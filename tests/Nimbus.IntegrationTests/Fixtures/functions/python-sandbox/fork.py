import errno
import os
import signal
import time


def handler(event, context):
    """Forks sleeping children until fork fails or event["max"] forks, then kills them all."""
    limit = event.get("max", 2000)
    children = []
    error = None
    try:
        while len(children) < limit:
            try:
                pid = os.fork()
            except OSError as e:
                error = errno.errorcode.get(e.errno, str(e.errno))
                break
            if pid == 0:
                # The child never returns into the runtime.
                try:
                    time.sleep(60)
                finally:
                    os._exit(0)
            children.append(pid)
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass
    return {"forked": len(children), "error": error}
