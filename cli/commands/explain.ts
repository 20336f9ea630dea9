/**
 * `redrivectl explain <executionArn>`: why the controller did what it did to one
 * execution: the decision trail, the failure records, and what Step Functions says now.
 */
import { Command } from 'commander';
import { isExecutionArn } from '../../contract/arn';
import { type BreakerGroup, breakerPk, groupLabel } from '../../contract/breaker';
import { heldFate, openedByWords, probeWait, type ProbeWaitFacts } from '../../contract/probe-wait';
import { storedExtras } from '../../lambda/record/breaker-store';
import { groupPolicy, probeWaitFacts } from '../breakers';
import type { DescribedExecution } from '../../lambda/act/step-functions';
import type { AuditEntry } from '../../lambda/record/audit-trail';
import type { FailureRecord } from '../../lambda/record/failure-ledger';
import { describeFailedState } from '../../lambda/facts/failed-state';
import { type CliContext, withContext } from '../context';
import { describeError, failed, usage } from '../errors';
import { isoTime, keyValues, table } from '../output';

type View<T, K extends keyof T, Time extends K> = { [P in K]: P extends Time ? string | null : T[P] };

/** The listed fields of `from`, in that order; those in `times` (epoch ms) as ISO strings. */
function view<T, K extends keyof T, Time extends K = never>(from: T, fields: readonly K[], times: readonly Time[] = []): View<T, K, Time> {
  const isTime = (k: K) => (times as readonly K[]).includes(k);
  return Object.fromEntries(fields.map((k) => [k, isTime(k) ? isoTime(from[k] as number | null | undefined) : from[k]])) as View<T, K, Time>;
}

function decisionRow(e: AuditEntry) {
  return {
    time: isoTime(e.at),
    ...view(e, ['source', 'eventId', 'status', 'redriveCount', 'errorName', 'decision', 'reason', 'policyKey', 'action']),
    actionDetail: e.actionDetail ?? null,
    dueAt: isoTime(e.dueAt),
    detail: e.detail,
  };
}

const failureRow = (f: FailureRecord) => ({
  ...view(f, ['redriveCount', 'state', 'reason', 'errorName', 'policyKey', 'dueAt', 'attempts', 'stopDate', 'updatedAt'], ['dueAt', 'stopDate', 'updatedAt']),
  probe: f.probeToken !== undefined,
  heldAt: isoTime(f.heldAt),
  // Approval before redrive (docs/policies.md): who answered, absent when no one did.
  ...(f.approvedBy === undefined ? {} : { approvedBy: f.approvedBy, approvedAt: isoTime(f.approvedAt) }),
  ...(f.rejectedBy === undefined ? {} : { rejectedBy: f.rejectedBy, rejectedWhy: f.rejectedWhy ?? null }),
  // Read from the history for a state-scoped policy (null: not read).
  failedState: f.failedState ? describeFailedState(f.failedState, f.status) : null,
});

/** One line per failure a person approved or rejected. */
const answerLines = (records: ReadonlyArray<ReturnType<typeof failureRow>>) =>
  records
    .map((f) =>
      'approvedBy' in f ? `\nFailure ${f.redriveCount}: approved by ${f.approvedBy} at ${f.approvedAt}` : 'rejectedBy' in f ? `\nFailure ${f.redriveCount}: rejected by ${f.rejectedBy}: ${f.rejectedWhy}` : '',
    )
    .join('');

const currentView = (d: DescribedExecution) =>
  view(d, ['status', 'redriveCount', 'redriveStatus', 'redriveStatusReason', 'stateMachineArn', 'startDate', 'stopDate', 'redriveDate', 'error'], ['startDate', 'stopDate', 'redriveDate']);

async function explain(ctx: CliContext, executionArn: string): Promise<void> {
  if (!isExecutionArn(executionArn)) {
    throw usage(`explain: '${executionArn.slice(0, 300)}' is not a Step Functions execution ARN (arn:aws:states:<region>:<account>:execution:<stateMachine>:<name>)`);
  }
  const deps = ctx.wire();
  const [trail, failures, described] = await Promise.all([
    deps.audit.trail(executionArn),
    deps.ledger.failuresOf(executionArn),
    Promise.resolve()
      .then(() => deps.stepFunctions.describe(executionArn))
      .then(
      (d) => ({ ok: true as const, d }),
      (e: unknown) => ({ ok: false as const, error: describeError(e).message }),
    ),
  ]);
  const current = described.ok && described.d ? currentView(described.d) : null;
  const currentNote = described.ok ? (described.d ? null : 'Step Functions does not know this execution') : `DescribeExecution failed: ${described.error}`;
  if (trail.length === 0 && failures.length === 0 && described.ok && !described.d) {
    throw failed(`explain: ${executionArn}: no decisions recorded and Step Functions does not know this execution`);
  }
  const decisions = trail.sort((a, b) => a.at - b.at).map(decisionRow);
  const now = Date.now();
  // The breakers of the groups this execution is held in or was a probe of.
  const groups = new Map<string, BreakerGroup>();
  for (const f of failures) {
    if ((f.state === 'held' && f.reason === 'breaker-open') || f.probeToken !== undefined) groups.set(breakerPk(f), { stateMachineArn: f.stateMachineArn, errorName: f.errorName });
  }
  const snapshot = failures.some((f) => f.state === 'held') || groups.size ? await deps.policies.snapshot(now) : undefined;
  const waits = new Map<string, ProbeWaitFacts>();
  const breakers = await Promise.all(
    [...groups.values()].map(async (g) => {
      const b = await deps.breakers.read(g);
      const wait = await probeWaitFacts(g, b, snapshot && groupPolicy(snapshot, g), deps.ledger, now);
      waits.set(breakerPk(g), wait);
      return {
        group: groupLabel(g),
        status: b.status,
        openedAt: isoTime(b.openedAt),
        openedBy: storedExtras(b).openedBy ?? null,
        nextProbeAt: isoTime(b.nextProbeAt),
        probe: b.probe?.executionArn ?? null,
        probeWait: probeWait(wait, now),
        failedProbes: b.failedProbes,
        closeReason: b.closeReason,
      };
    }),
  );
  const records = failures.map((f) => ({
    ...failureRow(f),
    // How a held failure leaves the hold (null: not held).
    fate:
      f.state === 'held'
        ? heldFate({ reason: f.reason, redriveCount: f.redriveCount, maxRedrives: (snapshot && groupPolicy(snapshot, f))?.maxRedrives ?? null, breaker: waits.get(breakerPk(f)) ?? null }, now)
        : null,
  }));

  ctx.out.emit({ executionArn, current, currentNote, decisions, failures: records, breakers }, () => {
    const parts: string[] = [];
    parts.push(
      keyValues([
        ['Execution', executionArn],
        ...(current
          ? ([
              ['Status', current.status],
              ['Redrive count', current.redriveCount],
              ['Redrive status', current.redriveStatus ? `${current.redriveStatus}${current.redriveStatusReason ? ` (${current.redriveStatusReason})` : ''}` : null],
              ['Error', current.error],
              ['Stopped', current.stopDate],
              ['Last redrive', current.redriveDate],
            ] as const)
          : ([['Status', currentNote]] as const)),
      ]),
    );
    parts.push(
      decisions.length === 0
        ? 'Decisions: none recorded (no policy covered it, the event never arrived, or the records expired)'
        : `Decisions (oldest first):\n${table(decisions, [
            { header: 'time', value: (d) => d.time },
            { header: 'source', value: (d) => d.source },
            { header: 'event', value: (d) => d.eventId },
            { header: 'status', value: (d) => d.status },
            { header: 'count', value: (d) => d.redriveCount },
            { header: 'decision', value: (d) => d.decision },
            { header: 'reason', value: (d) => d.reason },
            { header: 'policy', value: (d) => d.policyKey },
            { header: 'action', value: (d) => d.action },
            { header: 'due', value: (d) => d.dueAt },
            { header: 'detail', value: (d) => [d.detail, d.actionDetail].filter(Boolean).join(' / ') },
          ])}`,
    );
    parts.push(
      records.length === 0
        ? 'Failure records: none'
        : `Failure records (one per failure, by redriveCount):\n${table(records, [
            { header: 'count', value: (f) => f.redriveCount },
            { header: 'state', value: (f) => (f.probe ? `${f.state} (probe)` : f.state) },
            { header: 'reason', value: (f) => f.reason },
            { header: 'error', value: (f) => f.errorName },
            { header: 'failed at', value: (f) => f.failedState },
            { header: 'policy', value: (f) => f.policyKey },
            { header: 'due', value: (f) => f.dueAt },
            { header: 'attempts', value: (f) => f.attempts },
            { header: 'held since', value: (f) => f.heldAt },
            { header: 'updated', value: (f) => f.updatedAt },
          ])}${records
            .filter((f) => f.fate !== null)
            .map((f) => `\nHeld failure ${f.redriveCount}: ${f.fate}`)
            .join('')}${answerLines(records)}`,
    );
    if (breakers.length) {
      parts.push(
        `Breakers:\n${table(breakers, [
          { header: 'group', value: (b) => b.group },
          { header: 'status', value: (b) => (b.closeReason && b.status !== 'open' ? `${b.status} (${b.closeReason})` : b.status) },
          { header: 'opened', value: (b) => b.openedAt },
          { header: 'opened by', value: (b) => openedByWords(b.openedBy) },
          { header: 'failed probes', value: (b) => b.failedProbes },
          { header: 'probe', value: (b) => b.probeWait },
        ])}`,
      );
    }
    return parts.join('\n\n');
  });
}

export function explainCommand(): Command {
  return new Command('explain')
    .description("show why the controller did what it did to one execution: decisions (held, probe, release included), failure records, breakers, current status")
    .argument('<executionArn>', 'the execution ARN')
    .addHelpText(
      'after',
      `
Decisions are kept for the audit retention (30 days by default).

Examples:
  redrivectl explain arn:aws:states:us-east-1:123456789012:execution:orders:run-42
  redrivectl explain arn:aws:states:us-east-1:123456789012:execution:orders:run-42 -o json | jq '.decisions[-1]'`,
    )
    .action(withContext(explain));
}
