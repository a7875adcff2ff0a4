module.exports = async () => {
  const { startBroker } = await import('warren');
  globalThis.warren = await startBroker();
  process.env.AMQP_URL = globalThis.warren.url;
};
