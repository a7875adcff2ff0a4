// Errors the broker raises; the channel turns them into channel.close or connection.close.
import { REPLY_NAMES, ReplyCode } from '../protocol/generated/spec.js';

export class BrokerError extends Error {
  constructor(
    readonly code: number,
    /** The whole reply text, "<CODE_NAME> - <detail>". */
    readonly text: string,
  ) {
    super(text);
  }

  /** The text without its "<CODE_NAME> - " prefix: RabbitMQ's explanation. */
  get detail(): string {
    return this.text.replace(/^[A-Z_]+ - /, '');
  }
}

function error(code: number, detail: string): BrokerError {
  return new BrokerError(code, `${REPLY_NAMES[code]} - ${detail}`);
}

export const notFound = (detail: string) => error(ReplyCode.NOT_FOUND, detail);
export const accessRefused = (detail: string) => error(ReplyCode.ACCESS_REFUSED, detail);
export const resourceLocked = (detail: string) => error(ReplyCode.RESOURCE_LOCKED, detail);
export const preconditionFailed = (detail: string) => error(ReplyCode.PRECONDITION_FAILED, detail);
export const commandInvalid = (detail: string) => error(ReplyCode.COMMAND_INVALID, detail);
export const notAllowed = (detail: string) => error(ReplyCode.NOT_ALLOWED, detail);
export const notImplemented = (detail: string) => error(ReplyCode.NOT_IMPLEMENTED, detail);
/** Where RabbitMQ's channel process crashes: the connection closes with a bare 541 INTERNAL_ERROR. */
export const internalError = () => new BrokerError(ReplyCode.INTERNAL_ERROR, 'INTERNAL_ERROR');
