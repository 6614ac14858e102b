// Buffers held in module scope stay allocated (and their pages touched) for the life of the instance,
// so each invocation adds event.mb MB to what the instance already holds.
const kept = [];

exports.handler = async (event) => {
  for (let i = 0; i < event.mb; i++) {
    kept.push(Buffer.alloc(1 << 20, 1));
  }

  return { allocatedMb: event.mb, heldMb: kept.length };
};
