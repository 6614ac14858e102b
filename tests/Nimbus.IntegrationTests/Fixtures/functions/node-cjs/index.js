// Module state survives between invocations of one warm instance.
let count = 0;

exports.handler = async (event, context) => {
  console.log('hello from node', event.name);
  return {
    count: ++count,
    name: event.name,
    fn: context.functionName,
    remaining: context.getRemainingTimeInMillis(),
    env: process.env.GREETING ?? null,
  };
};
