// One console line per level; LoggingConfig decides which reach the log and in what shape.
exports.handler = async (event) => {
  console.debug('debug line', event.tag);
  console.info('info line', event.tag);
  console.warn('warn line', event.tag);
  console.error('error line', event.tag);
  return { tag: event.tag };
};
