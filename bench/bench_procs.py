"""Processes and cgroups for the benchmarks: servers the driver starts itself, and what instances really use.

Standard library only. Every wait has a deadline; every child is stopped by its own pid.
"""

import hashlib
import os
import re
import signal
import socket
import subprocess
import time

CGROUP_ROOT = "/sys/fs/cgroup"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    """A loopback port free right now (for servers that cannot be told to pick one and report it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChildServer:
    """A server process with its output in files; ready once its output shows a line matching a pattern."""

    def __init__(self, name, command, workdir, env=None, cwd=None):
        self.name = name
        self.command = command
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                        env=env, cwd=cwd, start_new_session=True)
        self.pid = self.process.pid
        # Each child leads a session of its own; bench/run.sh kills the sessions listed here that outlive the driver.
        with open(os.path.join(workdir, "children.pids"), "a", encoding="ascii") as f:
            f.write("%d\n" % self.pid)

    def wait_for(self, pattern, timeout_s):
        """The first match of pattern (group 1 if it has one) in its output; raises if the process dies or times out."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            match = None
            for path in (self.out_path, self.err_path):  # some servers announce themselves on stderr
                with open(path, "rb") as f:
                    match = match or regex.search(f.read().decode("utf-8", "replace"))
            if match:
                return match.group(1) if regex.groups else match.group(0)
            if self.process.poll() is not None:
                raise RuntimeError("%s exited with %s before it was ready: %s" % (
                    self.name, self.process.returncode, self.tail()))
            time.sleep(0.02)
        raise RuntimeError("%s not ready after %.0f s: %s" % (self.name, timeout_s, self.tail()))

    def tail(self, lines=8):
        text = ""
        for path in (self.out_path, self.err_path):
            try:
                with open(path, "rb") as f:
                    text += f.read()[-4000:].decode("utf-8", "replace")
            except OSError:
                pass
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self, grace_s=10):
        """SIGTERM, then SIGKILL after grace_s; only this process (and its own session, if it outlived it)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        # Children the server started in its session (e.g. worker processes) go with it.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._out.close()
        self._err.close()


# ---------------------------------------------------------------------------------------------------------
# Memory and CPU of processes
# ---------------------------------------------------------------------------------------------------------

def pss_bytes(pid):
    """Proportional set size of one process (shared pages split among their users), or None if it is gone."""
    try:
        with open("/proc/%d/smaps_rollup" % pid, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def cpu_ticks(pid):
    """utime + stime of a process (all its threads), in clock ticks, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), counted after "(comm)"
    except (OSError, ValueError, IndexError):
        return None


def descendants(pid):
    """pid and every process below it (by PPid), from one scan of /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, encoding="ascii", errors="replace") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    result, todo = [], [pid]
    while todo and len(result) < 10000:
        current = todo.pop()
        result.append(current)
        todo.extend(children.get(current, []))
    return result


def environ_has(pid, entry):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return entry.encode() in f.read().split(b"\0")
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------------------
# Nimbus's instance cgroups (see src/Nimbus/Sandboxes/CgroupManager.cs)
# ---------------------------------------------------------------------------------------------------------

class NodeCgroups:
    """The instance cgroups of one Nimbus server: <server's cgroup>/nimbus/<sha256(data dir)[:16]>/<instance>.

    On cgroup v1 each instance has a directory per controller (memory, cpu, pids, freezer); on v2 one directory.
    """

    def __init__(self, server_pid, data_directory):
        node = hashlib.sha256(os.path.abspath(data_directory).encode("utf-8")).hexdigest()[:16]
        own = {}
        with open("/proc/%d/cgroup" % server_pid, encoding="ascii") as f:
            for line in f:
                parts = line.rstrip("\n").split(":", 2)
                if len(parts) == 3:
                    for controller in parts[1].split(","):
                        own[controller] = parts[2].lstrip("/")
        self.v1 = os.path.exists(os.path.join(CGROUP_ROOT, "freezer", "cgroup.procs"))
        if self.v1:
            self.memory = os.path.join(CGROUP_ROOT, "memory", own.get("memory", ""), "nimbus", node)
            self.freezer = os.path.join(CGROUP_ROOT, "freezer", own.get("freezer", ""), "nimbus", node)
            self.cpu = os.path.join(CGROUP_ROOT, "cpu", own.get("cpu", ""), "nimbus", node)
        else:
            self.memory = self.freezer = self.cpu = os.path.join(CGROUP_ROOT, own.get("", ""), "nimbus", node)

    @property
    def available(self):
        return os.path.isdir(self.memory) and os.path.isdir(self.freezer)

    def instances(self):
        try:
            return sorted(e for e in os.listdir(self.freezer) if os.path.isdir(os.path.join(self.freezer, e)))
        except OSError:
            return []

    def pids(self, instance):
        try:
            with open(os.path.join(self.freezer, instance, "cgroup.procs"), encoding="ascii") as f:
                return [int(line) for line in f if line.strip()]
        except (OSError, ValueError):
            return []

    def frozen(self, instance):
        try:
            if self.v1:
                with open(os.path.join(self.freezer, instance, "freezer.state"), encoding="ascii") as f:
                    return f.read().strip() == "FROZEN"
            with open(os.path.join(self.freezer, instance, "cgroup.events"), encoding="ascii") as f:
                return "frozen 1" in f.read()
        except OSError:
            return False

    def pooled(self):
        """Instances at the lowest CPU weight (v1 cpu.shares 2, v2 cpu.weight 1): pre-started runtimes no function took yet."""
        name, lowest = ("cpu.shares", 2) if self.v1 else ("cpu.weight", 1)
        found = []
        for instance in self.instances():
            try:
                with open(os.path.join(self.cpu, instance, name), encoding="ascii") as f:
                    if int(f.read()) == lowest:
                        found.append(instance)
            except (OSError, ValueError):
                pass
        return found

    def memory_bytes(self, instance):
        name = "memory.usage_in_bytes" if self.v1 else "memory.current"
        try:
            with open(os.path.join(self.memory, instance, name), encoding="ascii") as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

