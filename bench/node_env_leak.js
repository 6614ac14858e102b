// Does setting _X_AMZN_TRACE_ID per invoke grow the process? node bench/node_env_leak.js real|proxy (real: process.env, i.e. setenv; proxy: the runtime's view)
const mode = process.argv[2];
const fs = require('fs');
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
if (mode === 'proxy') {
  const src = fs.readFileSync(require('path').join(__dirname, '..', 'runtimes', 'nodejs', 'bootstrap.js'), 'utf8');
  const start = src.indexOf("const TRACE_ID_VARIABLE");
  const end = src.indexOf("// Main", start);
  eval(src.slice(start, end).replace(/\/\/ -+\n/g, '') + '; installTraceIdVariable(); globalThis.setTrace = (v) => { traceIdValue = v; };');
}
const set = mode === 'proxy' ? (v) => globalThis.setTrace(v) : (v) => { process.env._X_AMZN_TRACE_ID = v; };
for (let i = 0; i < 20000; i++) set(`Root=1-5759e988-${i.toString(16).padStart(24, '0')};Parent=53995c3f42cd8ad8;Sampled=1`);
const before = rss();
for (let i = 20000; i < 220000; i++) set(`Root=1-5759e988-${i.toString(16).padStart(24, '0')};Parent=53995c3f42cd8ad8;Sampled=1`);
const after = rss();
const child = require('child_process').execFileSync('/bin/sh', ['-c', 'printf %s "$_X_AMZN_TRACE_ID"']).toString();
console.log(mode, 'grew', after - before, 'KiB over 200k ids;', 'handler sees', process.env._X_AMZN_TRACE_ID.slice(0, 40), 'child sees', child.slice(0, 40), 'keys has', Object.keys(process.env).includes('_X_AMZN_TRACE_ID'), 'in', '_X_AMZN_TRACE_ID' in process.env);
