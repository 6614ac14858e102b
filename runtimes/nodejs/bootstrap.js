'use strict';
// Nimbus Node.js runtime interface client.
//
// Speaks the Lambda Runtime API (2018-06-01) at http://$AWS_LAMBDA_RUNTIME_API,
// loads the user handler named by $_HANDLER from $LAMBDA_TASK_ROOT once, and then
// serves invocations one at a time until the process is killed.
//
// Start-up cost matters: only `http` is loaded eagerly; everything else
// (util, url, fs, path) is built into Node's bootstrap and cheap, or loaded on
// first use.

const http = require('http');

// Keep private references: user code (X-Ray SDK, APM agents, ...) may patch
// http.request or the global agent, and the runtime must not be affected.
const httpRequest = http.request;
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 1 });

const env = process.env;
const API_PREFIX = '/2018-06-01/runtime';
const EXIT_USER_FATAL = 129;
const EXIT_RUNTIME_API = 1;

let apiHost;
let apiPort;
let apiHostHeader;
// NIMBUS_RUNTIME_API_SOCKET: the same Runtime API on a Unix domain socket, which only Nimbus's own clients know of
// (cheaper per request than loopback TCP); AWS_LAMBDA_RUNTIME_API stays the contract and the Host header.
let apiSocketPath;

// ---------------------------------------------------------------------------
// Logging (console patch)
// ---------------------------------------------------------------------------

// Request id used as the prefix of every console line. `undefined` before the
// first invoke, as on AWS; keeps the last id between invokes.
let currentRequestId;
let utilFormat;

// LoggingConfig: with AWS_LAMBDA_LOG_FORMAT=JSON every console line is one JSON record
// {timestamp, level, requestId, message} and records below AWS_LAMBDA_LOG_LEVEL are dropped.
const LEVELS = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4, FATAL: 5 };
// Read when the console is patched: a pre-started runtime gets its environment later.
let jsonLogs = false;
let minLevel = 0;

function writeLine(level, message, extra) {
  if (jsonLogs) {
    if (LEVELS[level] < minLevel) return;
    const record = { timestamp: new Date().toISOString(), level, requestId: currentRequestId, message };
    process.stdout.write(JSON.stringify(extra ? Object.assign(record, extra) : record) + '\n');
    return;
  }
  process.stdout.write(
    `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${message.replace(/\n/g, '\r')}\n`
  );
}

function makeLogger(level) {
  return function lambdaConsole(...args) {
    if (jsonLogs && LEVELS[level] < minLevel) return;
    if (utilFormat === undefined) utilFormat = require('util').format;
    writeLine(level, utilFormat(...args));
  };
}

function patchConsole() {
  jsonLogs = env.AWS_LAMBDA_LOG_FORMAT === 'JSON';
  minLevel = jsonLogs ? (LEVELS[(env.AWS_LAMBDA_LOG_LEVEL || 'INFO').toUpperCase()] ?? LEVELS.INFO) : 0;
  console.log = makeLogger('INFO');
  console.info = makeLogger('INFO');
  console.warn = makeLogger('WARN');
  console.error = makeLogger('ERROR');
  console.debug = makeLogger('DEBUG');
  console.trace = makeLogger('TRACE');
  console.fatal = makeLogger('FATAL');
}

// ---------------------------------------------------------------------------
// Runtime API client
// ---------------------------------------------------------------------------

function parseApiAddress(value) {
  apiSocketPath = env.NIMBUS_RUNTIME_API_SOCKET || undefined;
  if (!value) return false;
  apiHostHeader = value;
  let m = /^\[([^\]]+)\]:(\d+)$/.exec(value); // [::1]:9001
  if (!m) m = /^([^:]+):(\d+)$/.exec(value); // 127.0.0.1:9001
  if (m) {
    apiHost = m[1];
    apiPort = Number(m[2]);
    return true;
  }
  if (/^[^:]+$/.test(value)) {
    apiHost = value;
    apiPort = 80;
    return true;
  }
  return false;
}

// One HTTP exchange. Resolves {status, headers, body: Buffer}. A request that
// fails on a reused keep-alive socket (server closed it while idle) is retried
// once on a fresh connection: the server never saw it.
function apiRequest(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const attempt = (mayRetry) => {
      const req = httpRequest(
        { agent, ...apiTarget(), method, path, headers },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) })
          );
          res.on('error', reject);
        }
      );
      req.on('error', (err) => {
        if (
          mayRetry &&
          req.reusedSocket &&
          (err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.code === 'ECONNREFUSED')
        ) {
          attempt(false);
        } else {
          reject(err);
        }
      });
      if (body !== undefined) req.end(body);
      else req.end();
    };
    attempt(true);
  });
}

// Where http.request connects: the Unix socket when there is one.
function apiTarget() {
  return apiSocketPath !== undefined ? { socketPath: apiSocketPath } : { host: apiHost, port: apiPort };
}

function runtimeApiFailure(what, detail) {
  try {
    process.stderr.write(`[nimbus-runtime] ${what}: ${detail}\n`);
  } catch (_) {
    /* ignore */
  }
  process.exit(EXIT_RUNTIME_API);
}

// Header values must be visible ASCII (plus space / tab) or Node refuses to
// send the request.
function headerSafe(value) {
  return String(value).replace(/[^\x20-\x7e\t]/g, (c) => encodeURIComponent(c));
}

async function postJson(path, json, errorType) {
  const body = Buffer.from(json, 'utf8');
  const headers = {
    'Content-Type': 'application/json',
    'Content-Length': body.length,
  };
  if (errorType !== undefined) headers['Lambda-Runtime-Function-Error-Type'] = headerSafe(errorType);
  let res;
  try {
    res = await apiRequest('POST', API_PREFIX + path, headers, body);
  } catch (err) {
    runtimeApiFailure(`POST ${path} failed`, err && err.message);
  }
  return checkAnswer(path, res);
}

function checkAnswer(path, res) {
  if (res.status >= 500) {
    runtimeApiFailure(`POST ${path} failed`, `HTTP ${res.status} ${res.body.toString('utf8')}`);
  }
  if (res.status !== 202 && res.status !== 200) {
    // 4xx: e.g. the invoke already timed out or the id is unknown. Nothing the
    // runtime can do about it; report and carry on with the next invoke.
    process.stderr.write(
      `[nimbus-runtime] POST ${path} answered ${res.status}: ${res.body.toString('utf8')}\n`
    );
  }
  return res;
}

// ---------------------------------------------------------------------------
// Invoke loop connection
// ---------------------------------------------------------------------------

// The invoke loop's own keep-alive connection, a minimal HTTP/1.1 client on
// net.Socket: it pipelines GET /invocation/next behind each answer (one write;
// the server answers requests on a connection in order), so the runtime does
// not wait for the answer's 202 before asking for the next event. Node's http
// client cannot pipeline. Responses may use Content-Length or chunked coding.
// The socket is ref'd only while a request is outstanding, so 'beforeExit'
// still means "the user's work is done" while an invoke runs.
//
// This is the per-invoke path, so it stays lean: reads land in one reused
// buffer (`onread`, no stream 'data' events), responses are parsed in place and
// their bodies decoded to strings at once (nothing keeps the read buffer), and
// requests complete through callbacks, not promises.
const READ_BUFFER = Buffer.alloc(64 * 1024);
const NEXT_PATH = API_PREFIX + '/invocation/next';
let nextRequest; // the whole GET /next request, built once the address is known

const loop = {
  socket: null,
  served: false, // the socket has delivered a whole response (a reused socket)
  buf: null, // unparsed bytes: a view of READ_BUFFER only while a read callback runs
  parts: null, // a long body arriving: its chunks (copies) until `want` bytes are in
  have: 0,
  want: 0,
  // {data, onResponse(status, headers, body), onError(err), started, retried}, in request order
  pending: [],
};

function loopConnect() {
  const onread = { buffer: READ_BUFFER, callback: (n) => loopRead(socket, n) };
  const socket = require('net').connect(
    apiSocketPath !== undefined ? { path: apiSocketPath, onread } : { host: apiHost, port: apiPort, onread }
  );
  if (apiSocketPath === undefined) socket.setNoDelay(true);
  loop.socket = socket;
  loop.served = false;
  loop.buf = null;
  loop.parts = null;
  socket.on('error', () => {}); // 'close' follows and decides
  socket.on('close', () => {
    if (loop.socket !== socket) return;
    loop.socket = null;
    const pending = loop.pending;
    loop.pending = [];
    // A reused connection the server closed while idle never saw the requests
    // whose answers had not started: send those again, once, on a new one.
    const retry = loop.served;
    for (const p of pending) {
      if (retry && !p.started && !p.retried) {
        p.retried = true;
        loopSend([p]);
      } else {
        p.onError(new Error('connection closed by the Runtime API'));
      }
    }
  });
}

function loopRead(socket, n) {
  if (loop.socket !== socket) return;
  if (loop.pending.length > 0) loop.pending[0].started = true;
  const chunk = READ_BUFFER.subarray(0, n);
  if (loop.parts !== null) {
    loop.parts.push(Buffer.from(chunk));
    loop.have += n;
    if (loop.have < loop.want) return;
    loop.buf = Buffer.concat(loop.parts, loop.have);
    loop.parts = null;
  } else {
    loop.buf = loop.buf === null ? chunk : Buffer.concat([loop.buf, chunk]);
  }
  loopParse();
  // What is left belongs to the next response: off the read buffer before the next read reuses it.
  if (loop.buf !== null && loop.buf.buffer === READ_BUFFER.buffer) loop.buf = Buffer.from(loop.buf);
}

// Sends requests in one write (an answer and the GET /next behind it).
function loopSend(requests) {
  if (loop.socket === null) loopConnect();
  let data = '';
  for (const p of requests) {
    loop.pending.push(p);
    data += p.data;
  }
  loop.socket.ref();
  loop.socket.write(data, 'latin1');
}

// One request as a latin1 string (the body, JSON, already encoded as UTF-8 bytes in latin1 characters).
function encodeRequest(method, path, extraHeaders, body) {
  const head = `${method} ${path} HTTP/1.1\r\nHost: ${apiHostHeader}\r\n${extraHeaders}`;
  if (body === undefined) return head + '\r\n';
  return `${head}Content-Length: ${body.length}\r\n\r\n${body}`;
}

function request(data, onResponse, onError) {
  return { data, onResponse, onError, started: false, retried: false };
}

// Parses as many whole responses as the buffer holds, in request order.
function loopParse() {
  while (loop.buf !== null && loop.pending.length > 0) {
    const buf = loop.buf;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = buf.toString('latin1', 0, end);
    const statusEnd = head.indexOf('\r\n');
    const status = Number(head.slice(9, 12)); // "HTTP/1.1 200 ..."
    const headers = {};
    let lineStart = statusEnd + 2;
    while (statusEnd >= 0 && lineStart < head.length) {
      let lineEnd = head.indexOf('\r\n', lineStart);
      if (lineEnd < 0) lineEnd = head.length;
      const colon = head.indexOf(':', lineStart);
      if (colon > lineStart && colon < lineEnd) {
        headers[head.slice(lineStart, colon).trim().toLowerCase()] = head.slice(colon + 1, lineEnd).trim();
      }
      lineStart = lineEnd + 2;
    }
    let offset = end + 4;
    let body;
    if (status >= 100 && status < 200) {
      loop.buf = offset < buf.length ? buf.subarray(offset) : null;
      continue;
    }
    const te = headers['transfer-encoding'];
    if (te !== undefined && /chunked/i.test(te)) {
      const chunks = [];
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', offset);
        if (lineEnd < 0) return;
        const size = parseInt(buf.toString('latin1', offset, lineEnd), 16);
        if (size === 0) {
          // No trailers ("0\r\n\r\n"), or trailers up to an empty line.
          if (buf.length >= lineEnd + 4 && buf[lineEnd + 2] === 13 && buf[lineEnd + 3] === 10) {
            offset = lineEnd + 4;
          } else {
            const trailersEnd = buf.indexOf('\r\n\r\n', lineEnd + 2);
            if (trailersEnd < 0) return;
            offset = trailersEnd + 4;
          }
          break;
        }
        if (buf.length < lineEnd + 2 + size + 2) return;
        chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        offset = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(chunks).toString('utf8');
    } else {
      const length = Number(headers['content-length'] || 0);
      if (buf.length < offset + length) {
        // A long body: gather its chunks and parse once it is all in.
        loop.parts = [buf.buffer === READ_BUFFER.buffer ? Buffer.from(buf) : buf];
        loop.have = buf.length;
        loop.want = offset + length;
        loop.buf = null;
        return;
      }
      body = length === 0 ? '' : buf.toString('utf8', offset, offset + length);
      offset += length;
    }
    loop.buf = offset < buf.length ? buf.subarray(offset) : null;
    const p = loop.pending.shift();
    loop.served = true;
    if (loop.pending.length === 0) loop.socket.unref();
    else if (loop.buf !== null) loop.pending[0].started = true;
    const connection = headers.connection;
    if (connection !== undefined && /close/i.test(connection)) {
      const socket = loop.socket;
      loop.socket = null;
      socket.destroy();
      const rest = loop.pending.splice(0);
      if (rest.length > 0) loopSend(rest);
    }
    p.onResponse(status, headers, body);
  }
}

function nextFailed(err) {
  runtimeApiFailure('GET /invocation/next failed', err && err.message);
}

// A GET /next request whose event goes to onEvent({status, headers, body}).
function nextRequestFor(onEvent) {
  return request(
    nextRequest,
    (status, headers, body) => {
      if (status !== 200) runtimeApiFailure('GET /invocation/next failed', `HTTP ${status} ${body}`);
      onEvent({ status, headers, body });
    },
    nextFailed
  );
}

function nextInvocation(onEvent) {
  if (nextRequest === undefined) nextRequest = encodeRequest('GET', NEXT_PATH, '', undefined);
  loopSend([nextRequestFor(onEvent)]);
}

// Posts an invoke's answer with GET /next pipelined behind it, in one write:
// onAnswered runs with the answer's 202, onEvent with the next event.
function answerThenNext(path, json, errorType, onAnswered, onEvent) {
  const headers = errorType === undefined
    ? 'Content-Type: application/json\r\n'
    : `Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: ${headerSafe(errorType)}\r\n`;
  const fullPath = API_PREFIX + path;
  // The body as UTF-8 bytes in latin1 characters, so that its length is its byte count.
  const body = isAscii(json) ? json : Buffer.from(json, 'utf8').toString('latin1');
  const answer = request(
    encodeRequest('POST', fullPath, headers, body),
    (status, _headers, answerBody) => {
      checkAnswer(path, { status, body: answerBody });
      onAnswered();
    },
    (err) => runtimeApiFailure(`POST ${path} failed`, err && err.message)
  );
  loopSend([answer, nextRequestFor(onEvent)]);
}

function isAscii(text) {
  // eslint-disable-next-line no-control-regex
  return !/[^\x00-\x7f]/.test(text);
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

class RuntimeError extends Error {
  // name: e.g. "Runtime.ImportModuleError"; cause: the original error (its
  // stack frames are kept so the user sees where it came from).
  constructor(name, message, cause, keepCauseStack) {
    super(message);
    this.name = name;
    const frames = [];
    const src = cause && typeof cause.stack === 'string' ? cause.stack : '';
    for (const line of src.split('\n')) {
      // keepCauseStack: for syntax errors V8 puts "file:line", the source
      // line and a caret before the message; keep them, they say where.
      if (keepCauseStack ? line !== '' : /^\s+at /.test(line)) frames.push(line);
    }
    if (frames.length === 0 && typeof this.stack === 'string') {
      for (const line of this.stack.split('\n')) if (/^\s+at /.test(line)) frames.push(line);
    }
    this.stack = [`${name}: ${message}`].concat(frames).join('\n');
  }
}

function isErrorLike(value) {
  if (value instanceof Error) return true;
  if (value === null || typeof value !== 'object') return false;
  try {
    return require('util').types.isNativeError(value);
  } catch (_) {
    return false;
  }
}

// Converts anything thrown / rejected / passed to callback(err) into the
// {errorType, errorMessage, trace} shape the Runtime API expects.
function errorPayload(err) {
  try {
    if (isErrorLike(err)) {
      const name = err.name === undefined || err.name === null || err.name === '' ? 'Error' : String(err.name);
      const message = err.message === undefined || err.message === null ? '' : String(err.message);
      const stack = typeof err.stack === 'string' ? err.stack.split('\n') : [];
      return { errorType: name, errorMessage: message, trace: stack };
    }
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      trace: [],
    };
  }
}

// The console line for an error uses "stack" for the frames (as AWS does);
// the body posted to the Runtime API uses "trace".
function logError(prefix, payload) {
  if (jsonLogs) {
    writeLine('ERROR', prefix, { errorType: payload.errorType, errorMessage: payload.errorMessage, stackTrace: payload.trace });
    return;
  }
  const logged = JSON.stringify({
    errorType: payload.errorType,
    errorMessage: payload.errorMessage,
    stack: payload.trace,
  });
  writeLine('ERROR', `${prefix} \t${logged}`);
}

// ---------------------------------------------------------------------------
// Handler loading
// ---------------------------------------------------------------------------

function isFile(p) {
  const st = require('fs').statSync(p, { throwIfNoEntry: false });
  return st !== undefined && st.isFile();
}

function importFile(file) {
  return import(require('url').pathToFileURL(file).href);
}

function requireOrImport(file) {
  try {
    return require(file);
  } catch (err) {
    // .js file inside a "type": "module" package (Node 20), or an ES module
    // with top-level await (Node 22+ require(esm)).
    if (err && (err.code === 'ERR_REQUIRE_ESM' || err.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
      return importFile(file);
    }
    throw err;
  }
}

async function loadModule(taskRoot, moduleRoot, moduleName) {
  const path = require('path');
  const base = path.resolve(taskRoot, moduleRoot, moduleName);
  if (isFile(base + '.js')) return requireOrImport(base + '.js');
  if (isFile(base + '.mjs')) return importFile(base + '.mjs');
  if (isFile(base + '.cjs')) return require(base + '.cjs');
  // Exact name (file without extension, or a directory with index/package.json),
  // then Node's own resolution (node_modules) relative to the module root.
  const fs = require('fs');
  if (fs.existsSync(base)) return requireOrImport(base);
  const resolved = require.resolve(moduleName, { paths: [path.resolve(taskRoot, moduleRoot)] });
  return requireOrImport(resolved);
}

function lookup(obj, parts) {
  let cur = obj;
  for (const part of parts) {
    if (cur === undefined || cur === null) return undefined;
    cur = cur[part];
  }
  return cur;
}

async function loadHandler() {
  const full = env._HANDLER;
  const taskRoot = env.LAMBDA_TASK_ROOT || process.cwd();

  if (!full) throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
  if (full.includes('../')) {
    throw new RuntimeError(
      'Runtime.MalformedHandlerName',
      "'../' is not a valid handler name. Use absolute paths when specifying root directories in handler names."
    );
  }
  const slash = full.lastIndexOf('/');
  const moduleRoot = full.slice(0, slash + 1);
  const rest = full.slice(slash + 1);
  const dot = rest.indexOf('.');
  if (dot === -1) throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
  const moduleName = rest.slice(0, dot);
  const handlerPath = rest.slice(dot + 1);

  let mod;
  try {
    mod = await loadModule(taskRoot, moduleRoot, moduleName);
  } catch (err) {
    if (err instanceof SyntaxError || (err && err.name === 'SyntaxError')) {
      throw new RuntimeError('Runtime.UserCodeSyntaxError', String(err), err, true);
    }
    if (err && (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new RuntimeError('Runtime.ImportModuleError', String(err), err);
    }
    throw err;
  }

  const parts = handlerPath.split('.');
  let fn = lookup(mod, parts);
  if (fn === undefined && mod !== null && typeof mod === 'object' && mod.default !== undefined) {
    fn = lookup(mod.default, parts);
  }
  if (fn === undefined || fn === null) {
    throw new RuntimeError('Runtime.HandlerNotFound', `${full} is undefined or not exported`);
  }
  if (typeof fn !== 'function') {
    throw new RuntimeError('Runtime.HandlerNotFound', `${full} is not a function`);
  }
  return fn;
}

// ---------------------------------------------------------------------------
// Invocation
// ---------------------------------------------------------------------------

let phase = 'init'; // 'init' | 'idle' | 'invoke'
let current = null; // state of the invoke in flight

function parseJsonHeader(value) {
  if (value === undefined || value === '') return undefined;
  try {
    return JSON.parse(value);
  } catch (_) {
    return undefined;
  }
}

// The function's own figures, read from the environment once its handler is
// loaded (process.env reads cross into C++ each time).
let functionEnv = null;

function readFunctionEnv() {
  functionEnv = {
    name: env.AWS_LAMBDA_FUNCTION_NAME,
    version: env.AWS_LAMBDA_FUNCTION_VERSION,
    memory: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroup: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStream: env.AWS_LAMBDA_LOG_STREAM_NAME,
  };
}

function makeContext(headers, requestId, deadlineMs, onDone) {
  const cognitoHeader = headers['lambda-runtime-cognito-identity'];
  const contextHeader = headers['lambda-runtime-client-context'];
  const cognito = cognitoHeader === undefined ? undefined : parseJsonHeader(cognitoHeader);
  const clientContext = contextHeader === undefined ? undefined : parseJsonHeader(contextHeader);
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: functionEnv.name,
    functionVersion: functionEnv.version,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: functionEnv.memory,
    awsRequestId: requestId,
    logGroupName: functionEnv.logGroup,
    logStreamName: functionEnv.logStream,
    identity: cognito === undefined
      ? undefined
      : {
          cognitoIdentityId: cognito.cognitoIdentityId,
          cognitoIdentityPoolId: cognito.cognitoIdentityPoolId,
        },
    clientContext,
    getRemainingTimeInMillis() {
      return deadlineMs - Date.now();
    },
    // Legacy completion API: completes at once, without waiting for the
    // event loop to drain.
    succeed(result) {
      onDone(false, undefined, result);
    },
    fail(err) {
      onDone(true, err === undefined || err === null ? 'handled' : err, undefined);
    },
    done(err, result) {
      if (err === undefined || err === null) onDone(false, undefined, result);
      else onDone(true, err, undefined);
    },
  };
}

// Both answer with GET /next behind (see answerThenNext).
function postInvokeError(requestId, err, onAnswered, onEvent) {
  const payload = errorPayload(err);
  logError('Invoke Error', payload);
  answerThenNext(`/invocation/${requestId}/error`, JSON.stringify(payload), payload.errorType, onAnswered, onEvent);
}

function postInvokeResponse(requestId, result, onAnswered, onEvent) {
  let json;
  try {
    json = JSON.stringify(result);
  } catch (err) {
    // e.g. circular structure or BigInt: report it as the invoke's error.
    postInvokeError(requestId, err, onAnswered, onEvent);
    return;
  }
  if (json === undefined) json = 'null';
  answerThenNext(`/invocation/${requestId}/response`, json, undefined, onAnswered, onEvent);
}

// ---------------------------------------------------------------------------
// Response streaming
// ---------------------------------------------------------------------------

const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const STREAMING_RESPONSE = 'response';
const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const ERROR_TYPE_TRAILER = 'Lambda-Runtime-Function-Error-Type';
const ERROR_BODY_TRAILER = 'Lambda-Runtime-Function-Error-Body';

// The writable stream a streaming handler writes to. The POST .../response
// (chunked, Lambda-Runtime-Function-Response-Mode: streaming) opens on the
// first write or at the end, so setContentType still counts until then; each
// write goes out as one chunk. fail() ends it with the error in trailers.
// `answered` settles with the Runtime API's answer once the body is complete.
function createResponseStream(requestId) {
  const { Writable } = require('stream');
  const path = `${API_PREFIX}/invocation/${requestId}/response`;
  let req = null;
  let contentType = 'application/octet-stream';
  let resolveAnswered;
  const answered = new Promise((resolve) => {
    resolveAnswered = resolve;
  });
  const open = () => {
    if (req !== null) return req;
    req = httpRequest(
      {
        agent,
        ...apiTarget(),
        method: 'POST',
        path,
        headers: {
          'Content-Type': contentType,
          'Lambda-Runtime-Function-Response-Mode': 'streaming',
          'Transfer-Encoding': 'chunked',
          Trailer: `${ERROR_TYPE_TRAILER}, ${ERROR_BODY_TRAILER}`,
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolveAnswered(checkAnswer(path, { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) })));
      }
    );
    req.on('error', (err) => runtimeApiFailure(`POST ${path} failed`, err && err.message));
    req.setNoDelay(true);
    if (stream._nimbusPrelude) req.write(stream._nimbusPrelude);
    return req;
  };
  const stream = new Writable({
    write(chunk, encoding, callback) {
      open().write(chunk, () => callback());
    },
    final(callback) {
      open().end(() => callback());
    },
  });
  stream.setContentType = (type) => {
    if (req === null) contentType = String(type);
  };
  stream.answered = answered;
  stream.ended = () => stream.writableEnded;
  stream.fail = (payload) => {
    if (stream.writableEnded) return false;
    const r = open();
    r.addTrailers({
      [ERROR_TYPE_TRAILER]: headerSafe(payload.errorType),
      [ERROR_BODY_TRAILER]: Buffer.from(JSON.stringify(payload), 'utf8').toString('base64'),
    });
    stream.destroy();
    r.end();
    return true;
  };
  return stream;
}

// A streamifyResponse handler: asks, as runInvocation does, for the next event
// (to onEvent) once the stream is complete and answered.
function runStreamingInvocation(handler, headers, event, requestId, deadlineMs, onEvent) {
  const responseStream = createResponseStream(requestId);
  const state = { requestId, finished: false, callbackCalled: false, deferred: null, finish: null };
  const finish = (isError, err) => {
    if (state.finished) return;
    state.finished = true;
    if (isError) {
      const payload = errorPayload(err);
      logError('Invoke Error', payload);
      if (!responseStream.fail(payload)) {
        // The stream was already complete: the error comes too late to report.
        return;
      }
    } else if (!responseStream.writableEnded) {
      responseStream.end();
    }
    responseStream.answered.then(() => {
      if (current === state) {
        current = null;
        phase = 'idle';
      }
      nextInvocation(onEvent);
    });
  };
  state.finish = finish;
  current = state;
  phase = 'invoke';
  // The stream may end before the handler returns; the invoke is over then.
  responseStream.on('finish', () => finish(false));
  const context = makeContext(headers, requestId, deadlineMs, (isError, err) => finish(isError, err));
  let returned;
  try {
    returned = handler(event, responseStream, context);
  } catch (err) {
    finish(true, err);
    return;
  }
  Promise.resolve(returned).then(
    () => finish(false),
    (err) => finish(true, err)
  );
}

// Runs one invoke; its answer goes out with GET /next behind it, whose event
// goes to onEvent.
function runInvocation(handler, res, onEvent) {
  const headers = res.headers;
  const requestId = headers['lambda-runtime-aws-request-id'];
  const deadlineMs = Number(headers['lambda-runtime-deadline-ms']);
  traceIdValue = headers['lambda-runtime-trace-id'] || undefined;
  currentRequestId = requestId;

  const state = {
    requestId,
    finished: false,
    callbackCalled: false,
    deferred: null, // completion waiting for an empty event loop
    finish: null,
  };
  const answered = () => {
    if (current === state) {
      current = null;
      phase = 'idle';
    }
  };

  // Completes the invoke exactly once.
  const finish = (isError, err, result) => {
    if (state.finished) return;
    state.finished = true;
    state.deferred = null;
    if (isError) postInvokeError(requestId, err, answered, onEvent);
    else postInvokeResponse(requestId, result, answered, onEvent);
  };
  state.finish = finish;
  current = state;
  phase = 'invoke';

  const context = makeContext(headers, requestId, deadlineMs, finish);
  const callback = (err, result) => {
    if (state.finished || state.callbackCalled) return;
    state.callbackCalled = true;
    const isError = err !== undefined && err !== null;
    if (context.callbackWaitsForEmptyEventLoop) {
      // Posted from 'beforeExit', i.e. once the event loop has drained.
      state.deferred = () => finish(isError, err, result);
    } else {
      finish(isError, err, result);
    }
  };

  let event;
  try {
    event = JSON.parse(res.body);
  } catch (err) {
    finish(true, err, undefined);
    return;
  }

  if (handler[HANDLER_STREAMING] === STREAMING_RESPONSE) {
    state.finished = true;
    runStreamingInvocation(handler, headers, event, requestId, deadlineMs, onEvent);
    return;
  }

  let returned;
  try {
    returned = handler(event, context, callback);
  } catch (err) {
    finish(true, err, undefined);
    return;
  }
  if (returned !== null && (typeof returned === 'object' || typeof returned === 'function')) {
    let then;
    try {
      then = returned.then;
    } catch (err) {
      finish(true, err, undefined);
      return;
    }
    if (typeof then === 'function') {
      try {
        then.call(
          returned,
          (value) => completeQuietly(finish, false, undefined, value),
          (err) => completeQuietly(finish, true, err, undefined)
        );
      } catch (err) {
        finish(true, err, undefined);
      }
    }
  }
  // Otherwise: a callback-style handler. It completes through callback() /
  // context.succeed|fail|done, or with `null` once the event loop drains
  // without either having been called (see 'beforeExit' below).
}

// Completes from a handler's promise; a failure to answer is the runtime's to
// report (the Runtime API failure exits), never a rejection of the user's promise.
function completeQuietly(finish, isError, err, result) {
  try {
    finish(isError, err, result);
  } catch (_) {
    /* reported by the Runtime API client */
  }
}

// Fires whenever the event loop has nothing left to do. While an invoke is in
// flight the runtime itself holds no referenced handles (idle keep-alive
// sockets are unref'd), so this means "the user's work is done".
function onBeforeExit() {
  const state = current;
  if (state === null || state.finished) return;
  if (state.deferred !== null) state.deferred();
  else state.finish(false, undefined, undefined);
}

// ---------------------------------------------------------------------------
// Fatal errors
// ---------------------------------------------------------------------------

let dying = false;

async function fatal(logPrefix, payload) {
  if (dying) return;
  dying = true;
  try {
    logError(logPrefix, payload);
    if (phase === 'invoke' && current !== null && !current.finished) {
      current.finished = true;
      await postJson(
        `/invocation/${current.requestId}/error`,
        JSON.stringify(payload),
        payload.errorType
      );
    } else if (phase === 'init') {
      await postJson('/init/error', JSON.stringify(payload), payload.errorType);
    }
  } finally {
    process.exit(EXIT_USER_FATAL);
  }
}

function onUncaughtException(err) {
  fatal('Uncaught Exception', errorPayload(err));
}

function onUnhandledRejection(reason) {
  let message;
  try {
    message = isErrorLike(reason) ? `${reason.name}: ${reason.message}` : String(reason);
  } catch (_) {
    message = 'unhandled rejection';
  }
  const payload = {
    errorType: 'Runtime.UnhandledPromiseRejection',
    errorMessage: message,
    trace: isErrorLike(reason) && typeof reason.stack === 'string'
      ? [`Runtime.UnhandledPromiseRejection: ${message}`].concat(
          reason.stack.split('\n').filter((l) => /^\s+at /.test(l))
        )
      : [`Runtime.UnhandledPromiseRejection: ${message}`],
  };
  fatal('Unhandled Promise Rejection', payload);
}

// ---------------------------------------------------------------------------
// Globals offered to user code
// ---------------------------------------------------------------------------

// As on Lambda's Node.js runtimes: streamifyResponse marks a handler
// (event, responseStream, context) whose response is streamed, and
// HttpResponseStream.from puts a function URL's status, headers and cookies in
// front of the body (a JSON prelude and 8 NUL bytes).
function installGlobals() {
  globalThis.awslambda = {
    streamifyResponse(handler) {
      handler[HANDLER_STREAMING] = STREAMING_RESPONSE;
      return handler;
    },
    HttpResponseStream: {
      from(responseStream, prelude) {
        responseStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
        responseStream._nimbusPrelude = Buffer.concat([
          Buffer.from(JSON.stringify(prelude === undefined ? {} : prelude), 'utf8'),
          Buffer.alloc(8),
        ]);
        return responseStream;
      },
    },
  };
}

// ---------------------------------------------------------------------------
// Pre-started runtimes
// ---------------------------------------------------------------------------

// Nimbus may start this client before any function needs it. It then waits
// here for the function it becomes: the answer is that function's whole
// environment, and its code is at /var/task by then. Everything that reads
// the environment or the task root runs after this.
const ASSIGNMENT_PATH = '/nimbus/2018-06-01/runtime/assignment';

// Runs, while no function waits, what a first invocation otherwise pays to
// compile: both module loaders, and the JSON, Buffer and format helpers.
async function warmUp() {
  const here = require('path').join(__dirname, 'warmup');
  try {
    const cjs = require(require('path').join(here, 'module.cjs'));
    await cjs.handler({});
    await import(require('url').pathToFileURL(require('path').join(here, 'module.mjs')).href);
    utilFormat = require('util').format;
    utilFormat('%s %d %j', 'x', 1, { a: 1 });
    JSON.stringify(JSON.parse('{"a":[1,"b",{"c":null}]}'));
    Buffer.concat([Buffer.from('{}', 'utf8')]).toString('utf8');
  } catch (_) {
    // Only a warm-up: the function's own load reports any real problem.
  }
}

async function takeAssignment() {
  await warmUp();
  let res;
  try {
    res = await apiRequest('GET', ASSIGNMENT_PATH, undefined, undefined);
  } catch (err) {
    runtimeApiFailure(`GET ${ASSIGNMENT_PATH} failed`, err && err.message);
  }
  if (res.status !== 200) {
    runtimeApiFailure(`GET ${ASSIGNMENT_PATH} failed`, `HTTP ${res.status} ${res.body.toString('utf8')}`);
  }
  const assigned = JSON.parse(res.body.toString('utf8')).environment;
  for (const name of Object.keys(env)) {
    if (!Object.prototype.hasOwnProperty.call(assigned, name)) delete env[name];
  }
  Object.assign(env, assigned);
  // The code was mounted over /var/task after this process entered it.
  process.chdir(env.LAMBDA_TASK_ROOT || '/var/task');
  // NODE_PATH is read once at start-up; read it again.
  require('module')._initPaths();
  if (!parseApiAddress(env.AWS_LAMBDA_RUNTIME_API)) {
    runtimeApiFailure('assignment', `invalid AWS_LAMBDA_RUNTIME_API ${env.AWS_LAMBDA_RUNTIME_API}`);
  }
}

// ---------------------------------------------------------------------------
// The trace id's environment variable
// ---------------------------------------------------------------------------

// Each invoke's trace id is _X_AMZN_TRACE_ID in process.env, for the handler and
// the child processes it starts. Setting it in the real environment would call
// glibc's setenv, which keeps every distinct NAME=value it was given for the
// life of the process: ~240 bytes an invoke, until a busy warm instance meets
// its memory limit. So process.env becomes a view of the real environment with
// this one variable held here (child_process copies process.env's keys and
// values, so children see it; native code's getenv does not).
const TRACE_ID_VARIABLE = '_X_AMZN_TRACE_ID';
let traceIdValue;

function installTraceIdVariable() {
  const real = process.env;
  if (Object.prototype.hasOwnProperty.call(real, TRACE_ID_VARIABLE)) {
    traceIdValue = real[TRACE_ID_VARIABLE];
    delete real[TRACE_ID_VARIABLE];
  }
  const descriptor = () => ({ value: traceIdValue, writable: true, enumerable: true, configurable: true });
  process.env = new Proxy(real, {
    get: (target, key) => (key === TRACE_ID_VARIABLE ? traceIdValue : target[key]),
    set: (target, key, value) => {
      if (key === TRACE_ID_VARIABLE) traceIdValue = `${value}`;
      else target[key] = value;
      return true;
    },
    has: (target, key) => (key === TRACE_ID_VARIABLE ? traceIdValue !== undefined : key in target),
    deleteProperty: (target, key) => {
      if (key === TRACE_ID_VARIABLE) traceIdValue = undefined;
      else delete target[key];
      return true;
    },
    ownKeys: (target) => {
      const keys = Reflect.ownKeys(target);
      if (traceIdValue !== undefined) keys.push(TRACE_ID_VARIABLE);
      return keys;
    },
    getOwnPropertyDescriptor: (target, key) =>
      key === TRACE_ID_VARIABLE
        ? traceIdValue === undefined ? undefined : descriptor()
        : Reflect.getOwnPropertyDescriptor(target, key),
    defineProperty: (target, key, property) => {
      if (key !== TRACE_ID_VARIABLE) return Reflect.defineProperty(target, key, property);
      traceIdValue = `${property.value}`;
      return true;
    },
  });
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

async function main() {
  if (!parseApiAddress(env.AWS_LAMBDA_RUNTIME_API)) {
    process.stderr.write(
      `[nimbus-runtime] AWS_LAMBDA_RUNTIME_API is missing or invalid: ${env.AWS_LAMBDA_RUNTIME_API}\n`
    );
    process.exit(EXIT_RUNTIME_API);
  }
  if (env._NIMBUS_PRESTARTED === '1') await takeAssignment();
  installTraceIdVariable();
  patchConsole();
  installGlobals();
  process.on('uncaughtException', onUncaughtException);
  process.on('unhandledRejection', onUnhandledRejection);
  process.on('beforeExit', onBeforeExit);

  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    const payload = errorPayload(err);
    logError('Uncaught Exception', payload);
    await postJson('/init/error', JSON.stringify(payload), payload.errorType);
    process.exit(EXIT_USER_FATAL);
  }
  phase = 'idle';
  readFunctionEnv();

  // Each event is served from the read that brought it; the loop connection
  // keeps the process alive while it waits for the next one.
  const serve = (res) => runInvocation(handler, res, serve);
  nextInvocation(serve);
}

main().catch((err) => {
  // Only reachable through a bug in this file.
  try {
    process.stderr.write(`[nimbus-runtime] internal error: ${err && err.stack ? err.stack : err}\n`);
  } finally {
    process.exit(EXIT_RUNTIME_API);
  }
});
