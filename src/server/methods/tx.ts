// The tx class: a transactional channel's publishes and acknowledgements are checked when they
// arrive and applied at tx.commit. A commit that stored messages is answered once they are on disk;
// one that a queue refused, or whose log failed, ends in RabbitMQ's 406 "partial tx completion".
import { preconditionFailed } from '../../broker/errors.js';
import type { Settlement } from '../../broker/queue.js';
import type { QueueLog, SyncListener } from '../../broker/store.js';
import { ReplyCode, TX_COMMIT, TX_COMMIT_OK, TX_ROLLBACK, TX_ROLLBACK_OK, TX_SELECT, TX_SELECT_OK, type Method } from '../../protocol/generated/spec.js';
import type { AmqpChannel, PublishMode } from '../channel-context.js';
import { amqpError } from '../errors.js';

export function txMethod(ch: AmqpChannel, method: Method): void {
  switch (method.id) {
    case TX_SELECT:
      if (ch.mode?.kind === 'confirm') throw preconditionFailed('cannot switch from confirm to tx mode');
      ch.mode ??= new Transaction(ch);
      ch.reply(TX_SELECT_OK, {});
      return;
    case TX_COMMIT:
      return transaction(ch).commit();
    case TX_ROLLBACK:
      transaction(ch).rollback();
      ch.reply(TX_ROLLBACK_OK, {});
      return;
  }
}

function transaction(ch: AmqpChannel): Transaction {
  if (ch.mode?.kind !== 'tx') throw preconditionFailed('channel is not transactional');
  return ch.mode as Transaction;
}

/** A checked basic.publish held until commit. */
interface HeldPublish {
  readonly exchange: string;
  readonly routingKey: string;
  readonly mandatory: boolean;
  readonly header: Buffer;
  readonly body: Buffer;
  readonly ttl: number | undefined;
}

/** A commit waiting for its messages' fsync. */
interface Committing {
  readonly logs: ReadonlySet<QueueLog>;
  /** A queue refused one of its messages (or took it without storing it). */
  readonly partial: boolean;
}

export class Transaction implements PublishMode, SyncListener {
  readonly kind = 'tx';
  private publishes: HeldPublish[] = [];
  private acks: { tag: number; multiple: boolean; how: Settlement }[] = [];
  /** Commits waiting for an fsync, in order (a commit behind one waits for it too). */
  private readonly committing: Committing[] = [];
  private released = false;

  constructor(private readonly ch: AmqpChannel) {}

  get heldPublishes(): number {
    return this.publishes.length;
  }

  get heldAcks(): number {
    return this.acks.length;
  }

  hold(exchange: string, routingKey: string, mandatory: boolean, header: Buffer, body: Buffer, ttl: number | undefined): boolean {
    this.publishes.push({ exchange, routingKey, mandatory, header, body, ttl });
    return true;
  }

  /** Nothing is routed before the commit. */
  published(): void {}

  /** An acknowledgement, checked now (an unknown tag fails at once) and applied at commit. */
  holdSettle(tag: number, multiple: boolean, how: Settlement): boolean {
    this.ch.session.checkSettle(tag, multiple, how);
    this.acks.push({ tag, multiple, how });
    return true;
  }

  commit(): void {
    const { publishes, acks } = this;
    this.publishes = [];
    this.acks = [];
    const { session, outcome } = this.ch;
    const logs = new Set<QueueLog>();
    let partial = false;
    let mustSync = false;
    for (const p of publishes) {
      session.publish(p.exchange, p.routingKey, p.mandatory, p.header, p.body, p.ttl, outcome);
      if (outcome.unroutable && p.mandatory) this.ch.returnUnroutable(outcome);
      if (outcome.rejected) partial = true;
      if (outcome.mustSync) mustSync = true;
      for (const log of outcome.logs) logs.add(log);
    }
    for (const a of acks) session.settle(a.tag, a.multiple, a.how);
    if (mustSync || this.committing.length > 0) {
      this.committing.push({ logs, partial });
      this.ch.connection.broker.store!.afterSync(this);
    } else if (partial) throw partialCompletion();
    else this.ch.reply(TX_COMMIT_OK, {});
  }

  rollback(): void {
    this.publishes = [];
    this.acks = [];
  }

  /** The oldest waiting commit's messages are on disk, or some of their logs failed. */
  synced(failed: ReadonlySet<QueueLog> | undefined): void {
    const commit = this.committing.shift();
    if (this.released || commit === undefined) return;
    const lost = failed !== undefined && [...commit.logs].some((log) => failed.has(log));
    if (commit.partial || lost) this.ch.closeWithError(partialCompletion());
    else this.ch.reply(TX_COMMIT_OK, {});
  }

  release(): void {
    this.released = true;
    this.publishes = [];
    this.acks = [];
  }
}

/** RabbitMQ's answer to a commit some queue did not take whole. */
function partialCompletion() {
  return amqpError(ReplyCode.PRECONDITION_FAILED, 'partial tx completion', TX_COMMIT);
}
