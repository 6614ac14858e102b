const { spawn } = require('node:child_process');

// Leaves a grandchild in its own session (so killing the runtime's process group would miss it),
// then spins until the invocation's timeout ends it. event.marker is a number of seconds unique to
// the test, so the grandchild can be found by its command line from outside.
exports.handler = async (event) => {
  const child = spawn('/bin/sh', ['-c', `sleep ${event.marker} & wait`], { detached: true, stdio: 'ignore' });
  child.unref();
  const end = Date.now() + event.spinMs;
  while (Date.now() < end) {
    // Busy on purpose: nothing but the timeout ends this invocation early.
  }

  return { spunMs: event.spinMs };
};
