/**
 * A property of the whole controller with the breaker on, on dynalite and the stand-in:
 * whatever the outage (length, how many executions, when the drain runs), and whichever
 * status-change events (failures, and successes of redrives) are lost or delivered twice, a held failure is never lost (every
 * execution ends SUCCEEDED, or its last failure is recorded as deliberately given up) and
 * no failure is ever redriven twice. Few runs (each starts its own stand-ins), fixed seed.
 */
import fc from 'fast-check';
import { handleStatusChange } from '../../lambda/event-path';
import { sweep } from '../../lambda/reconcile';
import { drain } from '../../lambda/scheduled-drain';
import { METRIC } from '../../contract/metrics';
import { matchesPattern, statusChangePattern } from '../../contract/event-pattern';
import { createMachine, FIXTURE_START, type SimEnv, simEnv, startExecution, OPENS_AT_ONCE } from '../support/local';

jest.setTimeout(300_000);

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:downstream';
const SECOND = 1000;
const MINUTE = 60 * SECOND;

type Step =
  | { readonly kind: 'start'; readonly machine: number }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'deliver'; readonly lose: number; readonly duplicate: number }
  | { readonly kind: 'drain' };

const RULE = statusChangePattern();

const arbStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('start' as const), machine: fc.integer({ min: 0, max: 1 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: SECOND, max: 3 * MINUTE }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('deliver' as const), lose: fc.double({ min: 0, max: 0.3, noNaN: true }), duplicate: fc.double({ min: 0, max: 0.3, noNaN: true }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('drain' as const) }) },
);

const arbWorld = fc.record({
  outageMinutes: fc.integer({ min: 3, max: 20 }),
  redriveFailureThreshold: fc.integer({ min: 2, max: 3 }),
  intervalSeconds: fc.constantFrom(0, 30, 60),
  steps: fc.array(arbStep, { minLength: 15, maxLength: 40 }),
  seed: fc.integer(),
});

test('a held failure is never lost and no failure is redriven twice', async () => {
  let opened = 0;
  let released = 0;
  await fc.assert(
    fc.asyncProperty(arbWorld, async (w) => {
      let random = w.seed >>> 0;
      const next = () => ((random = (Math.imul(random, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32);
      const env: SimEnv = await simEnv(FIXTURE_START, { detachBus: true });
      try {
        const downUntil = FIXTURE_START + w.outageMinutes * MINUTE;
        await env.putPolicy({ stateMachine: '*', intervalSeconds: w.intervalSeconds, maxRedrives: 3, breaker: { ...OPENS_AT_ONCE,  redriveFailureThreshold: w.redriveFailureThreshold } });
        const machines = [
          await createMachine(env, 'm0', `${LAMBDA}-0`, (ctx) => (ctx.now < downUntil ? { ok: false, error: 'Lambda.ServiceException' } : { ok: true })),
          await createMachine(env, 'm1', `${LAMBDA}-1`, (ctx) => (ctx.now < downUntil ? { ok: false, error: 'Lambda.ServiceException' } : { ok: true })),
        ];
        const arns: string[] = [];
        let seen = 0;
        const deliver = async (lose: number, duplicate: number) => {
          await env.standIn.idle();
          const events = env.standIn.events.slice(seen);
          seen += events.length;
          for (const e of events) {
            // What the rule forwards: failures, and successes of redriven executions (evidence for the breaker).
            if (!matchesPattern(RULE, e) || next() < lose) continue;
            await handleStatusChange(e, env.deps);
            if (next() < duplicate) await handleStatusChange(e, env.deps);
          }
        };
        for (const s of w.steps) {
          if (s.kind === 'start') arns.push(await startExecution(env, machines[s.machine], `e-${arns.length}`));
          else if (s.kind === 'wait') env.clock.advanceTo(env.clock.now() + s.ms);
          else if (s.kind === 'deliver') await deliver(s.lose, s.duplicate);
          else {
            await drain(env.deps);
            await env.standIn.idle();
          }
        }
        // The outage ends; events flow again; the sweep finds those that were lost.
        env.clock.advanceTo(Math.max(env.clock.now(), downUntil));
        for (let i = 0; i < 40; i++) {
          await deliver(0, 0);
          if (i === 20) await sweep(env.deps, { since: FIXTURE_START });
          env.clock.advanceTo(env.clock.now() + MINUTE);
          await drain(env.deps);
        }
        await deliver(0, 0);

        // Never twice: every redrive carries its failure's clientToken.
        const tokens = env.standIn.redrives.map((r) => `${r.executionArn} ${r.clientToken}`);
        expect(tokens.filter((t, k) => tokens.indexOf(t) !== k)).toEqual([]);
        // Never lost: SUCCEEDED, or the last failure recorded as given up on purpose.
        for (const arn of arns) {
          const execution = env.standIn.getExecution(arn)!;
          if (execution.status === 'SUCCEEDED') continue;
          const record = await env.deps.ledger.get(arn, execution.redriveCount);
          expect([arn, record?.state, record?.reason]).toEqual([arn, 'skipped', expect.any(String)]);
          expect(['limit-reached']).toContain(record!.reason);
        }
        expect(await env.deps.breakers.active()).toEqual([]);
        expect((await env.deps.ledger.backlog()).count).toBe(0);
        if (env.metrics.sum(METRIC.breakerOpened) > 0) opened++;
        if (env.metrics.sum(METRIC.decisions, { Reason: 'release' }) > 0) released++;
      } finally {
        await env.stop();
      }
    }),
    { numRuns: 8, seed: 20261130, endOnFailure: true },
  );
  // The generator reaches the breaker: it opened and released in several worlds.
  expect(opened).toBeGreaterThanOrEqual(3);
  expect(released).toBeGreaterThanOrEqual(3);
});
