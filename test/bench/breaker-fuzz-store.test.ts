/**
 * The breaker fuzzer's in-memory stand-ins behave like the originals: MemoryBreakerStore
 * against the real BreakerStore on dynalite (the same random sequences of counts and
 * transitions give the same states, effects and active lists), and the sweep schedule's
 * claims. The fuzzer's verdicts are only as good as this likeness.
 */
import fc from 'fast-check';
import { BREAKER_DEFAULTS } from '../../contract/policy-schema';
import { counterName, type Observation } from '../../lambda/decide/breaker';
import { BreakerStore } from '../../lambda/record/breaker-store';
import { SweepSchedule } from '../../lambda/record/sweep-schedule';
import { MemoryBreakerStore, MemorySweepSchedule } from '../../bench/breaker-fuzz/memory-stores';
import { useLedgerTable } from '../support/dynalite';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const T0 = 1_700_000_000_000;
// Every other sequence with a short wait before opening (20 s), the others opening at
// first sight: together they reach failing, open and everything after.
const SETTINGS = [
  { ...BREAKER_DEFAULTS, threshold: 3, openAfterSeconds: 20 },
  { ...BREAKER_DEFAULTS, threshold: 3, openAfterSeconds: 0 },
];
const table = useLedgerTable();

type Op =
  | { kind: 'count'; group: number; dt: number; signals: 'c' | 'r' | 'cr' }
  | { kind: 'failure'; group: number; dt: number; execution: number; redriveCount: number }
  | { kind: 'probe-started'; group: number; dt: number; execution: number }
  | { kind: 'probe-result'; group: number; dt: number; outcome: 'succeeded' | 'same-error' | 'inconclusive' | 'not-started'; stale: boolean }
  | { kind: 'other'; group: number; dt: number; what: 'no-probe-candidate' | 'disabled' | 'closed-by-hand' | 'release-finished' | 'sibling-recovered' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('count' as const), group: fc.nat(1), dt: fc.nat(90_000), signals: fc.constantFrom('c' as const, 'r' as const, 'cr' as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('failure' as const), group: fc.nat(1), dt: fc.nat(90_000), execution: fc.nat(4), redriveCount: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('probe-started' as const), group: fc.nat(1), dt: fc.nat(300_000), execution: fc.nat(4) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('probe-result' as const), group: fc.nat(1), dt: fc.nat(60_000), outcome: fc.constantFrom('succeeded' as const, 'same-error' as const, 'inconclusive' as const, 'not-started' as const), stale: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('other' as const), group: fc.nat(1), dt: fc.nat(200_000), what: fc.constantFrom('no-probe-candidate' as const, 'disabled' as const, 'closed-by-hand' as const, 'release-finished' as const, 'sibling-recovered' as const) }),
  },
);

let run = 0;
/** Effects the sequences reached (so the comparison is not only of closed, empty breakers). */
const reached = new Set<string>();

test('MemoryBreakerStore: the same sequences give the same states, effects and active breakers as BreakerStore on dynalite', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 10, maxLength: 40 }), async (ops) => {
      run++;
      const S = SETTINGS[run % 2];
      const groups = [0, 1].map((g) => ({ stateMachineArn: `arn:aws:states:us-east-1:123456789012:stateMachine:fuzz-${run}-${g}`, errorName: g === 0 ? 'Payments.Unavailable' : null }));
      const real = new BreakerStore(table().doc, table().name);
      const memory = new MemoryBreakerStore();
      let now = T0;
      const tokens = new Map<number, string>();
      for (const o of ops) {
        now += o.dt;
        const group = groups[o.group];
        if (o.kind === 'count') {
          const counters = [...o.signals].map((k) => counterName(now, S, k as 'c' | 'r'));
          expect(await memory.count(group, counters, S, now)).toEqual(await real.count(group, counters, S, now));
          continue;
        }
        let obs: Observation;
        if (o.kind === 'failure') obs = { kind: 'failure', at: now, executionArn: `${group.stateMachineArn}:e${o.execution}`, redriveCount: o.redriveCount };
        else if (o.kind === 'probe-started') {
          const token = `tok-${run}-${now}`;
          tokens.set(o.group, token);
          obs = { kind: 'probe-started', probe: { executionArn: `${group.stateMachineArn}:e${o.execution}`, redriveCount: 0, token, startedAt: now } };
        } else if (o.kind === 'probe-result') obs = { kind: 'probe-result', token: o.stale ? 'stale' : (tokens.get(o.group) ?? 'none'), outcome: o.outcome, at: now };
        else if (o.what === 'sibling-recovered') obs = { kind: 'sibling-recovered', recoveredAt: now - 1000, at: now };
        else obs = { kind: o.what, at: now };
        const [m, r] = [await memory.transition(group, obs, S), await real.transition(group, obs, S)];
        expect(m).toEqual(r);
        for (const e of r.step.effects) reached.add(e.kind === 'probe' ? `probe:${e.outcome}` : e.kind);
        expect(memory.lastKnown(group)).toEqual(real.lastKnown(group));
      }
      for (const group of groups) expect(await memory.read(group)).toEqual(await real.read(group));
      const mine = (list: Awaited<ReturnType<BreakerStore['active']>>) => list.filter((b) => b.group.stateMachineArn.includes(`fuzz-${run}-`));
      expect(mine(await memory.active())).toEqual(mine(await real.active()));
    }),
    { numRuns: 60, seed: 18 },
  );
  expect([...reached].sort()).toEqual(expect.arrayContaining(['failing', 'opened', 'closed', 'probe:started', 'probe:same-error', 'hold', 'pass']));
});

test('MemorySweepSchedule claims like SweepSchedule: once per interval, with the previous run', async () => {
  const real = new SweepSchedule(table().doc, table().name);
  const memory = new MemorySweepSchedule();
  for (const [at, every] of [[T0, 300_000], [T0 + 1000, 300_000], [T0 + 300_000, 300_000], [T0 + 400_000, 300_000], [T0 + 900_000, 60_000]] as const) {
    expect(await memory.claimRun(at, every)).toEqual(await real.claimRun(at, every));
  }
});
