// The exchange class: declare, delete, bind and unbind.
import {
  EXCHANGE_BIND,
  EXCHANGE_BIND_OK,
  EXCHANGE_DECLARE,
  EXCHANGE_DECLARE_OK,
  EXCHANGE_DELETE,
  EXCHANGE_DELETE_OK,
  EXCHANGE_UNBIND,
  EXCHANGE_UNBIND_OK,
  type Method,
} from '../../protocol/generated/spec.js';
import type { AmqpChannel } from '../channel-context.js';

export function exchangeMethod(ch: AmqpChannel, method: Method): void {
  switch (method.id) {
    case EXCHANGE_DECLARE: {
      const a = method.args;
      ch.session.declareExchange({ name: a.exchange, type: a.type, passive: a.passive, durable: a.durable, autoDelete: a.autoDelete, internal: a.internal, args: a.arguments });
      if (!a.nowait) ch.reply(EXCHANGE_DECLARE_OK, {});
      return;
    }
    case EXCHANGE_DELETE:
      ch.session.deleteExchange(method.args.exchange, method.args.ifUnused);
      if (!method.args.nowait) ch.reply(EXCHANGE_DELETE_OK, {});
      return;
    case EXCHANGE_BIND:
    case EXCHANGE_UNBIND: {
      const a = method.args;
      const bind = method.id === EXCHANGE_BIND;
      ch.session.bindExchange(bind, a.destination, a.source, a.routingKey, a.arguments);
      if (!a.nowait) ch.reply(bind ? EXCHANGE_BIND_OK : EXCHANGE_UNBIND_OK, {});
      return;
    }
  }
}
