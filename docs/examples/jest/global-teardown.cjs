module.exports = async () => {
  await globalThis.warren.close();
};
