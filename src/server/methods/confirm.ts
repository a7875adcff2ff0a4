// The confirm class (confirm.select) and publisher confirms: every publish is acked or nacked, in
// order, as its outcome says. A message stored in a durable log is acked only once an fsync has put
// it on disk, and nacked if its log failed meanwhile; one fsync round serves every channel waiting.
import type { PublishOutcome } from '../../broker/publishing.js';
import type { MessageStore, QueueLog, SyncListener } from '../../broker/store.js';
import { preconditionFailed } from '../../broker/errors.js';
import { writeMethod } from '../../protocol/frames.js';
import { BASIC_ACK, BASIC_NACK, CONFIRM_SELECT, CONFIRM_SELECT_OK, type Method } from '../../protocol/generated/spec.js';
import type { AmqpChannel, ConfirmWriter, PublishMode } from '../channel-context.js';

export function confirmMethod(ch: AmqpChannel, method: Method): void {
  if (method.id !== CONFIRM_SELECT) return;
  if (ch.mode?.kind === 'tx') throw preconditionFailed('cannot switch from tx to confirm mode');
  ch.mode ??= new PublisherConfirms(ch, ch.connection.broker.store);
  if (!method.args.nowait) ch.reply(CONFIRM_SELECT_OK, {});
}

export class PublisherConfirms implements PublishMode, SyncListener, ConfirmWriter {
  readonly kind = 'confirm';
  /** Next publish sequence number. */
  private publishSeq = 1;
  /** Every publish up to this sequence number is confirmed... */
  private confirmedUpTo = 0;
  /** ...and the client has been told up to this one. */
  private confirmsSent = 0;
  /**
   * Confirms wait while a stored message is not yet fsync'd: from the first such publish, every
   * publish up to `heldUpTo` waits, those up to `syncCovered` for the sync round awaited now.
   */
  private holding = false;
  private heldUpTo = 0;
  private syncCovered = 0;
  private lastStoredTag = 0;
  /** The logs written to by publishes up to `syncCovered`, and by those after it. */
  private coveredLogs = new Set<QueueLog>();
  private laterLogs = new Set<QueueLog>();
  /** Publishes refused while confirms were held: nacked in order once the acks before them go. */
  private heldNacks: number[] = [];
  private released = false;

  constructor(
    private readonly ch: AmqpChannel,
    private readonly store: MessageStore | undefined,
  ) {}

  get heldPublishes(): number {
    return this.publishSeq - 1 - this.confirmedUpTo;
  }

  readonly heldAcks = 0;

  /** Publishes are routed at once. */
  hold(): boolean {
    return false;
  }

  holdSettle(): boolean {
    return false;
  }

  /** A publish was routed: it is confirmed now, or once what it stored is on disk. */
  published(outcome: PublishOutcome): void {
    const tag = this.publishSeq++;
    if (outcome.mustSync) {
      this.lastStoredTag = tag;
      const logs = this.holding ? this.laterLogs : this.coveredLogs;
      for (const log of outcome.logs) logs.add(log);
      if (!this.holding) {
        this.holding = true;
        this.syncCovered = tag;
        this.store!.afterSync(this);
      }
    }
    const rejected = outcome.rejected;
    if (this.holding) {
      this.heldUpTo = tag;
      if (rejected) this.heldNacks.push(tag);
    } else if (rejected) this.nack(tag, false);
    else this.confirm(tag);
  }

  /** A sync round has ended: the confirms it covers go, as nacks when a log they wrote to failed. */
  synced(failed: ReadonlySet<QueueLog> | undefined): void {
    if (this.released) return;
    const lost = failed !== undefined && [...this.coveredLogs].some((log) => failed.has(log));
    const covered = this.syncCovered;
    if (this.lastStoredTag > covered) {
      // stored after the round began: another round
      this.releaseUpTo(covered, lost);
      this.syncCovered = this.heldUpTo;
      this.coveredLogs = this.laterLogs;
      this.laterLogs = new Set();
      this.store!.afterSync(this);
    } else {
      this.releaseUpTo(this.heldUpTo, lost);
      this.holding = false;
      this.coveredLogs = new Set();
    }
  }

  /** Confirms every held publish up to `upTo`, the refused ones (or all, when their logs failed) with nacks. */
  private releaseUpTo(upTo: number, lost: boolean): void {
    if (lost) {
      this.heldNacks = this.heldNacks.filter((tag) => tag > upTo);
      if (upTo > this.confirmedUpTo) this.nack(upTo, upTo > this.confirmedUpTo + 1);
      return;
    }
    while (this.heldNacks.length > 0 && this.heldNacks[0] <= upTo) {
      const nack = this.heldNacks.shift()!;
      if (nack - 1 > this.confirmedUpTo) this.confirm(nack - 1);
      this.nack(nack, false);
    }
    if (upTo > this.confirmedUpTo) this.confirm(upTo);
  }

  /** Confirms are collected until the connection flushes, then sent as one ack with multiple, as RabbitMQ does. */
  private confirm(tag: number): void {
    if (this.confirmedUpTo === this.confirmsSent) this.ch.connection.confirmsPending(this);
    this.ch.session.counters.confirmed += tag - this.confirmedUpTo;
    this.ch.session.vhost.counters.confirmed += tag - this.confirmedUpTo;
    this.confirmedUpTo = tag;
  }

  /** A refused publish (or, with `multiple`, every unconfirmed one up to `tag`): the acks before go out first. */
  private nack(tag: number, multiple: boolean): void {
    this.writeConfirms();
    const nacked = multiple ? tag - this.confirmedUpTo : 1;
    this.ch.session.counters.nacked += nacked;
    this.ch.session.vhost.counters.nacked += nacked;
    this.ch.connection.send(this.ch.id, BASIC_NACK, { deliveryTag: tag, multiple, requeue: false });
    this.confirmedUpTo = tag;
    this.confirmsSent = tag;
  }

  /** Writes the confirms collected since the last flush. */
  writeConfirms(): void {
    const upTo = this.confirmedUpTo;
    if (upTo === this.confirmsSent || this.released) return;
    writeMethod(this.ch.connection.out, this.ch.id, BASIC_ACK, { deliveryTag: upTo, multiple: upTo > this.confirmsSent + 1 });
    this.confirmsSent = upTo;
  }

  /** A closed channel's pending confirms are never sent. */
  release(): void {
    this.released = true;
  }
}
