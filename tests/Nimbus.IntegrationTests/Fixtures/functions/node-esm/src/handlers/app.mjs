export const handler = async (event) => ({ esm: true, nested: true, name: event.name });
