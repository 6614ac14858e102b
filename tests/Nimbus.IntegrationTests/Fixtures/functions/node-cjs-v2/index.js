// Replacement code for update-function-code tests.
exports.handler = async (event) => {
  console.log('hello from node v2', event.name);
  return { version: 2, name: event.name, env: process.env.GREETING ?? null };
};
