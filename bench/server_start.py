# Server start cost per network mode (docs/benchmarks.md, "Start-up with isolated as the default").
# usage: python3 bench/server_start.py artifacts/bin/Nimbus.Server/release/nimbusd.dll host|isolated [runs]
# Per run: wall time to the ready line; CPU (utime+stime) of the server and its live descendants half a second later;
# how many slirp4netns run; the server's namespace log line. Needs root (as isolated does).
import os, subprocess, sys, time, tempfile, shutil, signal
dll, mode = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 1
tick = os.sysconf('SC_CLK_TCK')
def tree(root):
    kids = {}
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                st = open(f'/proc/{p}/stat').read()
                ppid = int(st[st.rindex(')')+2:].split()[1])
                kids.setdefault(ppid, []).append(int(p))
            except OSError: pass
    out, todo = [], [root]
    while todo:
        x = todo.pop(); out.append(x); todo += kids.get(x, [])
    return out
def cpu(pid):
    try:
        f = open(f'/proc/{pid}/stat').read(); f = f[f.rindex(')')+2:].split()
        return (int(f[11]) + int(f[12])) / tick
    except OSError: return 0
for _ in range(n):
    d = tempfile.mkdtemp(prefix='nimbus-startcpu-')
    env = dict(os.environ, NIMBUS_ROOT_ACCESS_KEY_ID='test', NIMBUS_ROOT_SECRET_ACCESS_KEY='test', NIMBUS_SANDBOX_NETWORK=mode, DOTNET_NOLOGO='1')
    t0 = time.time()
    p = subprocess.Popen(['unshare', '--mount', '--propagation', 'private', 'dotnet', dll, 'serve', '--listen', 'http://127.0.0.1:0', '--data', d], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    ready = None
    lines = []
    for line in p.stdout:
        lines.append(line)
        if 'Nimbus is ready on' in line:
            ready = time.time() - t0; break
    time.sleep(0.5)
    pids = tree(p.pid)
    total = sum(cpu(x) for x in pids)
    slirps = sum(1 for x in pids if open(f'/proc/{x}/comm').read().strip() == 'slirp4netns')
    ns = [l for l in lines if '4120' in l or 'namespaces of their own' in l]
    print(f'{mode}: ready {ready:.2f}s wall, cpu {total:.2f}s (server+{len(pids)-1} descendants), slirp4netns {slirps}, load {os.getloadavg()[0]:.0f}', flush=True)
    for l in ns: print('   ', l.strip()[:300])
    subprocess.run(['kill', '-9'] + [str(x) for x in pids])
    p.wait()
    shutil.rmtree(d, ignore_errors=True)
