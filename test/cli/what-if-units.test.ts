/**
 * what-if's parts on their own: the token bucket and its back-off, the paced client
 * against a throttling stand-in, the state count, the report's arithmetic and table, the
 * checkpoint, and a proposed file's validation.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateStateMachineCommand, DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DescribedExecution } from '../../lambda/act/step-functions';
import { type LocalEnvironment, startLocal } from '../../local/environment';
import { CliError } from '../../cli/errors';
import { Checkpoint, checkpointKey, type CheckpointArgs } from '../../cli/what-if/checkpoint';
import { countStates } from '../../cli/what-if/lister';
import { readProposedPolicies, stillRedrivable, type Verdict } from '../../cli/what-if/planner';
import { pacedClient, TokenBucket } from '../../cli/what-if/quota';
import { renderTable, summarize, totalsOf } from '../../cli/what-if/report';

const DAY = 86_400_000;
const dir = mkdtempSync(path.join(os.tmpdir(), 'what-if-units-'));

/** Virtual time: sleeping moves the clock. */
function virtualTime() {
  let t = 1_000_000;
  const slept: number[] = [];
  return { clock: () => t, sleep: async (ms: number) => void (slept.push(ms), (t += ms)), slept, at: () => t };
}

describe('TokenBucket', () => {
  test('a burst at once, then one call per 1/rate; a throttle stops it for 1 s, 2 s, ... and a success resets that', async () => {
    const v = virtualTime();
    const b = new TokenBucket(4, 2, v.clock, v.sleep);
    const start = v.at();
    for (let i = 0; i < 6; i++) await b.take();
    // 2 from the burst, 4 more at 4/s: one second.
    expect(v.at() - start).toBe(1000);
    b.throttled();
    const t0 = v.at();
    await b.take();
    expect(v.at() - t0).toBeGreaterThanOrEqual(1000);
    b.throttled();
    b.throttled();
    const t1 = v.at();
    await b.take();
    expect(v.at() - t1).toBeGreaterThanOrEqual(4000);
    b.succeeded();
    b.throttled();
    const t2 = v.at();
    await b.take();
    expect(v.at() - t2).toBeLessThan(2000);
  });

  test('concurrent takers are served one at a time at the rate', async () => {
    const v = virtualTime();
    const b = new TokenBucket(10, 1, v.clock, v.sleep);
    const start = v.at();
    await Promise.all(Array.from({ length: 11 }, () => b.take()));
    expect(v.at() - start).toBe(1000);
  });
});

describe('pacedClient against a throttling stand-in', () => {
  let local: LocalEnvironment;
  beforeAll(async () => {
    // One DescribeExecution token, refilled at 2/s: what-if at 100/s is throttled and must back off.
    local = await startLocal({ detachBus: true, standIn: { throttle: { DescribeExecution: { bucketSize: 1, refillPerSecond: 2 } } } });
  });
  afterAll(() => local.stop());

  test('every call succeeds in the end; attempts and throttles are counted', async () => {
    const sm = await local.sfn.send(new CreateStateMachineCommand({ name: 'paced', roleArn: 'arn:aws:iam::123456789012:role/r', definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Succeed' } } }) }));
    const ex = await local.sfn.send(new StartExecutionCommand({ stateMachineArn: sm.stateMachineArn! }));
    const paced = pacedClient({ describe: 100, list: 100 });
    for (let i = 0; i < 4; i++) await paced.client.send(new DescribeExecutionCommand({ executionArn: ex.executionArn! }));
    expect(paced.throttles.DescribeExecution).toBeGreaterThan(0);
    expect(paced.calls.DescribeExecution).toBe(4 + paced.throttles.DescribeExecution);
    const served = local.standIn.calls.filter((c) => c.op === 'DescribeExecution');
    expect(served.filter((c) => c.outcome === 'ok')).toHaveLength(4);
    expect(served).toHaveLength(paced.calls.DescribeExecution);
    paced.client.destroy();
  }, 60_000);
});

test('countStates: top-level, Parallel branches and Map processors; not JSON is 0', () => {
  const def = {
    StartAt: 'A',
    States: {
      A: { Type: 'Pass', Next: 'P' },
      P: { Type: 'Parallel', Branches: [{ StartAt: 'B', States: { B: { Type: 'Pass', End: true } } }, { StartAt: 'C', States: { C: { Type: 'Task', End: true }, D: { Type: 'Succeed' } } }], Next: 'M' },
      M: { Type: 'Map', ItemProcessor: { StartAt: 'E', States: { E: { Type: 'Task', End: true } } }, End: true },
    },
  };
  expect(countStates(JSON.stringify(def))).toBe(3 + 3 + 1);
  expect(countStates('not json')).toBe(0);
});

const verdict = (over: Partial<Verdict>): Verdict => ({
  executionArn: 'arn:aws:states:us-east-1:123456789012:execution:orders:x',
  stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:orders',
  status: 'FAILED',
  stopDate: 0,
  redriveCount: 0,
  redriveStatus: 'REDRIVABLE',
  error: 'Lambda.ServiceException',
  decision: 'redrive',
  reason: 'no-delay',
  policyKey: '*',
  detail: '',
  stillRedrivable: true,
  ...over,
});

test('summarize and totals: redrive now and later, hold, skips by reason, redrivable now, transitions per redrive', () => {
  const a = summarize('arn:aws:states:us-east-1:123456789012:stateMachine:orders', 4, [
    verdict({}),
    verdict({ decision: 'redrive-later', reason: 'backoff' }),
    verdict({ decision: 'hold', reason: 'breaker-open' }),
    verdict({ decision: 'skip', reason: 'error-not-retryable', stillRedrivable: false }),
    verdict({ decision: 'skip', reason: 'limit-reached' }),
    verdict({ decision: 'skip', reason: 'limit-reached' }),
  ]);
  expect(a).toMatchObject({ failures: 6, wouldRedrive: 2, wouldRedriveNow: 1, wouldRedriveLater: 1, wouldHold: 1, stillRedrivableNow: 5, extraTransitions: 8 });
  expect(Object.entries(a.skipped)).toEqual([['limit-reached', 2], ['error-not-retryable', 1]]);
  const b = summarize('arn:aws:states:us-east-1:123456789012:stateMachine:billing', 2, [verdict({ decision: 'skip', reason: 'error-not-retryable' })]);
  const empty = summarize('arn:aws:states:us-east-1:123456789012:stateMachine:quiet', 9, []);
  const totals = totalsOf([a, b, empty]);
  expect(totals).toMatchObject({ stateMachines: 3, failures: 7, wouldRedrive: 2, extraTransitions: 8 });
  expect(totals.skipped).toEqual({ 'error-not-retryable': 2, 'limit-reached': 2 });

  const text = renderTable({ since: 0, now: DAY, policySource: 'table t' }, [a, b, empty], totals, ['a note']);
  expect(text).toMatch(/orders\s+6\s+2 \(1 after backoff\)\s+1\s+limit-reached 2, error-not-retryable 1\s+5\s+8/);
  expect(text).toMatch(/TOTAL\s+7\s+2 \(1 after backoff\)/);
  expect(text).not.toContain('quiet');
  expect(text).toContain('3 state machine(s), 2 with failures');
  expect(text).toContain('a note');
});

test('stillRedrivable: REDRIVABLE and stopped less than 14 days ago', () => {
  const d = { redriveStatus: 'REDRIVABLE', stopDate: 0 } as DescribedExecution;
  expect(stillRedrivable(d, 14 * DAY - 1)).toBe(true);
  expect(stillRedrivable(d, 14 * DAY)).toBe(false);
  expect(stillRedrivable({ ...d, redriveStatus: 'NOT_REDRIVABLE' }, 1)).toBe(false);
});

describe('Checkpoint', () => {
  const args: CheckpointArgs = { since: '14d', stateMachine: null, policies: 'table p', target: 'us-east-1 ', maxRunHours: 24 };
  const described = (n: number, sm = 'a'): DescribedExecution => ({
    executionArn: `arn:aws:states:us-east-1:123456789012:execution:${sm}:e${n}`,
    stateMachineArn: `arn:aws:states:us-east-1:123456789012:stateMachine:${sm}`,
    name: `e${n}`,
    status: 'FAILED',
    startDate: n,
    stopDate: 100 - n,
    redriveCount: 0,
    redriveDate: null,
    redriveStatus: 'REDRIVABLE',
    redriveStatusReason: null,
    error: 'E',
    cause: null,
  });

  test('keyed by every argument', () => {
    expect(checkpointKey(args)).toBe(checkpointKey({ ...args }));
    for (const change of [{ since: '7d' }, { stateMachine: 'x' }, { policies: 'p#1' }, { target: 'eu-west-1 ' }, { maxRunHours: 48 }]) {
      expect(checkpointKey({ ...args, ...change })).not.toBe(checkpointKey(args));
    }
  });

  test("a new run starts fresh; an interrupted one's clock, window, machines and descriptions come back; --restart and a finished run forget them", () => {
    const file = path.join(dir, 'cp.json');
    const key = checkpointKey(args);
    const first = Checkpoint.open(file, key, { now: 5000, since: 1000 });
    expect(first.resumed).toBe(false);
    first.addDescribed(described(1));
    first.addDescribed(described(2));
    first.addDescribed(described(3, 'b'));
    first.finish('arn:aws:states:us-east-1:123456789012:stateMachine:a', 7);
    first.save();
    expect(readFileSync(file, 'utf8')).not.toContain('cause":"');

    const second = Checkpoint.open(file, key, { now: 9999, since: 8888 });
    expect(second).toMatchObject({ resumed: true, now: 5000, since: 1000 });
    expect(second.stateCountOf('arn:aws:states:us-east-1:123456789012:stateMachine:a')).toBe(7);
    expect(second.isFinished('arn:aws:states:us-east-1:123456789012:stateMachine:b')).toBe(false);
    expect(second.describedOf('arn:aws:states:us-east-1:123456789012:stateMachine:a').map((d) => d.name)).toEqual(['e2', 'e1']);
    expect(second.described(described(3, 'b').executionArn)?.name).toBe('e3');
    expect([second.finishedCount(), second.describedCount()]).toEqual([1, 3]);

    expect(Checkpoint.open(file, key, { now: 1, since: 0 }, { restart: true }).resumed).toBe(false);
    const notes: string[] = [];
    expect(Checkpoint.open(file, 'another-key', { now: 1, since: 0 }, { note: (l) => notes.push(l) }).resumed).toBe(false);
    expect(notes[0]).toContain('from another version or run');
    second.remove();
    expect(Checkpoint.open(file, key, { now: 1, since: 0 }).resumed).toBe(false);
  });

  test('a file that is not JSON is replaced, with a note', () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{"version": 1,');
    const notes: string[] = [];
    expect(Checkpoint.open(file, 'k', { now: 1, since: 0 }, { note: (l) => notes.push(l) }).resumed).toBe(false);
    expect(notes[0]).toContain('not valid JSON');
  });
});

describe('readProposedPolicies', () => {
  const write = (name: string, value: unknown) => {
    const file = path.join(dir, name);
    writeFileSync(file, JSON.stringify(value));
    return file;
  };
  const problem = (file: string) => {
    try {
      readProposedPolicies(file);
    } catch (e) {
      expect(e).toBeInstanceOf(CliError);
      return [(e as CliError).message, ...(e as CliError).more];
    }
    throw new Error('expected a usage error');
  };

  test('one item or an array, validated with the contract schema', () => {
    expect([...readProposedPolicies(write('one.json', { stateMachine: '*', maxRedrives: 1 })).keys()]).toEqual(['*']);
    const two = readProposedPolicies(write('two.json', [{ stateMachine: '*' }, { stateMachine: 'arn:aws:states:us-east-1:123456789012:stateMachine:orders', enabled: false }]));
    expect(two.size).toBe(2);
  });

  test('every problem named by item and field; duplicates, non-objects and an empty list refused', () => {
    const lines = problem(write('bad.json', [{ stateMachine: '*', maxRedrives: -1 }, 'x', { stateMachine: '*' }]));
    expect(lines[0]).toMatch(/bad\.json: item 1 \(\*\): maxRedrives: /);
    expect(lines).toContainEqual(expect.stringMatching(/item 2: must be a JSON object/));
    expect(problem(write('empty.json', []))[0]).toMatch(/no policy items/);
    const dup = problem(write('dup.json', [{ stateMachine: '*' }, { stateMachine: '*' }]));
    expect(dup[0]).toMatch(/item 2 \(\*\): the same key as an earlier item/);
  });
});
