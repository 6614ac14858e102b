// Counts 1 ms timer ticks for the life of the instance: about 1,000 a second whenever the process runs.
let ticks = 0;
setInterval(() => ticks++, 1);

exports.handler = async (event) => {
  const before = ticks;
  await new Promise((resolve) => setTimeout(resolve, event.ms ?? 0));
  return { before, after: ticks };
};
