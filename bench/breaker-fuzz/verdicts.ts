/**
 * What became of each execution in one arm of a fuzz world, and the comparison of the two
 * arms (breaker off, breaker on) that the breaker's contract is checked with
 * (docs/breaker.md): with the breaker on, no execution ends worse off than with the
 * owner's policy alone.
 *
 * An execution is worse off with the breaker when
 *   (a) it recovered with the breaker off and did not with it on,
 *   (b) it was given up in both arms, earlier with the breaker on (by more than a drain
 *       interval), and with fewer redrives used or for another reason: the policy gives up
 *       after maxRedrives redrives, and when it reaches them depends on the world (a lost
 *       event found by a sweep that runs at another minute in the other arm), or
 *   (c) with the breaker on, the controller (not a person) redrove it sooner after a
 *       failure than the policy's backoff allows (decide/backoff.ts, as decide() computes it).
 *
 * Not worse off, counted apart (`outageBeganDuringRun`): with the breaker on it was not
 * recovered because its last redrive started while its dependency was up (the breaker had
 * released it after a probe succeeded) and an outage that began during that run failed it.
 * No redriver can foresee an outage; the breaker-off arm's redrive was as lucky the other
 * way (started during an outage and ended after it).
 *
 * Not worse off, counted apart (`upWindowNotUsable`): with the breaker off it recovered in a
 * run that ended in an up-window between two outages of its dependency that a breaker
 * keeping its contract could not use for it: it learns of the window only from a probe (one
 * at a time, within a maximum probe interval), releases within a drain run, and never
 * redrives sooner than the policy's backoff (up-windows.ts). Recovering it there with
 * certainty would mean redriving it when the policy alone would, that is, not holding it;
 * the breaker-off arm's redrive landing in such a window is phase luck, as lucky as the
 * breaker-on arm is the other way when its redrive lands in one (`betterOff`).
 *
 * Not worse off, counted apart (`untouchedByBreaker`): with the breaker on, nothing of it was
 * held, probed or released before the arms parted, at the redrive of the failure whose
 * redrive recovered it with the breaker off (up to there every decision was the policy's
 * own, redrives no sooner than its backoff), and it ended otherwise only because the world's
 * timing differed between the arms (a lost event found by a sweep that ran at another
 * minute, a drain run that took longer); what the breaker did after that does not change it.
 *
 * Not worse off, counted apart (`followedPolicyEdit`): with the breaker on it ended as a
 * person's later policy edit decided (deleted: no-policy; disabled; maxRedrives lowered:
 * limit-reached with fewer redrives than the other arm) after that edit, while it was still
 * held or waiting: the owner's policy changed, and it followed the current one.
 */
import { delaySeconds, jitterFraction } from '../../lambda/decide/backoff';
import type { PolicyParseResult } from '../../contract/policy-schema';
import { DEFAULTS } from '../../lambda/config';
import { resolvePolicy } from '../../lambda/policy/policy-source';
import type { ArmRun } from './run-world';
import { MINUTE } from './world';

export type EndKind = 'recovered' | 'given-up' | 'held' | 'pending' | 'running' | 'dead-lettered' | 'lost';

export interface ExecutionEnd {
  readonly kind: EndKind;
  /** recovered: when it succeeded; given up: when the skip was recorded. */
  readonly at: number | null;
  /** The ledger's reason (skip or hold reason). */
  readonly reason: string | null;
  readonly redriveCount: number;
}

export interface EarlyRedrive {
  readonly execution: number;
  readonly at: number;
  readonly fromCount: number;
  readonly stoppedAt: number;
  readonly backoffSeconds: number;
  /** The audit source of the redrive (probe, release, drain, event...). */
  readonly source: string;
}

export interface ArmVerdict {
  readonly ends: readonly ExecutionEnd[];
  /** Redrives whose run failed again with the error of the failure they redrove. */
  readonly futile: number;
  readonly redrives: number;
  /** Same failure redriven twice, or redriven by the controller beyond its policy (or with none). */
  readonly doubleRedrives: ReadonlyArray<{ execution: number; what: string }>;
  readonly early: readonly EarlyRedrive[];
}

const TOKEN_COUNT = /^ar-(\d+)-/;
/** A give-up earlier than this with the breaker on counts as worse off (one drain interval). */
export const GIVE_UP_TOLERANCE_MS = MINUTE;

/** The policy for a state machine in force at `at` (the arm's policy epochs). */
export function policyAt(run: ArmRun, stateMachineArn: string, at: number) {
  let policies: ReadonlyMap<string, PolicyParseResult> = run.policyEpochs[0].policies;
  for (const epoch of run.policyEpochs) if (epoch.at <= at) policies = epoch.policies;
  const r = resolvePolicy({ policies, pause: { paused: false }, loadedAt: at }, stateMachineArn);
  return r.kind === 'found' ? r.policy : undefined;
}

/** How long an edit may take to reach the controller (docs/policies.md, "When an edit takes effect"). */
const POLICY_CACHE_MS = DEFAULTS.policyCacheTtlSeconds * 1000;

/**
 * The highest maxRedrives of the policies in force at some time in [from, to]: a redrive
 * within policyCacheTtl of an edit that lowered maxRedrives may still follow the one before.
 */
function maxRedrivesDuring(run: ArmRun, stateMachineArn: string, from: number, to: number): number | undefined {
  const at = [from, ...run.policyEpochs.filter((e) => e.at > from && e.at <= to).map((e) => e.at)];
  const limits = at.map((t) => policyAt(run, stateMachineArn, t)?.maxRedrives).filter((m): m is number => m !== undefined);
  return limits.length > 0 ? Math.max(...limits) : undefined;
}

export function endOf(run: ArmRun, index: number): ExecutionEnd {
  const e = run.world.executions[index];
  const s = run.sim.statusOf(index, run.endedAt);
  if (s.status === 'SUCCEEDED') return { kind: 'recovered', at: s.stopDate, reason: null, redriveCount: s.redriveCount };
  if (s.status !== 'FAILED' && s.status !== 'TIMED_OUT') return { kind: 'running', at: null, reason: s.status, redriveCount: s.redriveCount };
  const record = run.ledger.records.get(`${e.arn}#${s.redriveCount}`);
  if (!record) {
    const dead = run.deadLettered.has(`${e.arn}#${s.redriveCount}#${s.status}`);
    return { kind: dead ? 'dead-lettered' : 'lost', at: null, reason: dead ? 'dead-lettered' : 'no ledger record of its last failure', redriveCount: s.redriveCount };
  }
  switch (record.state) {
    case 'skipped':
      return { kind: 'given-up', at: record.updatedAt, reason: record.reason, redriveCount: s.redriveCount };
    case 'held':
      return { kind: 'held', at: record.heldAt ?? record.updatedAt, reason: record.reason, redriveCount: s.redriveCount };
    case 'redriven':
      return { kind: 'lost', at: null, reason: 'recorded redriven, but the execution is still stopped', redriveCount: s.redriveCount };
    default:
      return { kind: 'pending', at: record.dueAt, reason: record.reason, redriveCount: s.redriveCount };
  }
}

/** The audit source of the decision that redrove `execution`'s failure `fromCount` (probe, release, ...). */
function sourceOf(run: ArmRun, arn: string, fromCount: number): string {
  const entry = run.audit.entries.find((a) => a.executionArn === arn && a.redriveCount === fromCount && (a.action === 'redriven' || a.decision === 'redrive'));
  return entry ? `${entry.source}/${entry.reason}` : 'unknown';
}

export function armVerdict(run: ArmRun): ArmVerdict {
  const { world, sim } = run;
  const ends = world.executions.map((_, i) => endOf(run, i));
  let futile = 0;
  const doubleRedrives: Array<{ execution: number; what: string }> = [];
  const early: EarlyRedrive[] = [];
  const seen = new Set<string>();
  for (const r of sim.redrives) {
    const e = world.executions[r.executionIndex];
    const runs = sim.runsOf(r.executionIndex);
    const failed = runs[r.fromCount];
    const after = runs[r.fromCount + 1];
    if (after && after.endsAt <= run.endedAt && after.status !== 'SUCCEEDED' && after.error === failed.error) futile++;
    const key = `${r.executionIndex}#${r.fromCount}`;
    if (seen.has(key)) doubleRedrives.push({ execution: r.executionIndex, what: `failure ${r.fromCount} redriven twice` });
    seen.add(key);
    if (r.actor !== 'controller') continue;
    const tokenCount = Number(TOKEN_COUNT.exec(r.clientToken)?.[1] ?? Number.NaN);
    if (tokenCount !== r.fromCount) doubleRedrives.push({ execution: r.executionIndex, what: `redrove failure ${r.fromCount} with the clientToken of failure ${tokenCount}` });
    const policy = policyAt(run, world.machines[e.machine].arn, r.at) ?? policyAt(run, world.machines[e.machine].arn, failed.endsAt);
    if (!policy) {
      doubleRedrives.push({ execution: r.executionIndex, what: `redriven by the controller with no policy (failure ${r.fromCount})` });
      continue;
    }
    const allowed = maxRedrivesDuring(run, world.machines[e.machine].arn, r.at - POLICY_CACHE_MS, r.at) ?? policy.maxRedrives;
    if (r.fromCount >= allowed) doubleRedrives.push({ execution: r.executionIndex, what: `redrive ${r.fromCount + 1} beyond maxRedrives ${allowed}` });
    const backoffSeconds = delaySeconds(policy, r.fromCount, jitterFraction(e.arn, r.fromCount));
    if (r.at < failed.endsAt + backoffSeconds * 1000 - 1000) {
      early.push({ execution: r.executionIndex, at: r.at, fromCount: r.fromCount, stoppedAt: failed.endsAt, backoffSeconds, source: sourceOf(run, e.arn, r.fromCount) });
    }
  }
  return { ends, futile, redrives: sim.redrives.length, doubleRedrives, early };
}

export interface WorseOff {
  readonly execution: number;
  readonly rule: 'a' | 'b' | 'c';
  /** One line about this execution. */
  readonly why: string;
  /** The mechanism as far as the verdicts can tell, without numbers (aggregated across worlds). */
  readonly mechanism: string;
}

const describeEnd = (end: ExecutionEnd, start: number) =>
  `${end.kind}${end.reason ? ` (${end.reason})` : ''}${end.at !== null ? ` at +${Math.round((end.at - start) / 1000)}s` : ''} after ${end.redriveCount} redrive(s)`;

/** Reasons a person's policy edit gives for ending a failure. */
const EDIT_REASONS: ReadonlySet<string> = new Set(['no-policy', 'policy-disabled', 'policy-invalid', 'limit-reached', 'dry-run']);

/** Whether the breaker-on end is a person's policy edit followed (see the header). */
function followsEdit(o: ExecutionEnd, n: ExecutionEnd, editTimes: readonly number[]): boolean {
  if (n.kind !== 'given-up' || n.reason === null || !EDIT_REASONS.has(n.reason) || n.at === null) return false;
  if (!editTimes.some((t) => t <= n.at!)) return false;
  return n.reason !== 'limit-reached' || n.redriveCount < o.redriveCount;
}

export function compareArms(
  off: ArmVerdict,
  on: ArmVerdict,
  start: number,
  editTimes: readonly number[] = [],
  /** Whether execution i's last run with the breaker on started with its dependency up and an outage began during it. */
  outageBeganDuringLastRun: (i: number) => boolean = () => false,
  /** Whether, with the breaker on, any failure of execution i was held, probed or released before the arms parted (fuzz.ts). */
  touchedByBreaker: (i: number) => boolean = () => true,
  /** Whether execution i's recovering run with the breaker off ended in an up-window the breaker could not use for it (up-windows.ts). */
  recoveredInUnusableUpWindow: (i: number) => boolean = () => false,
): { worse: WorseOff[]; followedEdit: number[]; outageDuringRun: number[]; untouched: number[]; upWindowNotUsable: number[]; betterOff: number[] } {
  const worse: WorseOff[] = [];
  const followedEdit: number[] = [];
  const outageDuringRun: number[] = [];
  const untouched: number[] = [];
  const upWindowNotUsable: number[] = [];
  const betterOff: number[] = [];
  off.ends.forEach((o, i) => {
    const n = on.ends[i];
    if (n.kind === 'recovered' && o.kind !== 'recovered') betterOff.push(i);
    const notAsGood = (o.kind === 'recovered' && n.kind !== 'recovered') || (o.kind === 'given-up' && n.kind === 'given-up' && n.at! < o.at! - GIVE_UP_TOLERANCE_MS);
    if (notAsGood && followsEdit(o, n, editTimes)) followedEdit.push(i);
    else if (notAsGood && o.kind === 'recovered' && outageBeganDuringLastRun(i)) outageDuringRun.push(i);
    else if (notAsGood && o.kind === 'recovered' && recoveredInUnusableUpWindow(i)) upWindowNotUsable.push(i);
    else if (notAsGood && !touchedByBreaker(i)) untouched.push(i);
    else if (o.kind === 'recovered' && n.kind !== 'recovered') {
      worse.push({ execution: i, rule: 'a', why: `recovered with the breaker off; with it on: ${describeEnd(n, start)}`, mechanism: `not recovered with the breaker on: ${n.kind}${n.reason ? ` (${n.reason})` : ''}` });
    } else if (o.kind === 'given-up' && n.kind === 'given-up' && n.at! < o.at! - GIVE_UP_TOLERANCE_MS && (n.redriveCount < o.redriveCount || n.reason !== o.reason)) {
      worse.push({ execution: i, rule: 'b', why: `given up ${Math.round((o.at! - n.at!) / 1000)}s earlier with the breaker on: off ${describeEnd(o, start)}; on ${describeEnd(n, start)}`, mechanism: `given up earlier with the breaker on: ${n.reason} (off: ${o.reason})` });
    }
  });
  const earlyByExecution = new Map<number, EarlyRedrive>();
  for (const e of on.early) if (!earlyByExecution.has(e.execution)) earlyByExecution.set(e.execution, e);
  for (const [i, e] of earlyByExecution) {
    if (worse.some((w) => w.execution === i) || followedEdit.includes(i) || outageDuringRun.includes(i) || untouched.includes(i) || upWindowNotUsable.includes(i)) continue;
    // The same early redrive with the breaker off: not the breaker's doing (the drain carries a
    // scheduled redrive out after a person's policy edit changed the backoff, in both arms alike).
    if (off.early.some((o) => o.execution === i && o.fromCount === e.fromCount)) continue;
    worse.push({ execution: i, rule: 'c', why: `redrive ${e.fromCount + 1} by ${e.source} ${Math.round((e.at - e.stoppedAt) / 1000)}s after the failure; the policy's backoff is ${e.backoffSeconds}s`, mechanism: `redriven by ${e.source} sooner than the policy's backoff` });
  }
  return { worse: worse.sort((a, b) => a.execution - b.execution), followedEdit, outageDuringRun, untouched, upWindowNotUsable, betterOff };
}

/** Seconds added to recovery by the breaker, per execution recovered in both arms. */
export function recoveryDelays(off: ArmVerdict, on: ArmVerdict): number[] {
  const delays: number[] = [];
  off.ends.forEach((o, i) => {
    const n = on.ends[i];
    if (o.kind === 'recovered' && n.kind === 'recovered') delays.push((n.at! - o.at!) / 1000);
  });
  return delays;
}
