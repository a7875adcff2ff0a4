// Tests that need the steering repository's ../shared folder (RabbitMQ's spec files, the load
// generator) run when it is there and are skipped, saying so in their name, when it is not.
import { existsSync } from 'node:fs';

/** `name`, or `name` with the reason it is skipped; and whether to skip. */
export function needing(path: string, name: string): { skip: boolean; name: string } {
  const skip = !existsSync(path);
  return { skip, name: skip ? `${name} (skipped: ${path} not found)` : name };
}
