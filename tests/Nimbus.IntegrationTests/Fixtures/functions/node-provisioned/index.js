'use strict';
// Init takes INIT_SLEEP_MS (a blocking wait at module scope), so whether it ran ahead of an invocation shows.
const sleepMs = Number(process.env.INIT_SLEEP_MS || 0);
if (sleepMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, sleepMs);
let count = 0;

exports.handler = async () => ({
  count: ++count,
  initializationType: process.env.AWS_LAMBDA_INITIALIZATION_TYPE,
  version: process.env.AWS_LAMBDA_FUNCTION_VERSION,
});
