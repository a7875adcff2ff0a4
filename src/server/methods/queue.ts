// The queue class: declare, bind, unbind, purge and delete.
import {
  QUEUE_BIND,
  QUEUE_BIND_OK,
  QUEUE_DECLARE,
  QUEUE_DECLARE_OK,
  QUEUE_DELETE,
  QUEUE_DELETE_OK,
  QUEUE_PURGE,
  QUEUE_PURGE_OK,
  QUEUE_UNBIND,
  QUEUE_UNBIND_OK,
  type Method,
} from '../../protocol/generated/spec.js';
import type { AmqpChannel } from '../channel-context.js';

export function queueMethod(ch: AmqpChannel, method: Method): void {
  switch (method.id) {
    case QUEUE_DECLARE: {
      const a = method.args;
      const q = ch.session.declareQueue({ name: a.queue, passive: a.passive, durable: a.durable, exclusive: a.exclusive, autoDelete: a.autoDelete, args: a.arguments });
      if (!a.nowait) ch.reply(QUEUE_DECLARE_OK, { queue: q.name, messageCount: q.messageCount, consumerCount: q.consumerCount });
      return;
    }
    case QUEUE_BIND:
      ch.session.bindQueue(true, method.args.queue, method.args.exchange, method.args.routingKey, method.args.arguments);
      if (!method.args.nowait) ch.reply(QUEUE_BIND_OK, {});
      return;
    case QUEUE_UNBIND:
      // queue.unbind has no nowait
      ch.session.bindQueue(false, method.args.queue, method.args.exchange, method.args.routingKey, method.args.arguments);
      ch.reply(QUEUE_UNBIND_OK, {});
      return;
    case QUEUE_PURGE: {
      const messageCount = ch.session.purgeQueue(method.args.queue);
      if (!method.args.nowait) ch.reply(QUEUE_PURGE_OK, { messageCount });
      return;
    }
    case QUEUE_DELETE: {
      const a = method.args;
      const messageCount = ch.session.deleteQueue(a.queue, a.ifUnused, a.ifEmpty);
      if (!a.nowait) ch.reply(QUEUE_DELETE_OK, { messageCount });
      return;
    }
  }
}
