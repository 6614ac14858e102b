// Reports every event it gets to the test's recorder (RECORDER_URL) before answering, so a test sees each
// invocation, retries and destination records included, even across a killed server.
const http = require('node:http');

function report(body) {
  return new Promise((resolve, reject) => {
    const request = http.request(process.env.RECORDER_URL, { method: 'POST', headers: { 'content-type': 'application/json' } }, (response) => {
      response.resume();
      response.on('end', resolve);
    });
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

exports.handler = async (event, context) => {
  if (event && event.ms) {
    await new Promise((resolve) => setTimeout(resolve, event.ms));
  }

  await report({ function: context.functionName, requestId: context.awsRequestId, event });
  if (event && event.fail) {
    throw new Error('async failure');
  }

  return { ok: true, id: event && event.id };
};
