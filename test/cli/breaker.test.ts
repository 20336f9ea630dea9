/**
 * redrivectl and the outage breaker: status lists open breakers, explain shows held /
 * probe / release decisions, release lets a person release held failures (one execution,
 * or a state machine's, with confirmation; through the controller's limiter and audit
 * trail), and policy get / put show and change the breaker settings.
 */
import { handleStatusChange } from '../../lambda/event-path';
import type { StepBehaviour } from '../../local/sfn';
import { type CliEnv, createMachine, expectOneErrorLine, parseJson, runCli, startCliEnv, startExecution } from './helpers';

jest.setTimeout(120_000);

const TASK = 'arn:aws:lambda:us-east-1:123456789012:function:payments';
const ERROR = 'Lambda.ServiceException';

let h: CliEnv;
const cli = (...args: string[]) => runCli(args, h.env);
const world = { down: true };
const downstream: StepBehaviour = () => (world.down ? { ok: false, error: ERROR, cause: 'payments API 503' } : { ok: true });

beforeAll(async () => {
  h = await startCliEnv();
});
afterAll(async () => h.stop());

async function outage(name: string, n: number): Promise<{ sm: string; arns: string[] }> {
  world.down = true;
  const sm = await createMachine(h.local, name, TASK);
  h.local.standIn.setBehaviour(TASK, downstream);
  const arns: string[] = [];
  for (let i = 0; i < n; i++) {
    arns.push(await startExecution(h.local, sm, `${name}-${i}`));
    await h.local.settle();
  }
  return { sm, arns };
}

test('an open breaker: status lists it, explain shows the hold; release of one execution and then of the state machine', async () => {
  await h.local.putPolicy({ stateMachine: '*', intervalSeconds: 0 });
  const { sm, arns } = await outage('payments', 7);
  const [open] = await h.local.deps.breakers.active();
  expect(open.state.status).toBe('open');
  const held = (await Promise.all(arns.map(async (a) => ((await h.local.deps.ledger.failuresOf(a)).some((f) => f.state === 'held') ? a : undefined)))).filter(Boolean) as string[];
  expect(held.length).toBeGreaterThanOrEqual(3);

  const status = await cli('status');
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/Open breakers:\s+1/);
  expect(status.stdout).toMatch(new RegExp(`Held failures:\\s+${held.length} by breakers, 0 after exhaustion`));
  expect(status.stdout).toContain(`${sm}   ${ERROR}   open`);
  const json = parseJson(await cli('status', '-o', 'json')) as { breakers: Array<Record<string, unknown>> };
  expect(json.breakers).toEqual([expect.objectContaining({ stateMachineArn: sm, errorName: ERROR, status: 'open', held: held.length, failedProbes: 0, probe: null })]);

  const explain = await cli('explain', held.at(-1)!);
  expect(explain.code).toBe(0);
  expect(explain.stdout).toMatch(/event\s+.*\s+hold\s+breaker-open\s+\*\s+held/);
  expect(explain.stdout).toMatch(/Breakers \(held failures are released when a probe succeeds; redrivectl release\):/);
  expect(explain.stdout).toContain(`${sm} / ${ERROR}   open`);

  // Without a terminal and without --yes nothing changes.
  const refused = await cli('release', held[0]);
  expectOneErrorLine(refused, 'release: refusing to change anything without confirmation');
  expect(refused.code).toBe(2);

  world.down = false;
  const one = parseJson(await cli('release', held[0], '--yes', '-o', 'json')) as { outcomes: Array<Record<string, unknown>> };
  expect(one.outcomes).toEqual([expect.objectContaining({ executionArn: held[0], decision: 'redrive', reason: 'release', action: 'redriven' })]);
  await h.local.settle();
  expect(h.local.standIn.getExecution(held[0])?.status).toBe('SUCCEEDED');
  // The breaker itself is still open (one execution released by hand says nothing about the rest).
  expect((await h.local.deps.breakers.read({ stateMachineArn: sm, errorName: ERROR })).status).toBe('open');

  const all = await cli('release', '--state-machine', sm, '--yes', '-o', 'json');
  expect(all.code).toBe(0);
  expect(all.stderr).toContain(`breaker ${sm} / ${ERROR}: open, ${held.length - 1} held (it stops holding: released by hand)`);
  const report = parseJson(all) as { summary: { released: number; redriven: number } };
  expect(report.summary).toMatchObject({ released: held.length - 1, redriven: held.length - 1 });
  await h.local.settle();
  for (const a of held) expect(h.local.standIn.getExecution(a)?.status).toBe('SUCCEEDED');
  expect((await h.local.deps.breakers.read({ stateMachineArn: sm, errorName: ERROR })).closeReason).toBe('released-by-hand');
  const trail = await h.local.deps.audit.trail(held[1]);
  expect(trail.at(-1)).toMatchObject({ source: 'release', decision: 'redrive', reason: 'release', action: 'redriven' });

  const nothing = await cli('release', held[1], '--yes');
  expectOneErrorLine(nothing, 'has no held failure');
});

test('hold after exhaustion: a person releases it past maxRedrives', async () => {
  await h.local.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 0, onExhausted: 'hold', breaker: { enabled: false } });
  const { arns } = await outage('ledger', 1);
  expect(await h.local.deps.ledger.get(arns[0], 0)).toMatchObject({ state: 'held', reason: 'exhausted' });
  const status = await cli('status');
  expect(status.stdout).toMatch(/Held failures:\s+0 by breakers, 1 after exhaustion \(redrivectl release\)/);
  world.down = false;
  const r = parseJson(await cli('release', arns[0], '--yes', '-o', 'json')) as { outcomes: Array<Record<string, unknown>> };
  expect(r.outcomes).toEqual([expect.objectContaining({ decision: 'redrive', reason: 'release', action: 'redriven', redriveCount: 0 })]);
  await h.local.settle();
  expect(h.local.standIn.getExecution(arns[0])?.status).toBe('SUCCEEDED');
});

test('release while paused: refused (who, since when, why; resume first), nothing changes; status counts parked failures', async () => {
  await h.local.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 0, onExhausted: 'hold', breaker: { enabled: false } });
  const { sm, arns } = await outage('frozen', 2);
  const before = await Promise.all(arns.map((a) => h.local.deps.ledger.get(a, 0)));
  expect(before.map((r) => r?.state)).toEqual(['held', 'held']);
  expect((await cli('pause', '--reason', 'INC-9 freeze')).code).toBe(0);
  try {
    for (const args of [[arns[0]], ['--state-machine', sm]]) {
      const r = await cli('release', ...args, '--yes');
      expectOneErrorLine(r, 'release: refused: the controller is paused by', 'since 20', '(INC-9 freeze)', 'nothing was released', 'Run redrivectl resume first');
      expect(r.code).toBe(1);
    }
    expect(await Promise.all(arns.map((a) => h.local.deps.ledger.get(a, 0)))).toEqual(before);
    // A duplicate delivery of a held failure while paused is decided `paused`: parked, counted by status.
    const event = [...h.local.standIn.events].reverse().find((e) => e.detail.executionArn === arns[0] && e.detail.status === 'FAILED');
    h.local.deps.policies.invalidate();
    await handleStatusChange(structuredClone(event), h.local.deps);
    const status = parseJson(await cli('status', '-o', 'json')) as { parked: { count: number; families: unknown[] } };
    expect(status.parked).toEqual({ count: 1, families: [{ reason: 'paused', stateMachineArn: sm, count: 1 }] });
    expect((await cli('status')).stdout).toMatch(/Parked failures:\s+1 \(paused 1\): decided again when that changes/);
  } finally {
    expect((await cli('resume')).code).toBe(0);
  }
});

test('bad arguments: one error line, exit 2', async () => {
  for (const [args, fragment] of [
    [['release'], 'give one execution ARN, or --state-machine'],
    [['release', 'arn:aws:states:us-east-1:123456789012:execution:x:y', '--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:x'], 'not both'],
    [['release', 'not-an-arn', '--yes'], 'is not a Step Functions execution ARN'],
    [['release', '--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:x', '--rate', '0', '--yes'], "--rate '0'"],
  ] as const) {
    const r = await cli(...args);
    expectOneErrorLine(r, fragment);
    expect(r.code).toBe(2);
  }
});

test('policy get shows the effective breaker settings; put changes one setting; a bad value names the field and flag', async () => {
  await h.local.putPolicy({ stateMachine: '*', intervalSeconds: 0 });
  const get = await cli('policy', 'get', '*');
  expect(get.stdout).toMatch(/breaker\.enabled\s+true\s+default/);
  expect(get.stdout).toMatch(/breaker\.threshold\s+20\s+default/);
  expect(get.stdout).toMatch(/onExhausted\s+skip\s+default/);

  expect((await cli('policy', 'put', '*', '--breaker', 'false', '--yes')).code).toBe(0);
  expect((await cli('policy', 'put', '*', '--breaker-threshold', '10', '--yes')).code).toBe(0);
  const after = parseJson(await cli('policy', 'get', '*', '-o', 'json')) as { item: Record<string, unknown>; effective: Record<string, unknown> };
  expect(after.item.breaker).toEqual({ enabled: false, threshold: 10 });
  expect(after.effective.breaker).toMatchObject({ enabled: false, threshold: 10, redriveFailureThreshold: 2, windowSeconds: 300 });
  const text = await cli('policy', 'get', '*');
  expect(text.stdout).toMatch(/breaker\.enabled\s+false\s+stored/);
  expect(text.stdout).toMatch(/breaker\.windowSeconds\s+300\s+default/);

  const bad = await cli('policy', 'put', '*', '--breaker-threshold', '1', '--yes');
  expectOneErrorLine(bad, 'breaker.threshold (--breaker-threshold)', 'must be from 2 to 100000');
  const badAgain = await cli('policy', 'put', '*', '--breaker-redrive-failure-threshold', '1', '--yes');
  expectOneErrorLine(badAgain, 'breaker.redriveFailureThreshold (--breaker-redrive-failure-threshold)', 'must be from 2 to 100000');
  const unset = await cli('policy', 'put', '*', '--unset', 'breaker.threshold', '--yes', '-o', 'json');
  expect(unset.code).toBe(0);
  expect((await h.local.deps.policies.refresh(Date.now())).policies.get('*')).toMatchObject({ ok: true, policy: { breaker: { enabled: false, threshold: 20 } } });
});
