/**
 * Bounded telemetry for the soak run: the Lambda writes logs, metrics and owner events out,
 * and keeping them in memory would be a leak of our own. These count instead, and count
 * every line that carried the execution input (SECRET): a leak of another kind.
 */
import type { MetricName } from '../contract/metrics';
import type { Decision } from '../lambda/decide/decision';
import type { Dimensions, Log, MetricsRecorder } from '../lambda/observability/telemetry';
import type { FailureFacts } from '../lambda/record/failure-ledger';
import type { OwnerNotifier } from '../lambda/record/owner-notifier';

/** The execution input every soak run carries: it must never show up in what the controller writes out. */
export const SECRET = 'SOAK-S3CR3T-INPUT';
/** How many log lines, metrics, owner events and ledger items carried the secret. */
export const leaks = { log: 0, metrics: 0, owners: 0, ledger: 0 };
export const said = (v: unknown) => JSON.stringify(v).includes(SECRET);

/** A breaker's opening or closing, as logged (bounded: one per transition). */
export interface BreakerTransition {
  readonly at: number;
  readonly stateMachineArn: string;
  readonly opened: boolean;
  readonly reason: string;
}

export class CountingLog implements Log {
  readonly counts = new Map<string, number>();
  readonly errors: string[] = [];
  /** Breaker openings and closings: the soak has no outage, so each one is worth a look. */
  readonly breakerTransitions: BreakerTransition[] = [];
  private line(level: string, message: string, attributes?: Record<string, unknown>): void {
    this.counts.set(level, (this.counts.get(level) ?? 0) + 1);
    if (message.startsWith('breaker opened') || message.startsWith('breaker closed:')) {
      const a = attributes ?? {};
      const opened = message.startsWith('breaker opened');
      this.breakerTransitions.push({ at: Date.now(), stateMachineArn: String(a.stateMachineArn), opened, reason: String(opened ? (a.openedBy ?? 'threshold') : a.reason) });
    }
    if (said({ message, attributes })) leaks.log++;
    if (level === 'error' && this.errors.length < 20) this.errors.push(`${message} ${JSON.stringify(attributes ?? {}).slice(0, 300)}`);
  }
  debug(m: string, a?: Record<string, unknown>) {
    this.line('debug', m, a);
  }
  info(m: string, a?: Record<string, unknown>) {
    this.line('info', m, a);
  }
  warn(m: string, a?: Record<string, unknown>) {
    this.line('warn', m, a);
  }
  error(m: string, a?: Record<string, unknown>) {
    this.line('error', m, a);
  }
}

export class SummingMetrics implements MetricsRecorder {
  readonly sums = new Map<string, number>();
  private add(name: MetricName, value: number, dimensions: Dimensions = {}) {
    if (said(dimensions)) leaks.metrics++;
    const key = `${name}${Object.keys(dimensions).length ? ` ${Object.values(dimensions).join('/')}` : ''}`;
    this.sums.set(key, (this.sums.get(key) ?? 0) + value);
  }
  count(name: MetricName, dimensions?: Dimensions, value = 1) {
    this.add(name, value, dimensions);
  }
  milliseconds(name: MetricName, value: number, dimensions?: Dimensions) {
    this.add(name, 1, dimensions); // count of samples; the values are not kept
    void value;
  }
  seconds(name: MetricName, value: number, dimensions?: Dimensions) {
    this.add(name, 1, dimensions);
    void value;
  }
  flush() {}
  total(prefix: string): number {
    let n = 0;
    for (const [k, v] of this.sums) if (k === prefix || k.startsWith(`${prefix} `)) n += v;
    return n;
  }
}

export class CountingNotifier implements OwnerNotifier {
  readonly counts = new Map<string, number>();
  async notify(decision: Decision, facts: FailureFacts, cause: string | null): Promise<void> {
    if (said({ decision, facts, cause })) leaks.owners++;
    this.counts.set(decision.reason, (this.counts.get(decision.reason) ?? 0) + 1);
  }
}
