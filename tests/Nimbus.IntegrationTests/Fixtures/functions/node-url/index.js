// A function URL fixture: returns the event it received.
exports.handler = async (event) => event;
