/**
 * Backoff between redrives, as the States Language computes Retry delays:
 *   delay = intervalSeconds × backoffRate^redriveCount, capped at maxDelaySeconds,
 * and with JitterStrategy FULL a uniformly drawn fraction of that delay.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 *
 * The jitter fraction is derived from (executionArn, redriveCount) instead of a random
 * number generator, so `decide()` stays a pure function and `redrivectl simulate`
 * predicts the delay the controller will actually use.
 */
import type { RedrivePolicy } from '../../contract/policy-schema';

/**
 * FNV-1a, 32 bit, then MurmurHash3's finaliser: FNV alone barely moves when only the last
 * character changes, so the redrives of one execution (same ARN, count 0, 1, 2, ...) would
 * all draw nearly the same fraction. Not a security primitive.
 */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A stable number in [0, 1) for one failure of one execution. */
export function jitterFraction(executionArn: string, redriveCount: number): number {
  return hash32(`${executionArn}#${redriveCount}`) / 0x100000000;
}

/** The un-jittered delay in seconds before redrive number `redriveCount + 1`. */
export function baseDelaySeconds(policy: Pick<RedrivePolicy, 'intervalSeconds' | 'backoffRate' | 'maxDelaySeconds'>, redriveCount: number): number {
  const raw = policy.intervalSeconds * Math.pow(policy.backoffRate, Math.max(0, redriveCount));
  // Infinity (huge exponents) is capped like any other large value.
  return Math.min(policy.maxDelaySeconds, Number.isFinite(raw) ? raw : policy.intervalSeconds === 0 ? 0 : policy.maxDelaySeconds); // 0 × Infinity is NaN
}

/** Delay in whole seconds, jitter applied. Never negative, never above maxDelaySeconds. */
export function delaySeconds(
  policy: Pick<RedrivePolicy, 'intervalSeconds' | 'backoffRate' | 'maxDelaySeconds' | 'jitter'>,
  redriveCount: number,
  fraction: number,
): number {
  const base = baseDelaySeconds(policy, redriveCount);
  const jittered = policy.jitter === 'FULL' ? base * Math.min(Math.max(fraction, 0), 1) : base;
  return Math.min(policy.maxDelaySeconds, Math.max(0, Math.round(jittered)));
}

/**
 * When the policy alone would redrive this failure: its stop plus the policy's (jittered)
 * delay for its redriveCount. decide() schedules by it; the breaker never redrives a held
 * failure (as a probe) before it, so holding can delay a redrive but never spend it sooner.
 */
export function policyDueAt(
  policy: Pick<RedrivePolicy, 'intervalSeconds' | 'backoffRate' | 'maxDelaySeconds' | 'jitter'>,
  failure: { readonly executionArn: string; readonly redriveCount: number; readonly stoppedAt: number },
): number {
  return failure.stoppedAt + delaySeconds(policy, failure.redriveCount, jitterFraction(failure.executionArn, failure.redriveCount)) * 1000;
}
