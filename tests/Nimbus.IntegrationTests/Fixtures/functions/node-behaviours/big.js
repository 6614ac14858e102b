exports.handler = async (event) => 'x'.repeat(event.bytes);
