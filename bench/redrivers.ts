/**
 * The redrivers every simulated world is run with: the naive redriver, auto-redrive with
 * the default policy and the breaker turned off (what auto-redrive did before the
 * breaker), and auto-redrive with the default policy as shipped (breaker on).
 */
import type { RedriverSpec } from './sim-scenario';

export const NAIVE_SPEC: RedriverSpec = { kind: 'naive', label: 'naive' };

/** The documented way to turn the breaker off for a policy (README policy table). */
export const BREAKER_OFF_FIELDS: Record<string, unknown> = { breaker: { enabled: false } };

export const BREAKER_OFF_SPEC: RedriverSpec = {
  kind: 'auto-redrive',
  label: 'breaker off',
  policy: { stateMachine: '*', ...BREAKER_OFF_FIELDS },
  note: 'POLICY_DEFAULTS (3 redrives, 60 s × 2^n up to 3600 s, FULL jitter, default nonRetryableErrors), breaker turned off',
};

export const BREAKER_ON_SPEC: RedriverSpec = {
  kind: 'auto-redrive',
  label: 'breaker on',
  policy: { stateMachine: '*' },
  note: 'POLICY_DEFAULTS as shipped, breaker on',
};

export type RedriverKey = 'naive' | 'breakerOff' | 'breakerOn';
export const REDRIVERS: Record<RedriverKey, RedriverSpec> = { naive: NAIVE_SPEC, breakerOff: BREAKER_OFF_SPEC, breakerOn: BREAKER_ON_SPEC };
