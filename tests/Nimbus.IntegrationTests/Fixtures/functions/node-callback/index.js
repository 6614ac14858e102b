exports.handler = (event, context, cb) => {
  cb(null, { cb: true });
};
