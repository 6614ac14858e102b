export const handler = async (event) => ({ esm: true, name: event.name });
