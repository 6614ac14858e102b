// Loaded by a pre-started runtime before it has a function: initializes the ES module loader,
// which costs several milliseconds the first time, before a user's .mjs handler needs it.
export const handler = async (event) => ({ ok: true, event });
