/**
 * The breaker next to the controller's other guards, end to end on dynalite and the
 * stand-in: a hand-edited invalid breaker field, the kill switch, dry-run policies, and a
 * breaker that opens again while its held failures are being released.
 */
import { heldShard } from '../../contract/breaker';
import { probeTurn } from '../../lambda/breaker/probe';
import { releaseGroup } from '../../lambda/breaker/release';
import { resolvePolicy } from '../../lambda/policy/policy-source';
import { BREAKER_DEFAULTS } from '../../contract/policy-schema';
import type { StepBehaviour } from '../../local/sfn';
import { createMachine, FIXTURE_START, redrivesOf, type SimEnv, simEnv, startEachSecond, names, drainAt, OPENS_AT_ONCE } from '../support/local';

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
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, breaker: { ...OPENS_AT_ONCE,  threshold: 'five' } });
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
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, dryRun: true, breaker: OPENS_AT_ONCE });
  const sm = await createMachine(env, 'orders', LAMBDA, downstream);
  const dry = await startEachSecond(env, sm, names('dry', 6));
  for (const a of dry) expect(await trailOf(a)).toEqual(['skip/dry-run/dry-run']);
  expect(await env.deps.breakers.active()).toEqual([]);

  // Two live executions' redrives (60 s later) fail again with the same error: it opens; the rest are held.
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', breaker: OPENS_AT_ONCE });
  const openers = await startEachSecond(env, sm, names('opener', 2));
  await drainAt(env, env.clock.now() + 60 * SECOND);
  const arns = [...openers, ...(await startEachSecond(env, sm, names('live', 4)))];
  const redrivesBefore = env.standIn.redrives.length;
  let [b] = await env.deps.breakers.active();
  expect(b.state.status).toBe('open');
  await env.deps.killSwitch.pause('incident', 'test', env.clock.now());
  env.deps.policies.invalidate();
  const [paused] = await startEachSecond(env, sm, names('paused', 1));
  expect(await trailOf(paused)).toEqual(['skip/paused/skipped']);
  world.down = false;
  const report = await drainAt(env, b.state.nextProbeAt! + 60 * SECOND);
  expect(report.paused).toBe(true);
  expect(env.standIn.redrives).toHaveLength(redrivesBefore); // no due redrive, no probe, no release while paused
  [b] = await env.deps.breakers.active();
  expect(b.state).toMatchObject({ status: 'open', probe: null });

  await env.deps.killSwitch.resume();
  env.deps.policies.invalidate();
  // Probed once a held failure's backoff has passed, closed, released: within a few drain runs.
  for (let m = 0; m < 5; m++) await drainAt(env, env.clock.now() + 60 * SECOND);
  for (const a of arns) expect(env.standIn.getExecution(a)?.status).toBe('SUCCEEDED');
});

test('a breaker that opens again while its held failures are released: the rest stay held, none is redriven twice, the next close releases them', async () => {
  env = await simEnv(FIXTURE_START);
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE', breaker: OPENS_AT_ONCE });
  const sm = await createMachine(env, 'orders', LAMBDA, downstream);
  const group = { stateMachineArn: sm, errorName: ERROR };
  // Two executions fail; their redrives (60 s later) fail again: it opens. The first one's
  // next redrive is scheduled (held when due), the second one's failure is held, and so are
  // the ten that fail afterwards.
  const openers = await startEachSecond(env, sm, names('opener', 2));
  await drainAt(env, env.clock.now() + 60 * SECOND);
  expect((await env.deps.breakers.read(group)).status).toBe('open');
  const arns = [...openers, ...(await startEachSecond(env, sm, names('held', 10)))];
  expect(await env.deps.ledger.heldCount(heldShard(group))).toBe(11);

  // The downstream is back for one probe: it succeeds and the breaker closes ...
  world.down = false;
  const open = (await env.deps.breakers.active())[0].state;
  // A probe is chosen among held failures whose own backoff (60 s) has passed.
  env.clock.advanceTo(Math.max(open.nextProbeAt!, env.clock.now() + 60 * SECOND));
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
  // Two of them failing again (redrives of distinct executions) open the breaker again; the release stops (at its next look
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
