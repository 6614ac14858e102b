// Requires modules that only its layers provide (/opt/nodejs/node_modules).
const fs = require('fs');

exports.handler = async () => {
  const greeting = require('greeting');
  let extra = null;
  try {
    extra = require('extra').value;
  } catch {
    extra = null;
  }
  return { greeting: greeting.greet('ada'), source: greeting.source, extra, opt: fs.readdirSync('/opt').sort() };
};
