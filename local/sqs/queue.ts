/**
 * One standard queue in memory: messages become invisible for a visibility timeout when
 * received and come back unless deleted, as in SQS. Order is first-in first-out (real
 * standard queues only try), which keeps tests deterministic.
 */
import { createHash, randomUUID } from 'node:crypto';
import { messageNotInflight, receiptHandleIsInvalid } from './errors';

export interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly sentAt: number;
  /** Not receivable before this (DelaySeconds, or a visibility timeout). */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** Set while in flight. */
  receiptHandle?: string;
}

export const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

export class LocalQueue {
  readonly messages: StoredMessage[] = [];
  readonly createdAt: number;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly arn: string,
    private readonly clock: () => number,
    readonly visibilityTimeoutSeconds = 30,
  ) {
    this.createdAt = clock();
  }

  send(body: string, delaySeconds = 0): StoredMessage {
    const now = this.clock();
    const message: StoredMessage = { messageId: randomUUID(), body, md5OfBody: md5(body), sentAt: now, visibleAt: now + delaySeconds * 1000, receiveCount: 0 };
    this.messages.push(message);
    return message;
  }

  receive(max: number, visibilitySeconds: number | undefined): StoredMessage[] {
    const now = this.clock();
    const out: StoredMessage[] = [];
    for (const m of this.messages) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      m.receiveCount++;
      m.firstReceivedAt ??= now;
      m.receiptHandle = `${m.messageId}#${randomUUID()}`;
      m.visibleAt = now + (visibilitySeconds ?? this.visibilityTimeoutSeconds) * 1000;
      out.push(m);
    }
    return out;
  }

  /**
   * The message a handle was issued for; any handle of a message works, as in SQS.
   * undefined: a well-formed handle of a message that is gone (SQS accepts those silently).
   */
  private byHandle(handle: string): StoredMessage | undefined {
    const match = /^([0-9a-f-]{36})#[0-9a-f-]{36}$/.exec(handle);
    if (!match) throw receiptHandleIsInvalid(handle);
    return this.messages.find((x) => x.messageId === match[1]);
  }

  delete(handle: string): void {
    const m = this.byHandle(handle);
    if (!m) return;
    this.messages.splice(this.messages.indexOf(m), 1);
  }

  changeVisibility(handle: string, seconds: number): void {
    const m = this.byHandle(handle);
    const now = this.clock();
    if (!m || m.visibleAt <= now) throw messageNotInflight();
    m.visibleAt = now + seconds * 1000;
  }

  purge(): void {
    this.messages.length = 0;
  }

  counts(): { visible: number; inFlight: number; delayed: number } {
    const now = this.clock();
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const m of this.messages) {
      if (m.visibleAt <= now) visible++;
      else if (m.receiptHandle) inFlight++;
      else delayed++;
    }
    return { visible, inFlight, delayed };
  }
}
