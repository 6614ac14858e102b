exports.handler = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, event.ms));
  return { slept: event.ms };
};
