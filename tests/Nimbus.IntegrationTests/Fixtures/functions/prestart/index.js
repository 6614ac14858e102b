'use strict';
// Reports how the instance was made: how long its process has run, where it runs, what it sees.
const fs = require('fs');

function tryWrite(path) {
  try {
    fs.writeFileSync(path, 'x');
    return 'ok';
  } catch (err) {
    return err.code;
  }
}

exports.handler = async () => ({
  processAgeSeconds: process.uptime(),
  cwd: process.cwd(),
  files: fs.readdirSync('/var/task').sort(),
  environment: process.env,
  preloaded: globalThis.nimbusPreloaded === true,
  write: tryWrite('/var/task/new.txt'),
});
