/**
 * redrivectl what-if on a seeded history (local/seed-history.ts: 200 failures over 20
 * state machines here, the bench seeds 1,000): its per-execution verdicts are what the
 * controller then decides when the same failures' events reach it; a proposed policy file
 * shows its difference; nothing is written; an interrupted run resumes where it stopped.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { handleStatusChange } from '../../lambda/event-path';
import { LOCAL_TABLES } from '../../local/environment';
import { type SeededHistory, seedHistory, ShiftableClock } from '../../local/seed-history';
import { type CliEnv, expectOneErrorLine, parseJson, runCli, startCli, startCliEnv, tableItems } from './helpers';

const DAY = 86_400_000;
const FAST = ['--describe-rate', '100000', '--list-rate', '100000', '--history-rate', '100000'];

interface Verdict {
  executionArn: string;
  stateMachineArn: string;
  status: string;
  decision: string;
  reason: string;
  stillRedrivable: boolean;
}
interface Report {
  resumed: { executions: number } | null;
  calls: Record<string, number>;
  totals: { stateMachines: number; failures: number; wouldRedrive: number; wouldHold: number; skipped: Record<string, number>; stillRedrivableNow: number; extraTransitions: number };
  stateMachines: Array<{ stateMachineArn: string; failures: number; wouldRedrive: number; stateCount: number; extraTransitions: number }>;
  executions: Verdict[];
}

let h: CliEnv;
let history: SeededHistory;
let dir: string;
let current: Report;
const clock = new ShiftableClock();
const cli = (...args: string[]) => runCli(args, h.env);
const verdictsOf = (r: Report) => new Map(r.executions.map((v) => [v.executionArn, `${v.decision}:${v.reason}`]));

beforeAll(async () => {
  // detachBus: the controller sees nothing until the test feeds it the failures' events.
  h = await startCliEnv({ detachBus: true, standIn: { clock: clock.now }, config: { describeRatePerSecond: 10_000 } });
  history = await seedHistory({ sfn: h.local.sfn, standIn: h.local.standIn, clock, failures: 200 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'what-if-test-'));
  // Breaker off: what-if reads a breaker's state but cannot foresee one opening (docs/cli.md).
  await h.local.putPolicy({ stateMachine: '*', maxRedrives: 2, breaker: { enabled: false } });
  await h.local.putPolicy({ stateMachine: history.stateMachineArns[4], enabled: false });
}, 120_000);
afterAll(() => h.stop());

test('the seeded history: 20 state machines, every kind of failure, some outside the window, a long run that started before it', () => {
  expect(history.stateMachineArns).toHaveLength(20);
  const kinds = new Set(history.executions.map((e) => e.kind));
  expect(kinds).toEqual(new Set(['retryable', 'runtime', 'timed-out', 'aborted', 'redriven', 'long-run', 'old']));
  expect(history.inWindow).toBe(200);
  expect(history.executions.some((e) => e.kind === 'long-run' && e.stopDate - 12 * 3_600_000 < Date.now() - 14 * DAY)).toBe(true);
  const statuses = new Set(history.executions.map((e) => h.local.standIn.getExecution(e.executionArn)!.status));
  expect(statuses).toEqual(new Set(['FAILED', 'TIMED_OUT', 'ABORTED']));
});

test('bad input: one line, exit 2', async () => {
  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify([{ stateMachine: '*', maxRedrives: -1 }]));
  const cases: Array<[string[], string]> = [
    [['what-if', '--since', 'last week'], "what-if: --since 'last week' is neither a duration"],
    [['what-if', '--policies', bad], `${bad}: item 1 (*): maxRedrives:`],
    [['what-if', '--state-machine', 'orders'], "what-if: --state-machine 'orders' is not a state machine ARN"],
    [['what-if', '--describe-rate', '0'], "what-if: --describe-rate '0' must be a number above 0"],
    [['what-if', '--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:nope', ...FAST], 'what-if: --state-machine arn:aws:states:us-east-1:123456789012:stateMachine:nope: no such state machine'],
  ];
  for (const [args, fragment] of cases) {
    const r = await cli(...args);
    expectOneErrorLine(r, fragment);
    expect(r.code).toBe(2);
  }
});

test('current policies: every failure of the window once, decided, paced and counted; nothing written', async () => {
  const ledgerBefore = await tableItems(h.local, LOCAL_TABLES.ledger);
  const r = await cli('what-if', '--since', '14d', ...FAST, '--state-file', path.join(dir, 'current.json'), '-o', 'json');
  expect(r.code).toBe(0);
  current = parseJson(r) as unknown as Report;
  const inWindow = history.executions.filter((e) => e.kind !== 'old').map((e) => e.executionArn);
  expect(current.executions.map((v) => v.executionArn).sort()).toEqual(inWindow.sort());
  expect(current.totals).toMatchObject({ stateMachines: 20, failures: 200, stillRedrivableNow: 200 });
  expect(current.calls.DescribeExecution).toBe(200);
  // One page per status per state machine (FAILED, TIMED_OUT, ABORTED).
  expect(current.calls.ListExecutions).toBe(60);
  const by = (e: { executionArn: string }) => current.executions.find((v) => v.executionArn === e.executionArn)!;
  for (const e of history.executions.filter((x) => x.kind !== 'old' && x.stateMachineArn !== history.stateMachineArns[4])) {
    const v = by(e);
    if (e.kind === 'runtime') expect(v.reason).toBe('error-not-retryable');
    if (e.kind === 'aborted') expect(v.reason).toBe('status-not-covered');
    if (e.kind === 'redriven' && e.redriveCount === 2) expect(v.reason).toBe('limit-reached');
    if (e.kind === 'retryable' || e.kind === 'timed-out' || e.kind === 'long-run') expect(v.decision).toBe('redrive');
  }
  expect(current.executions.filter((v) => v.stateMachineArn === history.stateMachineArns[4]).every((v) => v.reason === 'policy-disabled')).toBe(true);
  // The estimate: states in the definition per redrive.
  for (const m of current.stateMachines) expect(m.extraTransitions).toBe(m.wouldRedrive * m.stateCount);
  expect(existsSync(path.join(dir, 'current.json'))).toBe(false);
  expect(await tableItems(h.local, LOCAL_TABLES.ledger)).toBe(ledgerBefore);
  expect(h.local.standIn.redrives.length).toBe(history.executions.reduce((n, e) => n + e.redriveCount, 0));

  const table = await cli('what-if', ...FAST);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/TOTAL\s+200\s+/);
  expect(table.stdout).toContain('error-not-retryable');
}, 120_000);

test('interrupted with Ctrl-C, the same command continues from the checkpoint and describes only the rest', async () => {
  const stateFile = path.join(dir, 'resume.json');
  const args = ['what-if', '--describe-rate', '40', '--list-rate', '100000', '--state-file', stateFile, '-o', 'json'];
  const first = startCli(args, h.env);
  // The first save comes after two seconds of describing, or at the first state machine's end.
  while (!existsSync(stateFile) && first.child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
  first.child.kill('SIGINT');
  const stopped = await first.done;
  expect(stopped.code).toBe(130);
  expect(stopped.stderr).toContain('run the same command again to continue');

  const second = await cli(...args);
  expect(second.code).toBe(0);
  expect(second.stderr).toContain('what-if: resuming the run started');
  const resumed = parseJson(second) as unknown as Report;
  expect(resumed.resumed!.executions).toBeGreaterThan(0);
  expect(resumed.calls.DescribeExecution).toBe(200 - resumed.resumed!.executions);
  expect(verdictsOf(resumed)).toEqual(verdictsOf(current));
  expect(existsSync(stateFile)).toBe(false);
}, 120_000);

test('a proposed policy file: its difference, decided the same way', async () => {
  const file = path.join(dir, 'proposed.json');
  writeFileSync(file, JSON.stringify([{ stateMachine: '*', maxRedrives: 2, errorEquals: ['Lambda.ServiceException'], breaker: false }]));
  const r = await cli('what-if', ...FAST, '--policies', file, '-o', 'json');
  expect(r.code).toBe(0);
  const proposed = parseJson(r) as unknown as Report;
  expect(proposed.totals.failures).toBe(200);
  expect(proposed.totals.wouldRedrive).toBeLessThan(current.totals.wouldRedrive);
  expect(proposed.totals.skipped['error-not-matched']).toBeGreaterThan(0);
  expect(proposed.totals.skipped['policy-disabled']).toBeUndefined();
  const before = verdictsOf(current);
  const after = verdictsOf(proposed);
  const taskFailed = history.executions.find((e) => e.kind === 'retryable' && e.error === 'States.TaskFailed' && e.stateMachineArn !== history.stateMachineArns[4])!;
  expect(before.get(taskFailed.executionArn)).toBe('redrive:no-delay');
  expect(after.get(taskFailed.executionArn)).toBe('skip:error-not-matched');

  // Before the first deploy (no tables): the file alone, no history; here the ledger is empty anyway.
  const { AUTO_REDRIVE_POLICY_TABLE, AUTO_REDRIVE_LEDGER_TABLE, ...undeployed } = h.env;
  void [AUTO_REDRIVE_POLICY_TABLE, AUTO_REDRIVE_LEDGER_TABLE];
  const alone = await runCli(['what-if', ...FAST, '--policies', file, '-o', 'json'], undeployed);
  expect(alone.code).toBe(0);
  expect(verdictsOf(parseJson(alone) as unknown as Report)).toEqual(after);
  expectOneErrorLine(await runCli(['what-if', ...FAST], undeployed), 'policy table: not set');
}, 120_000);

test('a proposed state-scoped policy: each failure at the excluded state is skipped state-excluded (its history read), deployed or not', async () => {
  const file = path.join(dir, 'state-scoped.json');
  writeFileSync(file, JSON.stringify([{ stateMachine: '*', maxRedrives: 2, neverAtStates: ['Work'], breaker: false }]));
  const failedAtWork = history.executions.find((e) => e.kind === 'retryable' && e.stateMachineArn !== history.stateMachineArns[4])!;
  for (const env of [h.env, (({ AUTO_REDRIVE_POLICY_TABLE, AUTO_REDRIVE_LEDGER_TABLE, ...rest }) => (void [AUTO_REDRIVE_POLICY_TABLE, AUTO_REDRIVE_LEDGER_TABLE], rest))(h.env)]) {
    const r = await runCli(['what-if', ...FAST, '--policies', file, '-o', 'json'], env);
    expect(r.code).toBe(0);
    const report = parseJson(r) as unknown as Report;
    expect(verdictsOf(report).get(failedAtWork.executionArn)).toBe('skip:state-excluded');
    expect(report.totals.skipped['state-excluded']).toBeGreaterThan(0);
  }
}, 120_000);

test('the controller, fed the same failures as events, decides what what-if said, execution by execution', async () => {
  const said = verdictsOf(current);
  const decided = new Map<string, string>();
  for (const arn of said.keys()) {
    const last = [...h.local.standIn.events].reverse().find((e) => e.detail.executionArn === arn)!;
    const outcome = await handleStatusChange(last, h.local.deps);
    decided.set(arn, `${outcome.decision.decision}:${outcome.decision.reason}`);
  }
  expect(decided).toEqual(said);
  // And it did redrive them: what-if's "would redrive" is the controller's redrives.
  expect(current.totals.wouldRedrive).toBeGreaterThan(100);
}, 180_000);
