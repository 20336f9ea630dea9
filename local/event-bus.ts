/**
 * An in-process stand-in for the default event bus and the rule: events that match the
 * exported pattern (the same object the CDK rule uses) are delivered to the target
 * asynchronously, like EventBridge -> Lambda async invoke. It can duplicate, delay and
 * reorder deliveries, and it retries a throwing target twice before parking the event in
 * a dead-letter list, as Lambda's async invoke with a DLQ does.
 */
import { matchesPattern, type StatusChangePattern } from '../contract/event-pattern';

export interface DeliveryOptions {
  /** Probability that an event is delivered twice. @default 0 */
  readonly duplicateRate?: number;
  /** Extra delivery delay: uniform in [0, maxDelayMs] wall-clock ms; >0 reorders events. @default 0 */
  readonly maxDelayMs?: number;
  /** Attempts per delivery before the event goes to the DLQ (Lambda async: 1 + 2 retries). @default 3 */
  readonly attempts?: number;
  /** Random source, seedable for reproducible tests. @default Math.random */
  readonly random?: () => number;
  /** Called when an event is parked (e.g. to send it to a local SQS dead-letter queue). */
  readonly onDeadLetter?: (event: unknown, error: string) => void | Promise<void>;
  /**
   * Whether the rule delivers to the controller now (enabled, targeting it): the local
   * EventBridge stand-in's rule (local/eventbridge.ts). @default always
   */
  readonly ruleDelivers?: () => boolean;
}

export type Target = (event: unknown) => Promise<unknown>;

export class LocalEventBus {
  readonly deadLetters: Array<{ event: unknown; error: string }> = [];
  readonly delivered: unknown[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly pattern: StatusChangePattern,
    private readonly target: Target,
    private readonly options: DeliveryOptions = {},
  ) {}

  /** PutEvents: matching events are delivered, the rest are dropped like the rule would. */
  put(event: unknown): boolean {
    if (!matchesPattern(this.pattern, event)) return false;
    if (this.options.ruleDelivers && !this.options.ruleDelivers()) return false;
    const random = this.options.random ?? Math.random;
    const copies = random() < (this.options.duplicateRate ?? 0) ? 2 : 1;
    for (let i = 0; i < copies; i++) this.track(this.deliver(event, random));
    return true;
  }

  /** True while a delivery is queued or running. */
  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  /** Resolves when every delivery so far (and any they caused) has finished. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async deliver(event: unknown, random: () => number): Promise<void> {
    const delay = Math.floor(random() * (this.options.maxDelayMs ?? 0));
    await new Promise((resolve) => (delay > 0 ? setTimeout(resolve, delay) : setImmediate(resolve)));
    const attempts = this.options.attempts ?? 3;
    let lastError = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        // A copy per attempt: the target must not be able to change what others see.
        await this.target(structuredClone(event));
        this.delivered.push(event);
        return;
      } catch (e) {
        lastError = `${(e as Error).name}: ${(e as Error).message}`;
      }
    }
    this.deadLetters.push({ event, error: lastError });
    await this.options.onDeadLetter?.(event, lastError);
  }
}
