/**
 * redrivectl and the outage breaker: status lists open breakers, explain shows held /
 * probe / release decisions, release lets a person release held failures (one execution,
 * or a state machine's, with confirmation; through the controller's limiter and audit
 * trail), and policy get / put show and change the breaker settings.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { parsePolicyItem } from '../../contract/policy-schema';
import { probeWait } from '../../contract/probe-wait';
import { LAST_REDRIVE_WAIT_INTERVALS } from '../../lambda/breaker/probe-choice';
import { CLOSED_STATE } from '../../lambda/decide/breaker';
import type { FailureRecord } from '../../lambda/record/failure-ledger';
import { handleStatusChange } from '../../lambda/event-path';
import { probeWaitFacts } from '../../cli/breakers';
import type { StepBehaviour } from '../../local/sfn';
import { OPENS_AT_ONCE } from '../support/local';
import { type CliEnv, expectOneErrorLine, machineWithExecutions, parseJson, runCli, startCliEnv } from './helpers';

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
  return machineWithExecutions(h.local, name, TASK, downstream, n);
}

test('an open breaker: status lists it, explain shows the hold; a released execution that succeeds closes it (redrive-succeeded); release of the state machine releases the rest', async () => {
  await h.local.putPolicy({ stateMachine: '*', intervalSeconds: 0, breaker: OPENS_AT_ONCE });
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
  // Which signal opened it, since when its failures are held, what the next probe waits for: in the table.
  expect(status.stdout).toMatch(/OPENED BY\s+HELD\s+HELD SINCE\s+FAILED PROBES\s+PROBE/);
  expect(status.stdout).toMatch(new RegExp(`open\\s+\\S+\\s+redrives failing again\\s+${held.length}\\s+20\\d\\d-\\S+Z\\s+0\\s+next probe at ${open.state.nextProbeAt && new Date(open.state.nextProbeAt).toISOString()}`));
  const json = parseJson(await cli('status', '-o', 'json')) as { breakers: Array<Record<string, unknown>> };
  expect(json.breakers).toEqual([expect.objectContaining({ stateMachineArn: sm, errorName: ERROR, status: 'open', openedBy: 'redrive-failures', held: held.length, failedProbes: 0, probe: null })]);

  const explain = await cli('explain', held.at(-1)!);
  expect(explain.code).toBe(0);
  expect(explain.stdout).toMatch(/event\s+.*\s+hold\s+breaker-open\s+\*\s+held/);
  expect(explain.stdout).toContain(`${sm} / ${ERROR}   open`);
  expect(explain.stdout).toMatch(/COUNT\s+STATE\s+.*\s+HELD SINCE\s+UPDATED\n0\s+held\s+breaker-open\s+.*\s+20\d\d-\S+Z\s+20\d\d-\S+Z/);
  expect(explain.stdout).toMatch(/Held failure 0: released when a probe of its group succeeds, or by a person \(redrivectl release\); next probe at /);
  expect(explain.stdout).toMatch(/OPENED BY\s+FAILED PROBES\s+PROBE\n.*\s+open\s+\S+\s+redrives failing again\s+0\s+next probe at /);

  // Without a terminal and without --yes nothing changes.
  const refused = await cli('release', held[0]);
  expectOneErrorLine(refused, 'release: refusing to change anything without confirmation');
  expect(refused.code).toBe(2);

  world.down = false;
  const one = parseJson(await cli('release', held[0], '--yes', '-o', 'json')) as { outcomes: Array<Record<string, unknown>> };
  expect(one.outcomes).toEqual([expect.objectContaining({ executionArn: held[0], decision: 'redrive', reason: 'release', action: 'redriven' })]);
  await h.local.settle();
  expect(h.local.standIn.getExecution(held[0])?.status).toBe('SUCCEEDED');
  // Its redrive started after the opening and succeeded (the rule forwards SUCCEEDED events of
  // redriven executions): as good as a probe, so the breaker stops holding; the drain would
  // release the rest, and status says so meanwhile.
  expect(await h.local.deps.breakers.read({ stateMachineArn: sm, errorName: ERROR })).toMatchObject({ status: 'releasing', closeReason: 'redrive-succeeded' });
  const releasing = parseJson(await cli('status', '-o', 'json')) as { breakers: Array<Record<string, unknown>> };
  expect(releasing.breakers).toEqual([expect.objectContaining({ stateMachineArn: sm, errorName: ERROR, status: 'releasing', held: held.length - 1 })]);

  // A person need not wait for the drain.
  const all = await cli('release', '--state-machine', sm, '--yes', '-o', 'json');
  expect(all.code).toBe(0);
  expect(all.stderr).toContain(`breaker ${sm} / ${ERROR}: releasing, ${held.length - 1} held`);
  expect(all.stderr).not.toContain('it stops holding');
  const report = parseJson(all) as { summary: { released: number; redriven: number } };
  expect(report.summary).toMatchObject({ released: held.length - 1, redriven: held.length - 1 });
  await h.local.settle();
  for (const a of held) expect(h.local.standIn.getExecution(a)?.status).toBe('SUCCEEDED');
  expect((await h.local.deps.breakers.read({ stateMachineArn: sm, errorName: ERROR })).closeReason).toBe('redrive-succeeded');
  const trail = await h.local.deps.audit.trail(held[1]);
  expect(trail.at(-1)).toMatchObject({ source: 'release', decision: 'redrive', reason: 'release', action: 'redriven' });

  const nothing = await cli('release', held[1], '--yes');
  expectOneErrorLine(nothing, 'has no held failure');
});

test('release of the state machine while its breaker is open: it stops holding (released-by-hand), every held failure redriven', async () => {
  await h.local.putPolicy({ stateMachine: '*', intervalSeconds: 0, breaker: OPENS_AT_ONCE });
  const { sm, arns } = await outage('refunds', 7);
  const group = { stateMachineArn: sm, errorName: ERROR };
  expect((await h.local.deps.breakers.read(group)).status).toBe('open');
  const held = (await Promise.all(arns.map(async (a) => ((await h.local.deps.ledger.failuresOf(a)).some((f) => f.state === 'held') ? a : undefined)))).filter(Boolean) as string[];
  expect(held.length).toBeGreaterThanOrEqual(3);

  world.down = false;
  const all = await cli('release', '--state-machine', sm, '--yes', '-o', 'json');
  expect(all.code).toBe(0);
  expect(all.stderr).toContain(`breaker ${sm} / ${ERROR}: open, ${held.length} held (it stops holding: released by hand)`);
  expect((parseJson(all) as { summary: { released: number; redriven: number } }).summary).toMatchObject({ released: held.length, redriven: held.length });
  await h.local.settle();
  for (const a of held) expect(h.local.standIn.getExecution(a)?.status).toBe('SUCCEEDED');
  // The successes of the released redrives come after the close: the reason stays the person's.
  expect((await h.local.deps.breakers.read(group)).closeReason).toBe('released-by-hand');
  const trail = await h.local.deps.audit.trail(held[0]);
  expect(trail.at(-1)).toMatchObject({ source: 'release', decision: 'redrive', reason: 'release', action: 'redriven' });
});

test('status and explain say why a probe waits: never a past time as "next probe", a held failure\'s own backoff, a probe running, a held failure with no redrive left', async () => {
  await h.local.putPolicy({ stateMachine: '*', intervalSeconds: 0, breaker: OPENS_AT_ONCE });
  const { sm, arns } = await outage('waits', 7);
  const group = { stateMachineArn: sm, errorName: ERROR };
  const line = (out: string) => out.split('\n').find((l) => l.startsWith(`${sm} `)) ?? '';
  const key = { pk: `BREAKER#${sm}#${ERROR}`, sk: 'BREAKER' };
  const setItem = (expression: string, values: Record<string, unknown>) =>
    h.local.deps.doc.send(new UpdateCommand({ TableName: h.local.config.ledgerTableName, Key: key, UpdateExpression: expression, ExpressionAttributeValues: values }));
  const state = await h.local.deps.breakers.read(group);
  expect(state.status).toBe('open');

  // The probe time has passed (the drain has not run since): due now, never a past "next probe".
  const past = Date.now() - 60_000;
  await setItem('SET nextProbeAt = :t', { ':t': past });
  const due = await cli('status');
  expect(line(due.stdout)).toMatch(/due now, at the next drain run$/);
  expect(due.stdout).not.toContain(new Date(past).toISOString());

  // The held failures' own backoff has not passed: the probe waits for the first of them.
  await h.local.putPolicy({ stateMachine: '*', intervalSeconds: 3600, jitter: 'NONE', maxRedrives: 1, breaker: OPENS_AT_ONCE });
  expect(line((await cli('status')).stdout)).toMatch(/waiting for a held failure's own backoff \(a probe never redrives sooner than the policy\), until \S+$/);
  // A held failure that already used its one redrive will never be probed, and explain says so.
  const failures = (await Promise.all(arns.map((a) => h.local.deps.ledger.failuresOf(a)))).flat();
  const spent = failures.find((f) => f.state === 'held' && f.redriveCount >= 1);
  expect(spent).toBeDefined();
  const explained = parseJson(await cli('explain', spent!.executionArn, '-o', 'json')) as { failures: Array<{ redriveCount: number; fate: string | null }>; breakers: Array<{ probeWait: string }> };
  expect(explained.failures.find((f) => f.redriveCount === spent!.redriveCount)?.fate).toMatch(/^no redrive left: never probed/);
  expect(explained.breakers[0].probeWait).toMatch(/^waiting for a held failure's own backoff/);

  // A probe in flight.
  const startedAt = Date.now() - 5_000;
  await setItem('SET probe = :p', { ':p': { executionArn: arns[0], redriveCount: 0, token: 't', startedAt } });
  expect(line((await cli('status')).stdout)).toMatch(new RegExp(`probe ${arns[0]} running since ${new Date(startedAt).toISOString()}$`));
  const json = parseJson(await cli('status', '-o', 'json')) as { breakers: Array<{ stateMachineArn: string; probeWait: string }> };
  expect(json.breakers.find((b) => b.stateMachineArn === sm)?.probeWait).toBe(`probe ${arns[0]} running since ${new Date(startedAt).toISOString()}`);
});

test("status and explain say the wait before a last redrive is spent on a probe, as the drain waits: until a few probe intervals after the opening, then due", async () => {
  const parsed = parsePolicyItem({ stateMachine: '*', maxRedrives: 2, intervalSeconds: 0, jitter: 'NONE' });
  if (!parsed.ok) throw parsed.error;
  const policy = parsed.policy;
  const openedAt = Date.UTC(2026, 0, 1, 12);
  const group = { stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:quiet', errorName: ERROR };
  const state = { ...CLOSED_STATE, status: 'open' as const, openedAt, nextProbeAt: openedAt + 30_000 };
  const heldRecord = (name: string, redriveCount: number) =>
    ({ executionArn: `arn:aws:states:us-east-1:123456789012:execution:quiet:${name}`, redriveCount, stopDate: openedAt - 60_000, updatedAt: openedAt - 60_000, state: 'held' }) as unknown as FailureRecord;
  const ends = openedAt + LAST_REDRIVE_WAIT_INTERVALS * policy.breaker.maxProbeIntervalSeconds * 1000;
  const said = async (held: FailureRecord[], now: number) => probeWait(await probeWaitFacts(group, state, policy, h.local.deps.ledger, now, held), now);
  const lastOnes = [heldRecord('a', 1), heldRecord('b', 1)];
  expect(await said(lastOnes, openedAt + 60_000)).toBe(
    `waiting before spending an execution's last redrive on a probe, while failures show the outage goes on (ended by a success of the state machine since the opening), at the latest until ${new Date(ends).toISOString()}`,
  );
  expect(await said(lastOnes, ends)).toBe('due now, at the next drain run');
  // A held failure with more left is due: the probe goes.
  expect(await said([...lastOnes, heldRecord('c', 0)], openedAt + 60_000)).toBe('due now, at the next drain run');
});

test("a person's release within maxRedrives hands the failure back to its policy: scheduled when its own backoff has not passed, not redriven at once", async () => {
  await h.local.putPolicy({ stateMachine: '*', intervalSeconds: 0, breaker: OPENS_AT_ONCE });
  const { arns } = await outage('backoff', 7);
  const failures = (await Promise.all(arns.map((a) => h.local.deps.ledger.failuresOf(a)))).flat();
  const held = failures.find((f) => f.state === 'held' && f.reason === 'breaker-open');
  expect(held).toBeDefined();
  // The owner's policy now waits an hour before the next redrive: the held failure stopped seconds ago.
  await h.local.putPolicy({ stateMachine: '*', intervalSeconds: 3600, jitter: 'NONE', breaker: OPENS_AT_ONCE });
  const before = h.local.standIn.redrives.length;
  const r = parseJson(await cli('release', held!.executionArn, '--yes', '-o', 'json')) as { summary: Record<string, number>; outcomes: Array<Record<string, unknown>> };
  expect(r.summary).toMatchObject({ released: 1, redriven: 0, scheduled: 1 });
  expect(r.outcomes).toEqual([expect.objectContaining({ decision: 'redrive-later', reason: 'backoff' })]);
  expect(h.local.standIn.redrives.length).toBe(before);
  const after = await h.local.deps.ledger.get(held!.executionArn, held!.redriveCount);
  expect(after).toMatchObject({ state: 'pending' });
  expect(after!.dueAt).toBeGreaterThanOrEqual((held!.stopDate ?? 0) + 3_600_000 - 1000);
});

test('hold after exhaustion: a person releases it past maxRedrives', async () => {
  await h.local.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 0, onExhausted: 'hold', breaker: { enabled: false } });
  const { arns } = await outage('ledger', 1);
  expect(await h.local.deps.ledger.get(arns[0], 0)).toMatchObject({ state: 'held', reason: 'exhausted' });
  const status = await cli('status');
  expect(status.stdout).toMatch(/Held failures:\s+\d+ by breakers, 1 after exhaustion \(redrivectl release\)/);
  // Never probed: explain says who releases it.
  expect((await cli('explain', arns[0])).stdout).toContain('Held failure 0: held after exhaustion: never probed; released only by a person (redrivectl release)');
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

  expect((await cli('policy', 'put', '*', '--breaker-open-after-seconds', '45', '--yes')).code).toBe(0);
  const wait = parseJson(await cli('policy', 'get', '*', '-o', 'json')) as { item: Record<string, unknown>; effective: Record<string, unknown> };
  expect(wait.item.breaker).toEqual({ enabled: false, threshold: 10, openAfterSeconds: 45 });
  expect((await cli('policy', 'get', '*')).stdout).toMatch(/breaker\.openAfterSeconds\s+45\s+stored/);
  expectOneErrorLine(await cli('policy', 'put', '*', '--breaker-open-after-seconds', '-1', '--yes'), 'breaker.openAfterSeconds (--breaker-open-after-seconds)', 'must be from 0 to 86400');
  expect((await cli('policy', 'put', '*', '--unset', 'breaker.openAfterSeconds', '--yes')).code).toBe(0);

  const bad = await cli('policy', 'put', '*', '--breaker-threshold', '1', '--yes');
  expectOneErrorLine(bad, 'breaker.threshold (--breaker-threshold)', 'must be from 2 to 100000');
  const badAgain = await cli('policy', 'put', '*', '--breaker-redrive-failure-threshold', '1', '--yes');
  expectOneErrorLine(badAgain, 'breaker.redriveFailureThreshold (--breaker-redrive-failure-threshold)', 'must be from 2 to 100000');
  const unset = await cli('policy', 'put', '*', '--unset', 'breaker.threshold', '--yes', '-o', 'json');
  expect(unset.code).toBe(0);
  expect((await h.local.deps.policies.refresh(Date.now())).policies.get('*')).toMatchObject({ ok: true, policy: { breaker: { enabled: false, threshold: 20 } } });
});
