const crypto = require('node:crypto');

// Sandboxes may run in their own PID namespace, where every instance sees the same pid;
// the instance id tells instances apart regardless.
const instance = crypto.randomUUID();
let n = 0;

exports.handler = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, event.ms ?? 0));
  return { pid: process.pid, instance, count: ++n };
};
