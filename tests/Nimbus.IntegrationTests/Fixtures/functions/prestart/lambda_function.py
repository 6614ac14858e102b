"""Reports how the instance was made: how long its process has run, where it runs, what it sees."""
import errno
import os


def _process_age_seconds():
    with open("/proc/self/stat") as f:
        # Field 22 (after the parenthesised command name) is the start time in clock ticks since boot.
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def _try_write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def lambda_handler(event, context):
    return {
        "processAgeSeconds": _process_age_seconds(),
        "cwd": os.getcwd(),
        "files": sorted(os.listdir("/var/task")),
        "environment": dict(os.environ),
        "write": _try_write("/var/task/new.txt"),
    }
