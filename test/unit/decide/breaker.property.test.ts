/**
 * Properties of the breaker's pure state machine over random runs of observations (failures
 * counted as failed redrives or legacy first failures, redrive successes, probes), and of
 * the store's optimistic protocol (read, step, write if the version is unchanged, else read
 * and step again) modelled in memory: concurrent writers never open a breaker twice, never
 * start two probes, and a probe's outcome is applied once whichever path reports it first.
 */
import fc from 'fast-check';
import { BREAKER_DEFAULTS, type BreakerPolicy } from '../../../contract/policy-schema';
import { type BreakerState, CLOSED_STATE, confirmationMs, counterName, type Observation, redriveFailuresInWindow, redrivesFailing, type Step, step, verdictOf } from '../../../lambda/decide/breaker';

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
    openAfterSeconds: fc.constantFrom(undefined, undefined, 0, 5),
  })
  .map((s) => ({ ...BREAKER_DEFAULTS, ...s, maxProbeIntervalSeconds: Math.max(s.maxProbeIntervalSeconds, s.probeIntervalSeconds) }));

/** Already failing for one confirmation period at `at`: the next failure with the evidence still there opens it. */
const failingFor = (state: BreakerState, at: number, settings: BreakerPolicy): BreakerState => ({ ...state, failingSince: at - confirmationMs(settings, 0), opensAt: at });

/** One step of a random history: time moves on, then something is observed. */
type Action =
  /** evidence: what the event path counted for it (nothing, a legacy first failure, a failed redrive). */
  | { kind: 'failure'; gap: number; evidence: 'none' | 'c' | 'r' }
  /** A redrive succeeded: the probe's own, or another that started `started` ms after the opening (negative: before). */
  | { kind: 'success'; gap: number; ofProbe: boolean; started: number | null }
  | { kind: 'probe-started'; gap: number }
  | { kind: 'probe-result'; gap: number; outcome: 'succeeded' | 'same-error' | 'different-error' | 'inconclusive' | 'not-started'; stale: boolean }
  | { kind: 'no-probe-candidate' | 'disabled' | 'closed-by-hand' | 'release-finished'; gap: number }
  | { kind: 'sibling-recovered'; gap: number; ago: number };

const gap = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 40_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 400_000 }) },
);
const arbAction: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('failure' as const), gap, evidence: fc.constantFrom('none' as const, 'c' as const, 'r' as const, 'r' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('success' as const),
      gap,
      ofProbe: fc.boolean(),
      started: fc.option(fc.integer({ min: -600_000, max: 600_000 }), { nil: null }),
    }),
  },
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
      const obs: Observation = { kind: 'failure', at, executionArn: `e-${n}`, redriveCount: a.evidence === 'r' ? 1 : 0 };
      if (a.evidence === 'none') return { state, obs };
      const name = counterName(at, settings, a.evidence);
      return { state: { ...state, counts: { ...state.counts, [name]: (state.counts[name] ?? 0) + 1 } }, obs };
    }
    case 'success': {
      // The event path counts a success (s_) only while the group is not open and has failed redrives in its window.
      const counts = state.status !== 'open' && redriveFailuresInWindow(state, at, settings) > 0 ? { ...state.counts, [counterName(at, settings, 's')]: (state.counts[counterName(at, settings, 's')] ?? 0) + 1 } : state.counts;
      const seen = counts === state.counts ? state : { ...state, counts };
      if (a.ofProbe && state.probe) {
        return { state: seen, obs: { kind: 'success', at, executionArn: state.probe.executionArn, redriveCount: state.probe.redriveCount + 1, redriveStartedAt: state.probe.startedAt } };
      }
      const startedAt = a.started === null ? null : (state.openedAt ?? at) + a.started;
      return { state: seen, obs: { kind: 'success', at, executionArn: `e-${n}`, redriveCount: 1, redriveStartedAt: startedAt } };
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
    const reached = new Map<string, number>();
    const saw = (what: string) => reached.set(what, (reached.get(what) ?? 0) + 1);
    fc.assert(
      fc.property(arbSettings, fc.array(arbAction, { minLength: 1, maxLength: 60, size: 'max' }), (settings, actions) => {
        let state = CLOSED_STATE;
        let at = T0;
        const settled = new Set<string>(); // probe tokens whose outcome was applied
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
          if (s.state.failingSince !== null) expect(s.state.status).not.toBe('open');
          if (s.state.status === 'open') {
            expect(s.state.nextProbeAt === null && s.state.probe === null).toBe(false);
            expect(s.state.probeIntervalMs!).toBeGreaterThanOrEqual(settings.probeIntervalSeconds * 1000);
            expect(s.state.probeIntervalMs!).toBeLessThanOrEqual(settings.maxProbeIntervalSeconds * 1000);
          }
          if (seen.obs.kind === 'failure') {
            // Held exactly when it was open, or this failure opened it.
            const opens = s.effects.some((e) => e.kind === 'opened');
            expect(verdictOf(s)).toBe(seen.state.status === 'open' || opens ? 'hold' : 'pass');
            // Opens exactly when the window's redrives are failing (and it was not open), and have
            // been for a confirmation period: never on first failures alone, never at first sight.
            const failing = seen.state.status !== 'open' && redrivesFailing(seen.state, at, settings);
            const fresh = seen.state.failingSince !== null && at - seen.state.opensAt! <= settings.windowSeconds * 1000;
            const confirmed = fresh ? at >= seen.state.opensAt! : confirmationMs(settings, 0) === 0;
            expect(opens).toBe(failing && confirmed);
            if (failing && !confirmed) expect(s.effects).toContainEqual({ kind: 'pass' });
            if (opens && fresh) expect(at - seen.state.failingSince!).toBeGreaterThanOrEqual(Math.min(confirmationMs(settings, 0), settings.windowSeconds * 1000));
            if (!opens && seen.state.status !== 'open' && redriveFailuresInWindow(seen.state, at, settings) >= settings.redriveFailureThreshold) saw('pass:excused-by-successes');
            if (opens) expect(redriveFailuresInWindow(seen.state, at, settings)).toBeGreaterThanOrEqual(settings.redriveFailureThreshold);
          }
          if (seen.obs.kind === 'probe-result' && seen.obs.token === 'stale') expect(s.changed).toBe(false);
          // A probe's outcome is applied once, by whichever report (result or its SUCCEEDED event) comes first.
          if (seen.state.probe && s.changed && s.state.probe === null) {
            expect(settled.has(seen.state.probe.token)).toBe(false);
            settled.add(seen.state.probe.token);
          }
          if (s.state.probe) expect(settled.has(s.state.probe.token)).toBe(false);
          for (const e of s.effects) saw(e.kind === 'closed' ? `closed:${e.reason}` : e.kind === 'opened' ? `opened:${e.redriveSuccessesInWindow > 0 ? 'with' : 'without'}-successes` : e.kind);
          if (seen.obs.kind === 'success') {
            // A success only ever closes an open breaker: its probe's redrive, a redrive started
            // after the opening, or when the window's evidence no longer says redrives are failing.
            const o = seen.obs;
            const p = seen.state.probe;
            const ofProbe = p !== null && p.executionArn === o.executionArn && p.redriveCount + 1 === o.redriveCount;
            const startedAfter = o.redriveStartedAt !== null && o.redriveStartedAt >= seen.state.openedAt!;
            // A success of a redrive started before the opening weighs only against failed redrives still in the window.
            const outweighs = redriveFailuresInWindow(seen.state, at, settings) > 0 && !redrivesFailing(seen.state, at, settings);
            const closes = seen.state.status === 'open' && (ofProbe || startedAfter || outweighs);
            // Not open but failing: enough successes end the suspicion (it will not open on it).
            const clears = seen.state.status !== 'open' && seen.state.failingSince !== null && !redrivesFailing(seen.state, at, settings);
            if (clears) expect(s.state).toMatchObject({ status: seen.state.status, failingSince: null, opensAt: null });
            expect(s.changed).toBe(closes || clears);
            if (closes) expect(s.state).toMatchObject({ status: 'releasing', closedAt: at, closeReason: ofProbe ? 'probe-succeeded' : 'redrive-succeeded' });
            expect(s.effects.some((e) => e.kind === 'probe' && e.outcome === 'succeeded')).toBe(closes && ofProbe);
          }
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
    // The histories reach what the new semantics are about (else the properties are vacuous).
    for (const what of ['failing', 'opened:without-successes', 'opened:with-successes', 'pass:excused-by-successes', 'closed:probe-succeeded', 'closed:redrive-succeeded', 'hold', 'pass']) {
      expect([what, (reached.get(what) ?? 0) > 0]).toEqual([what, true]);
    }
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
      fc.property(arbSettings, fc.integer({ min: 2, max: 30 }), fc.array(fc.nat(), { minLength: 30, maxLength: 30 }), fc.nat({ max: 100 }), (settings, writers, order, legacy) => {
        // Everyone counted its failed redrive before anyone wrote (the worst case): all read the
        // same closed state, with successes at most a quarter of the failed redrives and any
        // number of legacy first failures.
        const r = settings.redriveFailureThreshold - 1 + writers;
        const counts = { [counterName(T0, settings, 'r')]: r, [counterName(T0, settings, 's')]: Math.floor(r / 4), [counterName(T0, settings, 'c')]: legacy };
        const item = new Item(failingFor({ ...CLOSED_STATE, counts }, T0, settings));
        const read = item.state;
        const ids = Array.from({ length: writers }, (_, i) => i).sort((a, b) => (order[a] ?? 0) - (order[b] ?? 0));
        const steps = ids.map((i) => item.transition({ kind: 'failure', at: T0, executionArn: `e-${i}`, redriveCount: 1 }, settings, read));
        expect(steps.filter((s) => s.effects.some((e) => e.kind === 'opened'))).toHaveLength(1);
        expect(steps.every((s) => verdictOf(s) === 'hold')).toBe(true);
        expect(item.state.version).toBe(read.version + 1);
      }),
      RUNS,
    );
  });

  it('concurrent writers seeing failing redrives for the first time: one records it, every failure passes (it opens only later)', () => {
    fc.assert(
      fc.property(arbSettings, fc.integer({ min: 2, max: 30 }), fc.array(fc.nat(), { minLength: 30, maxLength: 30 }), (arb, writers, order) => {
        const settings = { ...arb, openAfterSeconds: arb.openAfterSeconds || undefined }; // not 0: that opens at first sight (above)
        const item = new Item({ ...CLOSED_STATE, counts: { [counterName(T0, settings, 'r')]: settings.redriveFailureThreshold - 1 + writers } });
        const read = item.state;
        const ids = Array.from({ length: writers }, (_, i) => i).sort((a, b) => (order[a] ?? 0) - (order[b] ?? 0));
        const steps = ids.map((i) => item.transition({ kind: 'failure', at: T0 + i, executionArn: `e-${i}`, redriveCount: 1 }, settings, read));
        expect(steps.every((s) => verdictOf(s) === 'pass')).toBe(true);
        expect(steps.filter((s) => s.effects.some((e) => e.kind === 'failing'))).toHaveLength(1);
        expect(item.state).toMatchObject({ status: 'closed', version: read.version + 1, opensAt: item.state.failingSince! + confirmationMs(settings, 0) });
      }),
      RUNS,
    );
  });

  it('concurrent first failures alone never open it, nor failed redrives with successes above a quarter of them', () => {
    fc.assert(
      fc.property(arbSettings, fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 10_000 }), (settings, r, legacy) => {
        const counts = { [counterName(T0, settings, 'r')]: r, [counterName(T0, settings, 's')]: Math.floor(r / 4) + 1, [counterName(T0, settings, 'c')]: legacy };
        const item = new Item({ ...CLOSED_STATE, counts });
        const read = item.state;
        for (let i = 0; i < 10; i++) expect(verdictOf(item.transition({ kind: 'failure', at: T0 + i, executionArn: `e-${i}`, redriveCount: i % 2 }, settings, read))).toBe('pass');
        expect(item.state).toBe(read);
      }),
      RUNS,
    );
  });

  it('a probe outcome reported by both the event path and the drain moves the breaker once, whichever is first; a second probe cannot start while one is in flight', () => {
    fc.assert(
      fc.property(
        arbSettings,
        fc.constantFrom('succeeded' as const, 'same-error' as const, 'different-error' as const),
        fc.constantFrom('succeeded' as const, 'same-error' as const, 'different-error' as const, 'inconclusive' as const, 'not-started' as const),
        fc.boolean(),
        fc.boolean(),
        (settings, outcome, late, eventPathFirst, twoStarters) => {
          const item = new Item(step(failingFor({ ...CLOSED_STATE, counts: { [counterName(T0, settings, 'r')]: settings.redriveFailureThreshold } }, T0, settings), { kind: 'failure', at: T0, executionArn: 'e', redriveCount: 1 }, settings).state);
          expect(item.state.status).toBe('open');
          const due = item.state.nextProbeAt!;
          const read = item.state;
          const a = item.transition({ kind: 'probe-started', probe: { executionArn: 'e-a', redriveCount: 0, token: 'A', startedAt: due } }, settings, read);
          const b = twoStarters ? item.transition({ kind: 'probe-started', probe: { executionArn: 'e-b', redriveCount: 0, token: 'B', startedAt: due } }, settings, read) : undefined;
          expect(a.changed).toBe(true);
          if (b) expect(b.changed).toBe(false);
          const afterStart = item.state;
          // The event path learns a success from the SUCCEEDED event, a failure from the next FAILED one.
          const byEventPath: Observation =
            outcome === 'succeeded'
              ? { kind: 'success', at: due + 1000, executionArn: 'e-a', redriveCount: 1, redriveStartedAt: due }
              : { kind: 'probe-result', token: 'A', outcome, at: due + 1000 };
          const byDrain: Observation = { kind: 'probe-result', token: 'A', outcome, at: due + 1000 };
          const [first, second] = eventPathFirst ? [byEventPath, byDrain] : [byDrain, byEventPath];
          const r1 = item.transition(first, settings, afterStart);
          const r2 = item.transition(second, settings, afterStart);
          // A late report of any outcome (the drain looking again) changes nothing either.
          const r3 = item.transition({ kind: 'probe-result', token: 'A', outcome: late, at: due + 2000 }, settings, afterStart);
          expect(r1.changed).toBe(true);
          expect(r2.changed).toBe(false);
          expect(r3.changed).toBe(false);
          expect(item.state.version).toBe(afterStart.version + 1);
          expect(r1.effects).toContainEqual({ kind: 'probe', outcome });
          if (outcome === 'same-error') expect(item.state).toMatchObject({ status: 'open', probe: null, failedProbes: 1 });
          else expect(item.state).toMatchObject({ status: 'releasing', closeReason: outcome === 'succeeded' ? 'probe-succeeded' : 'probe-different-error' });
        },
      ),
      RUNS,
    );
  });

  it('a redrive success and a probe result racing: one close, one reason', () => {
    fc.assert(
      fc.property(arbSettings, fc.constantFrom('succeeded' as const, 'same-error' as const, 'different-error' as const, 'not-started' as const), fc.boolean(), (settings, outcome, successFirst) => {
        const open = step(failingFor({ ...CLOSED_STATE, counts: { [counterName(T0, settings, 'r')]: settings.redriveFailureThreshold } }, T0, settings), { kind: 'failure', at: T0, executionArn: 'e', redriveCount: 1 }, settings).state;
        const due = open.nextProbeAt!;
        const item = new Item(step(open, { kind: 'probe-started', probe: { executionArn: 'e-a', redriveCount: 0, token: 'A', startedAt: due } }, settings).state);
        const read = item.state;
        const success: Observation = { kind: 'success', at: due + 500, executionArn: 'e-other', redriveCount: 2, redriveStartedAt: T0 + 1 };
        const result: Observation = { kind: 'probe-result', token: 'A', outcome, at: due + 500 };
        const steps = (successFirst ? [success, result] : [result, success]).map((o) => item.transition(o, settings, read));
        const closes = steps.flatMap((s) => s.effects.filter((e) => e.kind === 'closed'));
        expect(closes).toHaveLength(1);
        expect(item.state.status).toBe('releasing');
        expect(item.state.probe).toBeNull();
      }),
      RUNS,
    );
  });
});
