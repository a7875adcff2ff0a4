// Option values the commands share, read with a sentence for what is wrong.

export function portOption(name: string, value: string): number {
  const port = Number(value);
  if (value.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid ${name} ${value}: a port is a number from 0 to 65535`);
  return port;
}
