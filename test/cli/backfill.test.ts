/**
 * redrivectl backfill: failures the controller never saw (bus detached), a policy added
 * afterwards, a run interrupted with Ctrl-C halfway, and a rerun that finishes the job
 * with every execution redriven exactly once.
 */
import { LOCAL_TABLES } from '../../local/environment';
import { type CliEnv, createMachine, expectOneErrorLine, parseJson, runCli, startCli, startCliEnv, startExecution, tableItems } from './helpers';

const TASK = 'arn:aws:lambda:us-east-1:123456789012:function:backfilled';
const COUNT = 20;

let h: CliEnv;
let machine: string;
const executions: string[] = [];
const cli = (...args: string[]) => runCli(args, h.env);

beforeAll(async () => {
  // detachBus: the controller never sees these failures, as if they happened before it was deployed.
  h = await startCliEnv({ detachBus: true });
  machine = await createMachine(h.local, 'orders-backfill', TASK);
  // Fails once; the redrive succeeds, so a redriven execution is never listed again.
  h.local.standIn.setBehaviour(TASK, { kind: 'fail-times', times: 1, error: 'Lambda.ServiceException' });
  for (let i = 0; i < COUNT; i++) executions.push(await startExecution(h.local, machine, `order-${String(i).padStart(2, '0')}`));
  await h.local.standIn.idle();
});
afterAll(() => h.stop());

test('no policy yet: nothing to backfill; bad input is one line and exit 2', async () => {
  const r = await cli('backfill', '--state-machine', machine, '--since', '1h', '--dry-run');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('no state machine with a policy matches');

  const cases: Array<[string[], string]> = [
    [['backfill', '--state-machine', machine, '--since', 'yesterday', '--dry-run'], "--since 'yesterday' is neither a duration"],
    [['backfill', '--state-machine', machine, '--since', '1h', '--rate', '0', '--yes'], "--rate '0' must be a number"],
    [['backfill', '--state-machine', 'arn:aws:states:us-east-1:12345678901:stateMachine:orders-*', '--since', '1h', '--dry-run'], "account '12345678901' is not a 12-digit account id"],
    [['backfill', '--state-machine', machine, '--since', '1h'], 'backfill: refusing to change anything without confirmation'],
  ];
  for (const [args, fragment] of cases) {
    const res = await cli(...args);
    expectOneErrorLine(res, fragment);
    expect(res.code).toBe(2);
  }
  expect(h.local.standIn.redrives).toHaveLength(0);
});

test('--dry-run prints the plan and changes nothing', async () => {
  await h.local.putPolicy({ stateMachine: 'arn:aws:states:us-east-1:123456789012:stateMachine:orders-*', intervalSeconds: 0, jitter: 'NONE' });
  const ledgerBefore = await tableItems(h.local, LOCAL_TABLES.ledger);
  const r = await cli('backfill', '--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:orders-*', '--since', '1h', '--dry-run', '-o', 'json');
  expect(r.code).toBe(0);
  const plan = parseJson(r) as { dryRun: boolean; listed: number; outcomes: Array<{ executionArn: string; decision: string; reason: string }> };
  expect(plan).toMatchObject({ dryRun: true, listed: COUNT, stateMachines: 1 });
  expect(plan.outcomes).toHaveLength(COUNT);
  expect(new Set(plan.outcomes.map((o) => `${o.decision}:${o.reason}`))).toEqual(new Set(['redrive:no-delay']));
  expect(plan.outcomes.map((o) => o.executionArn).sort()).toEqual([...executions].sort());
  expect(r.stderr).toMatch(/dry run: 20\/20 failures, 20 to redrive/);
  expect(h.local.standIn.redrives).toHaveLength(0);
  expect(await tableItems(h.local, LOCAL_TABLES.ledger)).toBe(ledgerBefore);
}, 60_000);

test('Ctrl-C halfway stops after the redrive in flight (exit 130); a rerun finishes; every execution redriven exactly once', async () => {
  const run = startCli(['backfill', '--state-machine', machine, '--since', '1h', '--rate', '2', '--yes'], h.env);
  await run.waitForStderr(/backfill: \d+\/20 failures, [3-9] redriven/);
  run.child.kill('SIGINT');
  const first = await run.done;
  expect(first.code).toBe(130);
  expect(first.stderr).toContain('stopping after the failure in flight');
  expectOneErrorLine({ ...first, stderr: first.stderr.split('\n').filter((l) => l.startsWith('redrivectl: ')).join('\n') }, 'backfill: interrupted after');
  const doneFirst = h.local.standIn.redrives.length;
  expect(doneFirst).toBeGreaterThanOrEqual(3);
  expect(doneFirst).toBeLessThan(COUNT);
  // What was done is printed: one row per failure decided, each redriven.
  expect(first.stdout.match(/\sredrive\s+no-delay\s+redriven\s/g)).toHaveLength(doneFirst);
  expect(first.stdout).toContain('done: 1 state machine(s)');

  await h.local.standIn.idle();
  const second = await cli('backfill', '--state-machine', machine, '--since', '1h', '--rate', '20', '--yes', '-o', 'json');
  expect(second.code).toBe(0);
  const report = parseJson(second) as { stopped: boolean; summary: { redriven: number } };
  expect(report).toMatchObject({ stopped: false, summary: { redriven: COUNT - doneFirst } });

  await h.local.standIn.idle();
  const perExecution = new Map<string, number>();
  for (const r of h.local.standIn.redrives) perExecution.set(r.executionArn, (perExecution.get(r.executionArn) ?? 0) + 1);
  expect([...perExecution.keys()].sort()).toEqual([...executions].sort());
  expect([...perExecution.values()].every((n) => n === 1)).toBe(true);
  for (const arn of executions) expect(h.local.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');

  // Nothing left: a third run lists no failures and redrives nothing.
  const third = await cli('backfill', '--state-machine', machine, '--since', '1h', '--yes');
  expect(third.code).toBe(0);
  expect(third.stdout).toContain('no failures to decide');
  expect(h.local.standIn.redrives).toHaveLength(COUNT);

  // Every decision is in the audit trail with source backfill.
  const trail = await h.local.deps.audit.trail(executions[0]);
  expect(trail).toEqual([expect.objectContaining({ source: 'backfill', decision: 'redrive', action: 'redriven' })]);
}, 90_000);
