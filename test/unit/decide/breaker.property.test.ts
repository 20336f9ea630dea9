/**
 * Properties of the breaker's pure state machine over random runs of observations, and of
 * the store's optimistic protocol (read, step, write if the version is unchanged, else read
 * and step again) modelled in memory: concurrent writers never open a breaker twice, never
 * start two probes, and a probe's outcome is applied once whichever path reports it first.
 */
import fc from 'fast-check';
import { BREAKER_DEFAULTS, type BreakerPolicy } from '../../../contract/policy-schema';
import { type BreakerState, CLOSED_STATE, counterName, failuresInWindow, type Observation, redriveFailuresInWindow, type Step, step, verdictOf } from '../../../lambda/decide/breaker';

const T0 = 1_700_000_000_000;
const RUNS = { numRuns: 300, seed: 20261130 };

const arbSettings: fc.Arbitrary<BreakerPolicy> = fc
  .record({
    threshold: fc.integer({ min: 2, max: 8 }),
    redriveFailureThreshold: fc.integer({ min: 2, max: 4 }),
    windowSeconds: fc.constantFrom(10, 60, 300),
    probeIntervalSeconds: fc.constantFrom(1, 30),
    maxProbeIntervalSeconds: fc.constantFrom(30, 240),
    probeTimeoutSeconds: fc.constant(900),
  })
  .map((s) => ({ ...BREAKER_DEFAULTS, ...s, maxProbeIntervalSeconds: Math.max(s.maxProbeIntervalSeconds, s.probeIntervalSeconds) }));

/** One step of a random history: time moves on, then something is observed. */
type Action =
  | { kind: 'failure'; gap: number; counted: boolean; redriveFailed: boolean }
  | { kind: 'probe-started'; gap: number }
  | { kind: 'probe-result'; gap: number; outcome: 'succeeded' | 'same-error' | 'different-error' | 'inconclusive' | 'not-started'; stale: boolean }
  | { kind: 'no-probe-candidate' | 'disabled' | 'closed-by-hand' | 'release-finished'; gap: number }
  | { kind: 'sibling-recovered'; gap: number; ago: number };

const gap = fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 400_000 }));
const arbAction: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('failure' as const), gap, counted: fc.boolean(), redriveFailed: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('probe-started' as const), gap }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('probe-result' as const),
      gap,
      outcome: fc.constantFrom('succeeded' as const, 'same-error' as const, 'different-error' as const, 'inconclusive' as const, 'not-started' as const),
      stale: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('no-probe-candidate' as const, 'disabled' as const, 'closed-by-hand' as const, 'release-finished' as const), gap }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sibling-recovered' as const), gap, ago: fc.integer({ min: 0, max: 600_000 }) }) },
);

/** Turns an action into an observation against the current state (counting a failure as the store would). */
function observe(state: BreakerState, a: Action, at: number, settings: BreakerPolicy, n: number): { state: BreakerState; obs: Observation } {
  switch (a.kind) {
    case 'failure': {
      if (!a.counted) return { state, obs: { kind: 'failure', at, executionArn: `e-${n}`, redriveCount: 0 } };
      const counts = { ...state.counts };
      for (const kind of a.redriveFailed ? (['c', 'r'] as const) : (['c'] as const)) {
        const name = counterName(at, settings, kind);
        counts[name] = (counts[name] ?? 0) + 1;
      }
      return { state: { ...state, counts }, obs: { kind: 'failure', at, executionArn: `e-${n}`, redriveCount: a.redriveFailed ? 1 : 0 } };
    }
    case 'probe-started':
      return { state, obs: { kind: 'probe-started', probe: { executionArn: `e-${n}`, redriveCount: 0, token: `tok-${n}`, startedAt: at } } };
    case 'probe-result':
      return { state, obs: { kind: 'probe-result', token: a.stale || !state.probe ? 'stale' : state.probe.token, outcome: a.outcome, at } };
    case 'sibling-recovered':
      return { state, obs: { kind: 'sibling-recovered', recoveredAt: at - a.ago, at } };
    default:
      return { state, obs: { kind: a.kind, at } };
  }
}

describe('breaker state machine: properties', () => {
  it('over any history: versions move by one per transition, ignored and unchanged steps change nothing, probes only while open, intervals within bounds', () => {
    fc.assert(
      fc.property(arbSettings, fc.array(arbAction, { minLength: 1, maxLength: 60 }), (settings, actions) => {
        let state = CLOSED_STATE;
        let at = T0;
        actions.forEach((a, n) => {
          at += a.gap;
          const seen = observe(state, a, at, settings, n);
          const frozen = JSON.stringify(seen.state);
          const s: Step = step(seen.state, seen.obs, settings);
          expect(JSON.stringify(seen.state)).toBe(frozen); // inputs not mutated
          expect(step(seen.state, seen.obs, settings)).toEqual(s); // deterministic
          if (s.changed) expect(s.state.version).toBe(seen.state.version + 1);
          else expect(s.state).toBe(seen.state);
          if (s.effects.some((e) => e.kind === 'ignored')) expect(s.changed).toBe(false);
          if (s.state.probe) expect(s.state.status).toBe('open');
          if (s.state.status === 'open') {
            expect(s.state.nextProbeAt === null && s.state.probe === null).toBe(false);
            expect(s.state.probeIntervalMs!).toBeGreaterThanOrEqual(settings.probeIntervalSeconds * 1000);
            expect(s.state.probeIntervalMs!).toBeLessThanOrEqual(settings.maxProbeIntervalSeconds * 1000);
          }
          if (seen.obs.kind === 'failure') {
            // Held exactly when it was open, or this failure opened it.
            const opens = s.effects.some((e) => e.kind === 'opened');
            expect(verdictOf(s)).toBe(seen.state.status === 'open' || opens ? 'hold' : 'pass');
            // Opens exactly when one of the two signals reached its threshold (and it was not open).
            const reached = failuresInWindow(seen.state, at, settings) >= settings.threshold || redriveFailuresInWindow(seen.state, at, settings) >= settings.redriveFailureThreshold;
            expect(opens).toBe(seen.state.status !== 'open' && reached);
          }
          if (seen.obs.kind === 'probe-result' && seen.obs.token === 'stale') expect(s.changed).toBe(false);
          if (s.effects.some((e) => e.kind === 'closed')) expect(s.state).toMatchObject({ status: 'releasing', counts: {}, probe: null });
          if (seen.obs.kind === 'sibling-recovered' && s.changed) {
            // Only brings an open breaker's next probe forward to now, and only once per recovery.
            // (The write drops counters outside the window, as every transition does.)
            expect({ ...s.state, counts: {} }).toEqual({ ...seen.state, counts: {}, nextProbeAt: at, version: seen.state.version + 1 });
            expect(step(s.state, { ...seen.obs, at: at + 1 }, settings).changed).toBe(false);
          }
          state = s.state;
        });
      }),
      RUNS,
    );
  });

  /** The store's protocol over an in-memory item: a write succeeds only over the version it read. */
  class Item {
    constructor(public state: BreakerState) {}
    transition(obs: Observation, settings: BreakerPolicy, read: BreakerState): Step {
      let seen = read;
      for (;;) {
        const s = step(seen, obs, settings);
        if (!s.changed) return s;
        if (this.state.version === seen.version) {
          this.state = s.state;
          return s;
        }
        seen = this.state; // lost the race: read again, step again
      }
    }
  }

  it('concurrent openers: whatever the interleaving, the breaker opens once and every failure from the opener on is held', () => {
    fc.assert(
      fc.property(arbSettings, fc.integer({ min: 2, max: 30 }), fc.array(fc.nat(), { minLength: 30, maxLength: 30 }), (settings, writers, order) => {
        // Everyone counted before anyone wrote (the worst case): all read the same closed state.
        const name = counterName(T0, settings);
        const item = new Item({ ...CLOSED_STATE, counts: { [name]: settings.threshold - 1 + writers } });
        const read = item.state;
        const ids = Array.from({ length: writers }, (_, i) => i).sort((a, b) => (order[a] ?? 0) - (order[b] ?? 0));
        const steps = ids.map((i) => item.transition({ kind: 'failure', at: T0, executionArn: `e-${i}`, redriveCount: 0 }, settings, read));
        expect(steps.filter((s) => s.effects.some((e) => e.kind === 'opened'))).toHaveLength(1);
        expect(steps.every((s) => verdictOf(s) === 'hold')).toBe(true);
        expect(item.state.version).toBe(read.version + 1);
      }),
      RUNS,
    );
  });

  it('a probe outcome reported by both the event path and the drain moves the breaker once; a second probe cannot start while one is in flight', () => {
    fc.assert(
      fc.property(
        arbSettings,
        fc.constantFrom('succeeded' as const, 'same-error' as const, 'different-error' as const),
        fc.constantFrom('succeeded' as const, 'same-error' as const, 'different-error' as const, 'inconclusive' as const),
        fc.boolean(),
        (settings, first, second, twoStarters) => {
          const name = counterName(T0, settings);
          const item = new Item(step({ ...CLOSED_STATE, counts: { [name]: settings.threshold } }, { kind: 'failure', at: T0, executionArn: 'e', redriveCount: 0 }, settings).state);
          const due = item.state.nextProbeAt!;
          const read = item.state;
          const a = item.transition({ kind: 'probe-started', probe: { executionArn: 'e-a', redriveCount: 0, token: 'A', startedAt: due } }, settings, read);
          const b = twoStarters ? item.transition({ kind: 'probe-started', probe: { executionArn: 'e-b', redriveCount: 0, token: 'B', startedAt: due } }, settings, read) : undefined;
          expect(a.changed).toBe(true);
          if (b) expect(b.changed).toBe(false);
          const afterStart = item.state;
          const r1 = item.transition({ kind: 'probe-result', token: 'A', outcome: first, at: due + 1000 }, settings, afterStart);
          const r2 = item.transition({ kind: 'probe-result', token: 'A', outcome: second, at: due + 2000 }, settings, afterStart);
          expect(r1.changed).toBe(true);
          expect(r2.changed).toBe(false);
          expect(item.state.version).toBe(afterStart.version + 1);
        },
      ),
      RUNS,
    );
  });
});
