// Counts 1 ms timer ticks for the life of the instance (about 1,000 a second whenever the process runs) and
// remembers the longest wall-clock gap between two ticks since the last invocation returned. A frozen instance
// cannot tick, so an idle period it spent frozen shows up as one long gap; a running one, however loaded the
// machine, keeps ticking every few milliseconds.
let ticks = 0;
let lastTick = Date.now();
let longestGapMs = 0;
setInterval(() => {
  const now = Date.now();
  longestGapMs = Math.max(longestGapMs, now - lastTick);
  lastTick = now;
  ticks++;
}, 1);

exports.handler = async (event) => {
  const before = ticks;
  const gapBeforeMs = Math.max(longestGapMs, Date.now() - lastTick);
  await new Promise((resolve) => setTimeout(resolve, event.ms ?? 0));
  const after = ticks;
  longestGapMs = 0;
  return { before, after, gapBeforeMs };
};
