/**
 * How `npm start -- --story outage` shows the outage story: a timeline where runs of the
 * same thing (failures held while the breaker is open, releases, recoveries) are one line
 * each, and the chart (failures, redrives, recoveries and held failures per minute, with
 * the breaker's opening and closing marked).
 */
import { DETAIL_TYPE_BREAKER_OPENED } from '../contract/owner-events';
import { type OutageStoryEntry, type OutageStoryResult, OUTAGE_STORY_START } from './story-outage';
import { timelineChart } from './timeline-chart';

export const stamp = (at: number) => {
  const s = Math.round((at - OUTAGE_STORY_START) / 1000);
  return `+${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

/**
 * Turns entries into lines as they come. A FAILED event and the decision about it make one
 * line; consecutive lines that say the same thing about different executions within a
 * minute are merged ("held, breaker open: pay-05, pay-06, pay-07").
 */
export class OutageStoryPrinter {
  private pending: { at: number; key: string; text: string; names: string[] } | undefined;
  private readonly failed = new Map<string, Extract<OutageStoryEntry, { kind: 'event' }>>();
  private readonly probing = new Set<string>();
  /** Redriven, outcome not seen yet. */
  private readonly redriven = new Set<string>();
  /** Outcomes seen before the decision that caused them. */
  private readonly early = new Map<string, Extract<OutageStoryEntry, { kind: 'event' }>>();

  constructor(private readonly write: (line: string) => void) {}

  private emit(at: number, key: string, text: string, name: string): void {
    const p = this.pending;
    if (p && p.key === key && at - p.at < 60_000) {
      p.names.push(name);
      return;
    }
    this.flush();
    this.pending = { at, key, text, names: [name] };
  }

  private line(at: number, text: string): void {
    this.flush();
    this.write(`${stamp(at)}  ${text}`);
  }

  flush(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.write(`${stamp(p.at)}  ${p.text}: ${p.names.join(', ')}`);
  }

  add(e: OutageStoryEntry): void {
    switch (e.kind) {
      case 'note':
        return this.line(e.at, `** ${e.text}`);
      case 'breaker':
        return e.detailType === DETAIL_TYPE_BREAKER_OPENED
          ? this.line(e.at, `** BREAKER OPENED for payments / Lambda.ServiceException (redrives of ${e.failuresInWindow ?? '?'} executions failed again in the window): new failures are held, not redriven; first probe at ${e.nextProbeAt ? stamp(Date.parse(e.nextProbeAt)) : '?'} (owner event: ${e.detailType})`)
          : this.line(e.at, `** BREAKER CLOSED (${e.reason}) after ${e.failedProbes} failed probes: releasing ${e.held} held failures, oldest first, through the normal decision (owner event: ${e.detailType})`);
      case 'event':
        // A run can end before the decision that started it is recorded (the stand-in's
        // Tasks take no time here): keep its outcome until that decision is printed.
        if (e.status === 'FAILED' && e.redriveCount === 0) return this.outcome(e);
        if (!this.redriven.has(e.execution)) return void this.early.set(e.execution, e);
        this.redriven.delete(e.execution);
        return this.outcome(e);
      case 'decision':
        return this.decision(e);
    }
  }

  /** How a redriven run ended. */
  private outcome(e: Extract<OutageStoryEntry, { kind: 'event' }>): void {
    if (e.status !== 'FAILED') {
      if (this.probing.delete(e.execution)) return this.line(e.at, `probe ${e.execution} ${e.status}: the payments API is back`);
      return this.emit(e.at, `event:${e.status}`, `Step Functions: ${e.status}`, e.execution);
    }
    this.failed.set(e.execution, e);
  }

  private decision(e: Extract<OutageStoryEntry, { kind: 'decision' }>): void {
    const failure = this.failed.get(e.execution);
    const about = failure && failure.redriveCount === e.redriveCount ? failure : undefined;
    if (about) this.failed.delete(e.execution);
    // A redrive whose run already ended: say how, on the same line, when it succeeded.
    const early = e.action === 'redriven' ? this.early.get(e.execution) : undefined;
    const succeeded = early && early.status !== 'FAILED' ? early : undefined;
    if (succeeded) this.early.delete(e.execution);
    const then = succeeded ? ` -> ${succeeded.status}` : '';
    const what = `${e.decision} (${e.reason}) -> ${e.action}${then}`;
    if (about && this.probing.delete(e.execution)) {
      this.line(e.at, `probe ${e.execution} FAILED again (${about.error}) -> ${e.action}: the breaker stays open, the next probe waits longer`);
    } else if (e.reason === 'probe' && e.action === 'redriven') {
      if (!succeeded) this.probing.add(e.execution);
      this.line(e.at, `probe: ${e.execution} redriven (its redrive ${(e.redriveCount ?? 0) + 1}), to learn whether the error persists${succeeded ? `${then}: the payments API is back` : ''}`);
    } else if (about) {
      this.emit(e.at, `failed:${about.error}:${what}`, `FAILED (${about.error}), auto-redrive [${e.source}]: ${what}`, e.execution);
    } else {
      this.emit(e.at, `decision:${e.source}:${what}`, `auto-redrive [${e.source}]: ${what}`, e.execution);
    }
    if (e.action !== 'redriven' || succeeded) return;
    const failedEarly = this.early.get(e.execution);
    this.early.delete(e.execution);
    if (failedEarly) this.outcome(failedEarly);
    else this.redriven.add(e.execution);
  }
}

export function outageStoryChart(r: OutageStoryResult): string {
  const minuteOf = (at: number) => Math.round(((at - OUTAGE_STORY_START) / 60_000) * 10) / 10;
  const good = r.executions.filter((e) => !e.badInput);
  return timelineChart(
    [
      {
        title: 'npm start -- --story outage',
        subtitle: `${r.executions.length} executions, payments API down ${r.outageMinutes} min, default policy (breaker on): ${good.filter((e) => e.finalStatus === 'SUCCEEDED').length}/${good.length} recovered`,
        timeline: r.minutes,
      },
    ],
    {
      shade: { untilMinute: r.outageMinutes, label: 'payments API down' },
      xLabel: 'simulated minutes',
      tickEvery: 5,
      panelWidth: 640,
      marks: r.breakerEvents.map((b) => ({ minute: minuteOf(b.at), label: b.detailType === DETAIL_TYPE_BREAKER_OPENED ? 'breaker opened' : `breaker closed (${b.reason})` })),
    },
  );
}
