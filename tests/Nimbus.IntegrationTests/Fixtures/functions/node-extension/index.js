// Reads back what the recorder extension (layer-extension) wrote to /tmp, waiting up to 3 s for this
// invocation's INVOKE to be there. With {"probe": true}, also calls the Extensions API the wrong ways.
const fs = require('fs');
const http = require('http');

const LOG = '/tmp/extension-events.log';
let count = 0;

function call(method, path, headers, body) {
  const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: Number(port), method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

exports.handler = async (event, context) => {
  count++;
  const deadline = Date.now() + 3000;
  let text = '';
  while (Date.now() < deadline) {
    text = fs.existsSync(LOG) ? fs.readFileSync(LOG, 'utf8') : '';
    if (text.includes(`received ${context.awsRequestId}`)) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const result = { count, events: text.split('\n').filter(Boolean) };
  if (event.probe) {
    result.noId = await call('GET', '/2020-01-01/extension/event/next', {});
    result.badId = await call('GET', '/2020-01-01/extension/event/next', { 'Lambda-Extension-Identifier': 'nope' });
    result.lateRegister = await call('POST', '/2020-01-01/extension/register', { 'Lambda-Extension-Name': 'late' }, '{"events":["INVOKE"]}');
  }
  return result;
};
