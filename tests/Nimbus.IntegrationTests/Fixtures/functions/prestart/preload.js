'use strict';
// Loaded only through NODE_OPTIONS=--require /var/task/preload.js.
globalThis.nimbusPreloaded = true;
