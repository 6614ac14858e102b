const crypto = require('node:crypto');
const net = require('node:net');

// Tells instances apart (they may share a pid in their own PID namespaces).
const instance = crypto.randomUUID();

// {"ms": n}: sleeps n ms. {"host": h, "port": p}: connects to h:p (default host 127.0.0.1), sends its instance id and a newline, and
// returns once the listener sends a byte back: a test holds every call open until all of them run at once.
exports.handler = async (event) => {
  if (event.port === undefined) {
    await new Promise((resolve) => setTimeout(resolve, event.ms ?? 0));
    return { instance };
  }
  await new Promise((resolve, reject) => {
    const socket = net.connect({ host: event.host ?? '127.0.0.1', port: event.port }, () => socket.write(`${instance}\n`));
    socket.once('data', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
  return { instance };
};
