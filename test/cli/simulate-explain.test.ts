/** redrivectl simulate (the real fixtures) and explain (after a redrive through the local loop). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LOCAL_TABLES } from '../../local/environment';
import { type CliEnv, createMachine, expectOneErrorLine, FIXTURES, parseJson, runCli, startCliEnv, startExecution, tableItems } from './helpers';

const FIXTURE = (n: string) => path.join(FIXTURES, n);
const F01 = FIXTURE('01-failed-redrivable-count0.json');
const F02 = FIXTURE('02-running-after-redrive-count1.json');
const F04 = FIXTURE('04-failed-after-redrive-count2.json');
const FIXTURE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:MyStateMachine-gddoyum7f';

let h: CliEnv;
let dir: string;
const file = (name: string, content: unknown) => {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
};
const cli = (...args: string[]) => runCli(args, h.env);

beforeAll(async () => {
  h = await startCliEnv();
  dir = mkdtempSync(path.join(tmpdir(), 'redrivectl-simulate-'));
});
afterAll(() => h.stop());

describe('simulate', () => {
  test('fixture 01 with a 60 s policy without jitter: redrive-later in 60 s, decided at the event time', async () => {
    const policy = file('p60.json', { stateMachine: '*', intervalSeconds: 60, jitter: 'NONE' });
    const r = await cli('simulate', '--event', F01, '--policy', policy, '--output', 'json');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = parseJson(r);
    expect(out).toMatchObject({
      decision: 'redrive-later',
      reason: 'backoff',
      policyKey: '*',
      delaySeconds: 60,
      redriveCount: 0,
      errorName: 'Lambda.AWSLambdaException',
      now: '2023-11-16T06:38:03.000Z',
    });
    // Backoff counts from the stop date (06:38:02.923Z).
    expect(out.dueAt).toBe('2023-11-16T06:39:02.923Z');
    expect(typeof out.detail).toBe('string');
  });

  test('fixture 04 (redriveCount 2) with maxRedrives 2: skip limit-reached; --now moves the clock', async () => {
    const policy = file('max2.json', { stateMachine: FIXTURE_MACHINE, maxRedrives: 2 });
    const r = await cli('simulate', '--event', F04, '--policy', policy, '-o', 'json');
    expect(parseJson(r)).toMatchObject({ decision: 'skip', reason: 'limit-reached', policyKey: FIXTURE_MACHINE, redriveCount: 2 });

    const later = file('p0.json', { stateMachine: 'arn:aws:states:us-east-1:123456789012:stateMachine:MyStateMachine-*', intervalSeconds: 60, jitter: 'NONE' });
    const r2 = await cli('simulate', '--event', F01, '--policy', later, '--now', '2023-11-16T06:45:00Z', '-o', 'json');
    expect(parseJson(r2)).toMatchObject({ decision: 'redrive', reason: 'no-delay', now: '2023-11-16T06:45:00.000Z' });
  });

  test('a policy for another state machine: no-policy; a RUNNING event from stdin: status-not-covered; table output', async () => {
    const other = file('other.json', { stateMachine: 'arn:aws:states:us-east-1:123456789012:stateMachine:other' });
    const r = await cli('simulate', '--event', F01, '--policy', other, '-o', 'json');
    expect(parseJson(r)).toMatchObject({ decision: 'skip', reason: 'no-policy', policyKey: null });

    const r2 = await runCli(['simulate', '--event', '-', '--policy', file('any.json', { stateMachine: '*' })], h.env, readFileSync(F02, 'utf8'));
    expect(r2.code).toBe(0);
    expect(r2.stdout).toMatch(/Decision:\s+skip/);
    expect(r2.stdout).toMatch(/Reason:\s+status-not-covered/);
  });

  test('without --policy: the stored policies and the kill switch (nothing written)', async () => {
    await h.local.putPolicy({ stateMachine: FIXTURE_MACHINE, maxRedrives: 5, intervalSeconds: 0 });
    await h.local.deps.killSwitch.pause('maintenance', 'test', Date.now());
    const ledgerBefore = await tableItems(h.local, LOCAL_TABLES.ledger);
    const r = await cli('simulate', '--event', F01, '-o', 'json');
    expect(parseJson(r)).toMatchObject({ decision: 'skip', reason: 'paused', policyKey: FIXTURE_MACHINE, paused: true });
    expect(await tableItems(h.local, LOCAL_TABLES.ledger)).toBe(ledgerBefore);
    await h.local.deps.killSwitch.resume();
    const r2 = await cli('simulate', '--event', F01, '-o', 'json');
    expect(parseJson(r2)).toMatchObject({ decision: 'redrive', reason: 'no-delay', paused: false });
  });

  test('bad input: one line each, exit 2', async () => {
    const policy = file('ok.json', { stateMachine: '*' });
    const cases: Array<[string[], string[]]> = [
      [['simulate', '--event', file('bad.json', '{"id": "x", '), '--policy', policy], ['bad.json: not valid JSON']],
      [['simulate', '--event', path.join(dir, 'none.json')], ['none.json: cannot read: no such file']],
      [['simulate', '--event', file('notevent.json', { id: 'x', source: 'aws.s3' }), '--policy', policy], ['notevent.json: not a Step Functions status-change event']],
      [['simulate', '--event', F01, '--policy', file('wrong.json', { stateMachine: '*', maxRedrives: 'three' })], ['wrong.json: maxRedrives: must be a number']],
      [['simulate', '--event', F01, '--policy', policy, '--now', 'tomorrow'], ["--now 'tomorrow' is not an ISO 8601 time"]],
      [['simulate', '--policy', policy], ["required option '--event <file|->' not specified"]],
    ];
    for (const [args, fragments] of cases) {
      const r = await cli(...args);
      expectOneErrorLine(r, ...fragments);
      expect(r.code).toBe(2);
    }
  });
});

describe('simulate: state-scoped policies', () => {
  test('--failed-state: at a neverAtStates state skipped state-excluded, elsewhere redriven; the failed state shown', async () => {
    const policy = file('never.json', { stateMachine: '*', intervalSeconds: 0, neverAtStates: ['Charge*'] });
    const excluded = parseJson(await cli('simulate', '--event', F01, '--policy', policy, '--failed-state', 'Call,ChargeAll', '-o', 'json'));
    expect(excluded).toMatchObject({ decision: 'skip', reason: 'state-excluded', failedState: 'Call (in ChargeAll)', failedStateSource: '--failed-state' });
    const r = await cli('simulate', '--event', F01, '--policy', policy, '--failed-state', 'Validate');
    expect(r.stdout).toMatch(/Decision:\s+redrive\n/);
    expect(r.stdout).toMatch(/Failed state:\s+Validate \(--failed-state\)/);
  });

  test('without --failed-state: read from the execution history (here the stand-in); not read for other policies', async () => {
    const TASK = 'arn:aws:lambda:us-east-1:123456789012:function:simulated';
    const machine = await createMachine(h.local, 'simulated', TASK);
    h.local.standIn.setBehaviour(TASK, { kind: 'fail', error: 'Lambda.ServiceException' });
    const arn = await startExecution(h.local, machine, 'sim-1');
    await h.local.standIn.idle();
    const event = h.local.standIn.events.find((e) => e.detail.executionArn === arn && e.detail.status === 'FAILED');
    const eventFile = file('sim-1.json', event);
    const scoped = file('only.json', { stateMachine: '*', intervalSeconds: 0, onlyAtStates: ['Validate'] });
    const out = parseJson(await cli('simulate', '--event', eventFile, '--policy', scoped, '-o', 'json'));
    expect(out).toMatchObject({ decision: 'skip', reason: 'state-not-included', failedState: 'Work', failedStateSource: 'the execution history' });
    const plain = parseJson(await cli('simulate', '--event', eventFile, '--policy', file('plain.json', { stateMachine: '*', intervalSeconds: 0 }), '-o', 'json'));
    expect(plain).toMatchObject({ decision: 'redrive', failedState: null, failedStateSource: 'not needed: the policy is not state-scoped' });
  });
});

describe('explain', () => {
  const TASK = 'arn:aws:lambda:us-east-1:123456789012:function:flaky';

  test('after a redrive through the local loop: decisions, failure records, current status', async () => {
    const machine = await createMachine(h.local, 'explained', TASK);
    h.local.standIn.setBehaviour(TASK, { kind: 'fail-times', times: 1, error: 'Lambda.ServiceException', cause: 'flaky' });
    await h.local.putPolicy({ stateMachine: machine, intervalSeconds: 0, jitter: 'NONE' });
    const arn = await startExecution(h.local, machine, 'run-1');
    await h.local.settle();
    expect(h.local.standIn.redrives.map((r) => r.executionArn)).toContain(arn);

    const j = await cli('explain', arn, '-o', 'json');
    expect(j.code).toBe(0);
    const out = parseJson(j) as {
      current: Record<string, unknown>;
      decisions: Array<Record<string, unknown>>;
      failures: Array<Record<string, unknown>>;
    };
    expect(out.current).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
    expect(out.decisions).toEqual([
      expect.objectContaining({
        source: 'event',
        status: 'FAILED',
        redriveCount: 0,
        decision: 'redrive',
        reason: 'no-delay',
        policyKey: machine,
        action: 'redriven',
        errorName: 'Lambda.ServiceException',
        eventId: expect.any(String),
        time: expect.stringMatching(/^\d{4}-/),
        detail: expect.stringContaining('redrive 1 of 3'),
      }),
    ]);
    expect(out.failures).toEqual([expect.objectContaining({ redriveCount: 0, state: 'redriven', policyKey: machine })]);

    const t = await cli('explain', arn);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/Status:\s+SUCCEEDED/);
    expect(t.stdout).toMatch(/TIME\s+SOURCE\s+EVENT\s+STATUS\s+COUNT\s+DECISION\s+REASON\s+POLICY\s+ACTION\s+DUE\s+DETAIL/);
    expect(t.stdout).toMatch(/event\s+\S+\s+FAILED\s+0\s+redrive\s+no-delay/);
    expect(t.stdout).toMatch(/0\s+redriven\s+redriven\s+Lambda.ServiceException/);
  });

  test('a failure skipped by a state-scoped policy: the failed state in its record', async () => {
    const machine = await createMachine(h.local, 'scoped', TASK);
    h.local.standIn.setBehaviour(TASK, { kind: 'fail-times', times: 1, error: 'Lambda.ServiceException', cause: 'flaky' });
    await h.local.putPolicy({ stateMachine: machine, intervalSeconds: 0, neverAtStates: ['Work'] });
    const arn = await startExecution(h.local, machine, 'scoped-1');
    await h.local.settle();
    const out = parseJson(await cli('explain', arn, '-o', 'json')) as { failures: Array<Record<string, unknown>> };
    expect(out.failures).toEqual([expect.objectContaining({ state: 'skipped', reason: 'state-excluded', failedState: 'Work' })]);
    const t = await cli('explain', arn);
    expect(t.stdout).toMatch(/COUNT\s+STATE\s+REASON\s+ERROR\s+FAILED AT\s+POLICY/);
    expect(t.stdout).toMatch(/0\s+skipped\s+state-excluded\s+Lambda.ServiceException\s+Work\s/);
  });

  test('malformed ARN: exit 2; unknown execution: exit 1', async () => {
    const bad = await cli('explain', 'arn:aws:states:us-east-1:1234:execution:x:y');
    expectOneErrorLine(bad, "explain: 'arn:aws:states:us-east-1:1234:execution:x:y' is not a Step Functions execution ARN");
    expect(bad.code).toBe(2);
    const unknown = await cli('explain', 'arn:aws:states:us-east-1:123456789012:execution:nothing:here');
    expectOneErrorLine(unknown, 'no decisions recorded and Step Functions does not know this execution');
    expect(unknown.code).toBe(1);
  });
});
