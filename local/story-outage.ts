/**
 * The outage story (`npm start -- --story outage`), on the local stand-in with simulated
 * time: the payments API behind the `payments` state machine is down for 12 minutes.
 * Executions keep starting and failing; the first are scheduled for redrive as usual, and
 * when redrives of two executions fail again with the same error the breaker for
 * (payments, Lambda.ServiceException) opens and new failures are held, not redriven; the scheduled drain redrives one held execution at a time as a probe (30 s,
 * then doubling), which fails while the API is down; the API recovers, the next probe
 * succeeds, the breaker closes and everything held is released and recovers. One bad-input
 * execution fails with States.Runtime alongside: a different error, never held, never
 * redriven.
 *
 * Time: the story moves the clock in 10-second steps, starts what is due, lets the event
 * bus and the controller settle, and runs the scheduled drain every minute (as EventBridge
 * Scheduler would). The controller's own waits (rate limit, probe watch) move the same
 * clock.
 */
import { CreateStateMachineCommand, DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { heldShard } from '../contract/breaker';
import { DETAIL_TYPE_BREAKER_CLOSED, DETAIL_TYPE_BREAKER_OPENED } from '../contract/owner-events';
import { drain } from '../lambda/scheduled-drain';
import { MemoryLog } from '../lambda/observability/telemetry';
import { startLocal } from './environment';
import { SimClock } from './sim-clock';
import type { StatusChangeEvent } from './sfn';
import type { MinuteBucket } from './timeline-chart';

export const OUTAGE_STORY_START = Date.UTC(2026, 10, 16, 9, 0, 0);
const ACCOUNT = '123456789012';
const MACHINE = 'payments';
const CHARGE = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:payments-charge`;
const MINUTE = 60_000;
const STEP_MS = 10_000;

export interface OutageStoryOptions {
  /** @default 12 */
  readonly outageMinutes?: number;
  /** Executions with good input, started evenly over `startMinutes`. @default 20 */
  readonly executions?: number;
  /** @default 8 */
  readonly startMinutes?: number;
}

export type OutageStoryEntry =
  | { readonly at: number; readonly kind: 'event'; readonly execution: string; readonly status: string; readonly redriveCount: number; readonly error: string | null }
  | { readonly at: number; readonly kind: 'decision'; readonly execution: string; readonly source: string; readonly decision: string; readonly reason: string; readonly action: string; readonly redriveCount: number | null }
  | { readonly at: number; readonly kind: 'breaker'; readonly detailType: string; readonly reason: string; readonly held: number; readonly failuresInWindow: number | null; readonly failedProbes: number; readonly nextProbeAt: string | null }
  | { readonly at: number; readonly kind: 'note'; readonly text: string };

export interface OutageStoryResult {
  readonly entries: OutageStoryEntry[];
  /** Per simulated minute since the start; `held` = failures held at the end of the minute. */
  readonly minutes: MinuteBucket[];
  readonly outageMinutes: number;
  readonly executions: ReadonlyArray<{ readonly name: string; readonly badInput: boolean; readonly finalStatus: string; readonly redriveCount: number }>;
  /** Redrives by decision reason (probe, release, due, ...). */
  readonly redrivesByReason: Record<string, number>;
  readonly mostHeld: number;
  readonly breakerEvents: ReadonlyArray<{ readonly at: number; readonly detailType: string; readonly reason: string }>;
  readonly elapsedSimulatedMs: number;
}

const BAD_INPUT_CAUSE = "An error occurred while executing the state 'Charge'. The JSONPath '$.card.token' specified for the field 'token.$' could not be found in the input";

export async function runOutageStory(onEntry: (e: OutageStoryEntry) => void = () => undefined, options: OutageStoryOptions = {}): Promise<OutageStoryResult> {
  const outageMinutes = options.outageMinutes ?? 12;
  const count = options.executions ?? 20;
  const startMinutes = options.startMinutes ?? 8;
  const outageEnd = OUTAGE_STORY_START + outageMinutes * MINUTE;
  const clock = new SimClock(OUTAGE_STORY_START);
  const entries: OutageStoryEntry[] = [];
  const add = (e: OutageStoryEntry) => {
    entries.push(e);
    onEntry(e);
  };
  const short = (arn: string | null) => (arn ?? '').split(':').pop() ?? '';

  const env = await startLocal({ clock: clock.now, sleep: clock.sleep, log: new MemoryLog(), standIn: { clock: clock.now } });
  try {
    const originalPut = env.bus.put.bind(env.bus);
    env.bus.put = (event: unknown) => {
      const d = (event as StatusChangeEvent).detail;
      if (d.status !== 'RUNNING') add({ at: clock.now(), kind: 'event', execution: short(d.executionArn), status: d.status, redriveCount: d.redriveCount, error: d.error });
      return originalPut(event);
    };
    env.deps.audit.observe((entry) => {
      if (entry.executionArn) {
        add({ at: entry.at, kind: 'decision', execution: short(entry.executionArn), source: entry.source, decision: entry.decision, reason: entry.reason, action: entry.action, redriveCount: entry.redriveCount });
      }
    });
    const breakerEvents: Array<{ at: number; detailType: string; reason: string }> = [];
    const notifyBreaker = env.notifier.notifyBreaker.bind(env.notifier);
    env.notifier.notifyBreaker = async (detailType, detail) => {
      breakerEvents.push({ at: clock.now(), detailType, reason: detail.reason });
      add({ at: clock.now(), kind: 'breaker', detailType, reason: detail.reason, held: detail.held, failuresInWindow: detail.failuresInWindow, failedProbes: detail.failedProbes, nextProbeAt: detail.nextProbeAt });
      await notifyBreaker(detailType, detail);
    };

    await env.putPolicy({ stateMachine: '*', description: 'The default policy: 3 redrives, 60 s doubling, full jitter; breaker on with its defaults' });
    // The payments API: down until the outage ends. Bad input fails before calling it.
    env.standIn.setBehaviour(CHARGE, (ctx) => {
      if (!(ctx.input as { card?: { token?: string } } | null)?.card?.token) return { ok: false, error: 'States.Runtime', cause: BAD_INPUT_CAUSE };
      return ctx.now < outageEnd ? { ok: false, error: 'Lambda.ServiceException', cause: 'Payments API returned 503 Service Unavailable' } : { ok: true };
    });
    const sm = await env.sfn.send(
      new CreateStateMachineCommand({
        name: MACHINE,
        definition: JSON.stringify({ StartAt: 'Charge', States: { Charge: { Type: 'Task', Resource: CHARGE, End: true } } }),
        roleArn: `arn:aws:iam::${ACCOUNT}:role/${MACHINE}-role`,
      }),
    );
    // Good input evenly over `startMinutes`, and one bad-input execution early on.
    const plan = Array.from({ length: count }, (_, i) => ({ name: `pay-${String(i + 1).padStart(2, '0')}`, at: OUTAGE_STORY_START + Math.round((i * startMinutes * MINUTE) / count), badInput: false }));
    plan.splice(3, 0, { name: 'pay-bad-input', at: plan[3].at, badInput: true });
    const arns = new Map<string, string>();

    const minutes: MinuteBucket[] = [];
    const bucket = (at: number) => {
      const m = Math.floor((at - OUTAGE_STORY_START) / MINUTE);
      for (let k = minutes.length; k <= m; k++) minutes.push({ minute: k, failures: 0, redrives: 0, recoveries: 0, held: 0 });
      return minutes[m];
    };
    let mostHeld = 0;
    let nextDrain = OUTAGE_STORY_START + MINUTE;
    let outageNoted = false;
    const group = { stateMachineArn: sm.stateMachineArn!, errorName: 'Lambda.ServiceException' };
    for (let t = OUTAGE_STORY_START; t < OUTAGE_STORY_START + 90 * MINUTE; t += STEP_MS) {
      clock.advanceTo(t);
      if (!outageNoted && clock.now() >= outageEnd) {
        outageNoted = true;
        add({ at: outageEnd, kind: 'note', text: 'the payments API is back: the outage is over (auto-redrive is not told; its next probe finds out)' });
      }
      for (const p of plan) {
        if (arns.has(p.name) || p.at > clock.now()) continue;
        const input = p.badInput ? { orderId: p.name } : { orderId: p.name, card: { token: `tok-${p.name}` } };
        const out = await env.sfn.send(new StartExecutionCommand({ stateMachineArn: sm.stateMachineArn!, name: p.name, input: JSON.stringify(input) }));
        arns.set(p.name, out.executionArn!);
      }
      await env.settle();
      if (clock.now() >= nextDrain) {
        await drain(env.deps);
        await env.settle();
        while (nextDrain <= clock.now()) nextDrain += MINUTE;
      }
      const held = await env.deps.ledger.heldCount(heldShard(group));
      bucket(clock.now()).held = held;
      mostHeld = Math.max(mostHeld, held);
      const settled = arns.size === plan.length && clock.now() > outageEnd && held === 0 && (await env.deps.ledger.backlog()).count === 0;
      if (settled && (await env.deps.breakers.active()).length === 0) break;
    }

    for (const e of entries) {
      if (e.kind === 'event' && e.status === 'FAILED') bucket(e.at).failures++;
      if (e.kind === 'event' && e.status === 'SUCCEEDED') bucket(e.at).recoveries++;
    }
    const redrivesByReason: Record<string, number> = {};
    for (const e of entries) {
      if (e.kind !== 'decision' || e.action !== 'redriven') continue;
      bucket(e.at).redrives++;
      redrivesByReason[e.reason] = (redrivesByReason[e.reason] ?? 0) + 1;
    }
    // Held counts carry over minutes without a sample (none are skipped: one sample per 10 s).
    const executions = [];
    for (const p of plan) {
      const d = await env.sfn.send(new DescribeExecutionCommand({ executionArn: arns.get(p.name)! }));
      executions.push({ name: p.name, badInput: p.badInput, finalStatus: d.status ?? '?', redriveCount: d.redriveCount ?? 0 });
    }
    return { entries, minutes, outageMinutes, executions, redrivesByReason, mostHeld, breakerEvents, elapsedSimulatedMs: clock.now() - OUTAGE_STORY_START };
  } finally {
    await env.stop();
  }
}

/** The story ended as told: everything good recovered, held while open, probed, released; bad input never redriven. */
export function outageStoryProblems(r: OutageStoryResult): string[] {
  const problems: string[] = [];
  const good = r.executions.filter((e) => !e.badInput);
  const notRecovered = good.filter((e) => e.finalStatus !== 'SUCCEEDED');
  if (notRecovered.length) problems.push(`not recovered: ${notRecovered.map((e) => e.name).join(', ')}`);
  const bad = r.executions.filter((e) => e.badInput);
  if (bad.some((e) => e.finalStatus !== 'FAILED' || e.redriveCount !== 0)) problems.push('the bad-input execution was redriven');
  if (!r.breakerEvents.some((b) => b.detailType === DETAIL_TYPE_BREAKER_OPENED)) problems.push('the breaker never opened');
  if (!r.breakerEvents.some((b) => b.detailType === DETAIL_TYPE_BREAKER_CLOSED && b.reason === 'probe-succeeded')) problems.push('the breaker did not close after a successful probe');
  if (!r.entries.some((e) => e.kind === 'decision' && e.reason === 'probe' && e.action === 'redriven')) problems.push('no probe was redriven');
  if (!((r.redrivesByReason.release ?? 0) > 0)) problems.push('nothing was released');
  if (r.mostHeld < 5) problems.push(`only ${r.mostHeld} failures were held at most`);
  return problems;
}
