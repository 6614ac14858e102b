exports.handler = async () => {
  throw new Error('boom');
};
