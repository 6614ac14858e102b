exports.handler = async (event, context) => {
  console.log('ric handling', JSON.stringify(event));
  return {
    ric: true,
    event,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    memoryLimitInMB: context.memoryLimitInMB,
    remaining: context.getRemainingTimeInMillis(),
    clientCustom: context.clientContext && context.clientContext.Custom ? context.clientContext.Custom.k : (context.clientContext && context.clientContext.custom ? context.clientContext.custom.k : null),
    traceId: process.env._X_AMZN_TRACE_ID || null,
  };
};

exports.fail = async () => {
  throw new TypeError('ric boom');
};

exports.stream = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write('streamed ');
  responseStream.write('from ');
  responseStream.write('ric');
  responseStream.end();
});

// Through a RESPONSE_STREAM function URL: a prelude, a chunk, a pause of event.gapMs (query string), a last chunk.
exports.streamHttp = awslambda.streamifyResponse(async (event, responseStream) => {
  const gapMs = Number((event.queryStringParameters || {}).gapMs || 1000);
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 203,
    headers: { 'content-type': 'text/plain', 'x-ric': 'yes' },
  });
  stream.write('ric-first|');
  await new Promise((resolve) => setTimeout(resolve, gapMs));
  stream.write('ric-last');
  stream.end();
});
