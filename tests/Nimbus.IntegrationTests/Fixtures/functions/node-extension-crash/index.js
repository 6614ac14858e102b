// With the layer-extension-pair extensions: {"action":"crash"} makes the crasher extension die during this
// invocation, {"action":"hang"} outlives the function's timeout, anything else answers "ok".
const fs = require('fs');

exports.handler = async (event) => {
  if (event.action === 'crash') {
    fs.writeFileSync('/tmp/crash-now', '1');
    await new Promise((resolve) => setTimeout(resolve, 8000));
    return 'not reached';
  }
  if (event.action === 'hang') {
    await new Promise((resolve) => setTimeout(resolve, 60000));
  }
  return 'ok';
};
