/**
 * The breaker next to the controller's other guards, end to end on dynalite and the
 * stand-in: a hand-edited invalid breaker field, the kill switch, dry-run policies, and a
 * breaker that opens again while its held failures are being released.
 */
import { heldShard } from '../../contract/breaker';
import { probeTurn } from '../../lambda/act/probe';
import { releaseGroup } from '../../lambda/act/release';
import { resolvePolicy } from '../../lambda/policy/policy-source';
import { BREAKER_DEFAULTS } from '../../contract/policy-schema';
import type { StepBehaviour } from '../../local/sfn';
import { createMachine, FIXTURE_START, redrivesOf, type SimEnv, simEnv, startEachSecond, names, drainAt } from '../support/local';

jest.setTimeout(60_000);

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:downstream';
const ERROR = 'Lambda.ServiceException';
const SECOND = 1000;

let env: SimEnv;
afterEach(async () => env?.stop());

const world = { down: true };
const downstream: StepBehaviour = () => (world.down ? { ok: false, error: ERROR, cause: 'downstream 503' } : { ok: true });

const trailOf = async (arn: string) => (await env.deps.audit.trail(arn)).map((t) => `${t.decision}/${t.reason}/${t.action}`);

beforeEach(() => {
  world.down = true;
});

test('a hand-edited breaker field with a wrong type: the failure is skipped policy-invalid, naming the item and the field; nothing is held or redriven', async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, breaker: { threshold: 'five' } });
  const sm = await createMachine(env, 'orders', LAMBDA, downstream);
  const [arn] = await startEachSecond(env, sm, names('bad', 1));
  const [entry] = await env.deps.audit.trail(arn);
  expect(entry).toMatchObject({ decision: 'skip', reason: 'policy-invalid', action: 'skipped' });
  expect(entry.detail).toContain("policy '*' is invalid");
  expect(entry.detail).toContain('breaker.threshold: must be a number');
  expect(env.notifier.events.map((e) => e.detail.reason)).toEqual(['policy-invalid']);
  expect(env.standIn.redrives).toHaveLength(0);
  expect(await env.deps.breakers.active()).toEqual([]);
});

test('dry-run policies never hold (the dry-run skip comes first); the kill switch wins over holding and stops probes and releases', async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, dryRun: true, breaker: { threshold: 5 } });
  const sm = await createMachine(env, 'orders', LAMBDA, downstream);
  const dry = await startEachSecond(env, sm, names('dry', 6));
  for (const a of dry) expect(await trailOf(a)).toEqual(['skip/dry-run/dry-run']);
  expect(await env.deps.breakers.active()).toEqual([]);

  await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', breaker: { threshold: 5 } });
  const arns = await startEachSecond(env, sm, names('live', 6));
  let [b] = await env.deps.breakers.active();
  expect(b.state.status).toBe('open');
  await env.deps.killSwitch.pause('incident', 'test', env.clock.now());
  env.deps.policies.invalidate();
  const [paused] = await startEachSecond(env, sm, names('paused', 1));
  expect(await trailOf(paused)).toEqual(['skip/paused/skipped']);
  world.down = false;
  const report = await drainAt(env, b.state.nextProbeAt! + 60 * SECOND);
  expect(report.paused).toBe(true);
  expect(env.standIn.redrives).toHaveLength(0); // no due redrive, no probe, no release while paused
  [b] = await env.deps.breakers.active();
  expect(b.state).toMatchObject({ status: 'open', probe: null });

  await env.deps.killSwitch.resume();
  env.deps.policies.invalidate();
  await drainAt(env, env.clock.now() + 60 * SECOND);
  for (const a of arns) expect(env.standIn.getExecution(a)?.status).toBe('SUCCEEDED');
});

test('a breaker that opens again while its held failures are released: the rest stay held, none is redriven twice, the next close releases them', async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', breaker: { threshold: 5 } });
  const sm = await createMachine(env, 'orders', LAMBDA, downstream);
  const group = { stateMachineArn: sm, errorName: ERROR };
  const arns = await startEachSecond(env, sm, names('held', 12)); // 4 scheduled (held when due), then open: 8 held
  expect(await env.deps.ledger.heldCount(heldShard(group))).toBe(8);

  // The downstream is back for one probe: it succeeds and the breaker closes ...
  world.down = false;
  const open = (await env.deps.breakers.active())[0].state;
  env.clock.advanceTo(open.nextProbeAt!);
  const resolution = resolvePolicy(await env.deps.policies.snapshot(env.clock.now()), sm);
  if (resolution.kind !== 'found') throw new Error('no policy');
  const closed = await probeTurn(group, open, resolution.policy, env.deps, { deadline: env.clock.now() + 60_000, watchMs: 30_000, pollMs: 3_000 });
  expect(closed.status).toBe('releasing');
  // ... and goes down again once the release has started: the released ones fail again.
  let released = 0;
  const report = await releaseGroup(group, env.deps, {
    deadline: env.clock.now() + 60_000,
    concurrency: 1,
    settings: BREAKER_DEFAULTS,
    onOutcome: () => {
      if (++released === 1) world.down = true;
    },
  });
  await env.settle();
  // Five of them failing again open the breaker again; the release stops (at its next look
  // at the breaker, or by holding what it still had in hand).
  expect(report.finished).toBe(false);
  const [again] = await env.deps.breakers.active();
  expect(again.state.status).toBe('open');
  expect(await env.deps.ledger.heldCount(heldShard(group))).toBeGreaterThan(0);

  world.down = false;
  for (let i = 0; i < 6; i++) await drainAt(env, env.clock.now() + 5 * 60 * SECOND);
  expect(await env.deps.ledger.heldCount(heldShard(group))).toBe(0);
  for (const a of arns) expect(env.standIn.getExecution(a)?.status).toBe('SUCCEEDED');
  const tokens = env.standIn.redrives.map((r) => `${r.executionArn} ${r.clientToken}`);
  expect(tokens.filter((t, k) => tokens.indexOf(t) !== k)).toEqual([]);
  expect(redrivesOf(env, arns[11])).toBeGreaterThan(0);
});
