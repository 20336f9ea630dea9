/**
 * A quick, analytic replay of the outage scenario for candidate policies, used to pick
 * the "outage-tuned" policy that the full simulation then verifies. It uses the
 * controller's own backoff and jitter (`delaySeconds`, `jitterFraction`) and the same
 * timing model as bench/outage.ts: a delay of 0 redrives on the event path (after
 * delivery), anything else at the first drain tick (every minute) at or after it is due.
 * It ignores the drain's own duration, so it is a prediction, not a measurement.
 *
 * Each candidate is replayed twice: with the controller's jitter, and with jitter drawn
 * independently for every (execution, redrive) pair. The difference shows how much the
 * controller's jitter source changes the outcome.
 */
import { delaySeconds, jitterFraction } from '../lambda/decide/backoff';
import { POLICY_DEFAULTS, type JitterStrategy } from '../contract/policy-schema';
import { type OutageScenario, scenarioRuns } from './outage';
import { seededRandom } from './stats';

export interface CandidatePolicy {
  readonly name: string;
  readonly item: { stateMachine: '*'; maxRedrives?: number; intervalSeconds?: number; backoffRate?: number; maxDelaySeconds?: number; jitter?: JitterStrategy };
}

export interface CandidateOutcome {
  readonly name: string;
  readonly policy: CandidatePolicy['item'];
  /** With the controller's jitter (jitterFraction). */
  readonly predicted: { readonly unrecovered: number; readonly futileRedrives: number; readonly minutesToRecoverAfterOutage: number };
  /** With independent uniform jitter per redrive. */
  readonly independentJitter: { readonly unrecovered: number; readonly futileRedrives: number };
  /** Spread of the controller's jitter fraction over one execution's redrives (max - min, mean over executions). */
  readonly meanJitterSpreadWithinExecution: number;
}

export const CANDIDATES: readonly CandidatePolicy[] = [
  { name: 'default', item: { stateMachine: '*' } },
  { name: 'suggested: 5 redrives, 120 s, FULL jitter', item: { stateMachine: '*', maxRedrives: 5, intervalSeconds: 120, maxDelaySeconds: 3600 } },
  { name: '10 redrives, 120 s, FULL jitter', item: { stateMachine: '*', maxRedrives: 10, intervalSeconds: 120, maxDelaySeconds: 3600 } },
  { name: '5 redrives, 120 s, no jitter', item: { stateMachine: '*', maxRedrives: 5, intervalSeconds: 120, maxDelaySeconds: 3600, jitter: 'NONE' } },
  { name: 'outage-tuned: 6 redrives, 120 s, no jitter', item: { stateMachine: '*', maxRedrives: 6, intervalSeconds: 120, maxDelaySeconds: 3600, jitter: 'NONE' } },
];

export function searchPolicies(scenario: OutageScenario, candidates: readonly CandidatePolicy[] = CANDIDATES): CandidateOutcome[] {
  const runs = scenarioRuns(scenario).filter((r) => !r.badInput);
  const outageMs = scenario.outageMinutes * 60_000;
  const failMs = scenario.failingRunSeconds * 1000;
  const deliveryMs = scenario.deliverySeconds * 1000;
  const tick = 60_000;

  return candidates.map((candidate) => {
    const policy = {
      maxRedrives: candidate.item.maxRedrives ?? POLICY_DEFAULTS.maxRedrives,
      intervalSeconds: candidate.item.intervalSeconds ?? POLICY_DEFAULTS.intervalSeconds,
      backoffRate: candidate.item.backoffRate ?? POLICY_DEFAULTS.backoffRate,
      maxDelaySeconds: candidate.item.maxDelaySeconds ?? POLICY_DEFAULTS.maxDelaySeconds,
      jitter: candidate.item.jitter ?? POLICY_DEFAULTS.jitter,
    };
    const replay = (fraction: (arn: string, count: number) => number) => {
      let unrecovered = 0;
      let futile = 0;
      let lastRecovery = -Infinity;
      for (const run of runs) {
        // Times relative to the outage start.
        let failedAt = run.startOffsetMs + failMs;
        for (let count = 0; ; count++) {
          if (count >= policy.maxRedrives) {
            unrecovered++;
            break;
          }
          const delayMs = delaySeconds(policy, count, fraction(run.executionArn, count)) * 1000;
          const redriveAt = delayMs === 0 ? failedAt + deliveryMs : Math.ceil((failedAt + delayMs) / tick) * tick;
          if (redriveAt >= outageMs) {
            lastRecovery = Math.max(lastRecovery, redriveAt + scenario.okRunSeconds * 1000);
            break;
          }
          futile++;
          failedAt = redriveAt + failMs;
        }
      }
      return { unrecovered, futile, lastRecovery };
    };
    const actual = replay(jitterFraction);
    // A draw unrelated to the controller's: seeded from a different key per (execution, count).
    const independent = replay((arn, count) => seededRandom(Math.floor(jitterFraction(`independent:${arn}`, count) * 0x100000000))());
    let spread = 0;
    for (const run of runs) {
      const fractions = Array.from({ length: Math.max(1, policy.maxRedrives) }, (_, k) => jitterFraction(run.executionArn, k));
      spread += Math.max(...fractions) - Math.min(...fractions);
    }
    return {
      name: candidate.name,
      policy: candidate.item,
      predicted: {
        unrecovered: actual.unrecovered,
        futileRedrives: actual.futile,
        minutesToRecoverAfterOutage: Number(((actual.lastRecovery - outageMs) / 60_000).toFixed(1)),
      },
      independentJitter: { unrecovered: independent.unrecovered, futileRedrives: independent.futile },
      meanJitterSpreadWithinExecution: Number((spread / runs.length).toFixed(3)),
    };
  });
}
