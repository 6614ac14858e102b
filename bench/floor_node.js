// The bare `node` floor: one Node.js HTTP server running the benchmark's handler in-process, no platform.
//   node bench/floor_node.js <handler module>     prints "floor-node listening on http://127.0.0.1:<port>"
// Each POST body is parsed as the event, handed to the module's `handler`, and the result is answered as JSON:
// the cheapest way Node itself can turn an HTTP request into a handler call and back.
"use strict";

const http = require("node:http");
const path = require("node:path");

const { handler } = require(path.resolve(process.argv[2]));

const server = http.createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", async () => {
    let status = 200;
    let body;
    try {
      const text = Buffer.concat(chunks).toString("utf8");
      body = JSON.stringify(await handler(text ? JSON.parse(text) : {}, {}));
    } catch (error) {
      status = 500;
      body = JSON.stringify({ errorType: error.name, errorMessage: error.message });
    }
    response.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
    response.end(body);
  });
});

server.listen(0, "127.0.0.1", () => {
  console.log(`floor-node listening on http://127.0.0.1:${server.address().port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
