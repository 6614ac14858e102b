// A function URL fixture: the path picks what it answers; /echo (and anything unknown) returns the event itself.
exports.handler = async (event) => {
  switch (event.rawPath) {
    case '/response':
      return {
        statusCode: 201,
        headers: { 'content-type': 'text/plain', 'x-custom': 'yes' },
        cookies: ['a=1; Path=/', 'b=2'],
        body: 'created',
      };
    case '/binary':
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from([0, 1, 2, 255]).toString('base64'),
        isBase64Encoded: true,
      };
    case '/no-content-type':
      return { statusCode: 202, body: '{"ok":true}' };
    case '/string':
      return 'hello';
    case '/array':
      return [1, 'two'];
    case '/error':
      throw new Error('boom');
    case '/malformed':
      return { statusCode: 'teapot' };
    case '/cors-override':
      return { statusCode: 200, headers: { 'access-control-allow-origin': 'https://evil.example' }, body: 'ok' };
    default:
      return event;
  }
};
