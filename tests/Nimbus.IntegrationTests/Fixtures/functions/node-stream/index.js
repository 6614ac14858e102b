// Response streaming fixture. `stream` is a streamifyResponse handler; the event's `mode` (through a function URL:
// the path, /http, /fail...; `gapMs` from the query string) picks what it writes:
// plain (text/plain chunks, `gapMs` apart), http (HttpResponseStream.from with a prelude), fail (a chunk, then a
// throw), big (`bytes` bytes in 64 KiB chunks). `buffered` is an ordinary handler (a URL response object).
const { setTimeout: sleep } = require('timers/promises');

exports.stream = awslambda.streamifyResponse(async (invoked, responseStream, context) => {
  const event = invoked.rawPath === undefined
    ? invoked
    : { mode: invoked.rawPath.slice(1), gapMs: Number((invoked.queryStringParameters || {}).gapMs ?? 1000) };
  const gapMs = event.gapMs ?? 1000;
  switch (event.mode) {
    case 'http': {
      const stream = awslambda.HttpResponseStream.from(responseStream, {
        statusCode: 201,
        headers: { 'content-type': 'text/plain', 'x-stream': 'yes' },
        cookies: ['a=1; Path=/', 'b=2'],
      });
      stream.write('first|');
      await sleep(gapMs);
      stream.write('second|');
      stream.end();
      return;
    }
    case 'fail':
      responseStream.setContentType('text/plain');
      responseStream.write('partial|');
      await sleep(50);
      throw new Error('mid-stream boom');
    case 'big': {
      responseStream.setContentType('application/octet-stream');
      const chunk = Buffer.alloc(64 * 1024, 'x');
      for (let left = event.bytes; left > 0; left -= chunk.length) {
        if (!responseStream.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) {
          await new Promise((resolve) => responseStream.once('drain', resolve));
        }
      }
      responseStream.end();
      return;
    }
    default:
      responseStream.setContentType('text/plain');
      console.log('streaming for', context.awsRequestId);
      responseStream.write('first|');
      await sleep(gapMs);
      responseStream.write('second|');
      responseStream.end();
  }
});

exports.buffered = async (event) => {
  if (event.rawPath !== undefined) {
    return { statusCode: 202, headers: { 'content-type': 'text/plain' }, body: 'buffered body' };
  }
  return { hello: 'world' };
};
