'use strict';
// Loaded by a pre-started runtime before it has a function, so the CommonJS loader's paths
// (resolution, file read, compilation) are compiled before a user's module goes through them.
module.exports.handler = async (event) => ({ ok: true, event });
