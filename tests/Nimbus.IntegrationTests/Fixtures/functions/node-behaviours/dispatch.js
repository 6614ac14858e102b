// Runs the behaviour named by event.action, so one function (one configuration) can crash in one
// invocation and serve the next.
exports.handler = (event, context) => require(`./${event.action}.js`).handler(event, context);
