/**
 * what-if's answer: per state machine and in total, how many failures, how many the
 * controller would redrive (now, or after its backoff), hold, or skip and why, how many
 * Step Functions would still let be redriven now, and what the redrives would cost.
 *
 * Extra state transitions (the bill: Step Functions counts a redrive's transitions) are an
 * estimate with no extra calls: each redrive is counted as the number of states in the
 * state machine's definition (nested Parallel and Map states included), once each. A
 * redrive resumes at the failed state, so for a workflow without loops this is an upper
 * bound per redrive; a Map re-running many iterations, or a loop, costs more. Reading each
 * execution's history would make it exact at one GetExecutionHistory call (or more) per
 * failure; what-if does not.
 */
import { isoTime, table } from '../output';
import { type Verdict, wouldRedrive } from './planner';

export interface Tally {
  readonly failures: number;
  /** Redrive now or after the backoff. */
  readonly wouldRedrive: number;
  readonly wouldRedriveNow: number;
  readonly wouldRedriveLater: number;
  /** Held (breaker open; exhausted with onExhausted: hold). */
  readonly wouldHold: number;
  /** Skips by reason (contract/decisions.ts SKIP_REASONS). */
  readonly skipped: Readonly<Record<string, number>>;
  readonly stillRedrivableNow: number;
  readonly extraTransitions: number;
}

export interface MachineSummary extends Tally {
  readonly stateMachineArn: string;
  /** States in the definition: the transitions estimate per redrive. */
  readonly stateCount: number;
}

export interface Totals extends Tally {
  readonly stateMachines: number;
}

export function summarize(stateMachineArn: string, stateCount: number, verdicts: readonly Verdict[]): MachineSummary {
  const skipped: Record<string, number> = {};
  let now = 0;
  let later = 0;
  let hold = 0;
  let redrivable = 0;
  for (const v of verdicts) {
    if (v.decision === 'redrive') now++;
    else if (v.decision === 'redrive-later') later++;
    else if (v.decision === 'hold') hold++;
    else skipped[v.reason] = (skipped[v.reason] ?? 0) + 1;
    if (v.stillRedrivable) redrivable++;
  }
  const redrives = verdicts.filter(wouldRedrive).length;
  return {
    stateMachineArn,
    stateCount,
    failures: verdicts.length,
    wouldRedrive: redrives,
    wouldRedriveNow: now,
    wouldRedriveLater: later,
    wouldHold: hold,
    skipped: sortedCounts(skipped),
    stillRedrivableNow: redrivable,
    extraTransitions: redrives * stateCount,
  };
}

export function totalsOf(machines: readonly MachineSummary[]): Totals {
  const skipped: Record<string, number> = {};
  for (const m of machines) for (const [reason, n] of Object.entries(m.skipped)) skipped[reason] = (skipped[reason] ?? 0) + n;
  const sum = (f: (m: MachineSummary) => number) => machines.reduce((s, m) => s + f(m), 0);
  return {
    stateMachines: machines.length,
    failures: sum((m) => m.failures),
    wouldRedrive: sum((m) => m.wouldRedrive),
    wouldRedriveNow: sum((m) => m.wouldRedriveNow),
    wouldRedriveLater: sum((m) => m.wouldRedriveLater),
    wouldHold: sum((m) => m.wouldHold),
    skipped: sortedCounts(skipped),
    stillRedrivableNow: sum((m) => m.stillRedrivableNow),
    extraTransitions: sum((m) => m.extraTransitions),
  };
}

/** Most frequent first, then by name: the same order in the table and in JSON. */
function sortedCounts(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
}

export const skipText = (skipped: Readonly<Record<string, number>>): string =>
  Object.entries(skipped)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ') || '-';

const nameOf = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);

export interface WhatIfHeader {
  readonly since: number;
  readonly now: number;
  readonly policySource: string;
}

/** The table: one row per state machine with failures (machines without any are only counted), then the totals. */
export function renderTable(header: WhatIfHeader, machines: readonly MachineSummary[], totals: Totals, notes: readonly string[]): string {
  const withFailures = machines.filter((m) => m.failures > 0);
  const row = (name: string, t: Tally) => ({ name, ...t });
  const rows = [...withFailures.map((m) => row(nameOf(m.stateMachineArn), m)), row('TOTAL', totals)];
  const body = table(rows, [
    { header: 'state machine', value: (r) => r.name },
    { header: 'failures', value: (r) => r.failures },
    { header: 'would redrive', value: (r) => (r.wouldRedriveLater ? `${r.wouldRedrive} (${r.wouldRedriveLater} after backoff)` : r.wouldRedrive) },
    { header: 'hold', value: (r) => r.wouldHold },
    { header: 'skip by reason', value: (r) => skipText(r.skipped) },
    { header: 'redrivable now', value: (r) => r.stillRedrivableNow },
    { header: 'extra transitions', value: (r) => r.extraTransitions },
  ]);
  return [
    `what-if: failures that stopped from ${isoTime(header.since)} to ${isoTime(header.now)}, decided with ${header.policySource} (nothing written)`,
    '',
    body,
    '',
    `${totals.stateMachines} state machine(s), ${withFailures.length} with failures; extra transitions: states in the definition per redrive (docs/cli.md)`,
    ...notes,
  ].join('\n');
}
