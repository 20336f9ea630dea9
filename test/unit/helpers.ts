/** Shared builders for the unit tests: real fixtures, policies, facts. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionFacts } from '../../lambda/decide/decision';
import type { FailureFacts } from '../../lambda/record/failure-ledger';
import { parseStatusChange, type StatusChange } from '../../lambda/event/status-change';
import { POLICY_DEFAULTS, type RedrivePolicy } from '../../contract/policy-schema';

const FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'status-change-events');

export const FIXTURES = {
  failed0: '01-failed-redrivable-count0.json',
  running1: '02-running-after-redrive-count1.json',
  failed1: '03-failed-after-redrive-count1.json',
  failed2: '04-failed-after-redrive-count2.json',
  succeeded3: '05-succeeded-after-redrive-count3.json',
} as const;
export type FixtureName = keyof typeof FIXTURES;

/** A fresh, mutable copy of a real event (never shared between tests). */
 
export function rawFixture(name: FixtureName): any {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, FIXTURES[name]), 'utf8'));
}

/** A real event, parsed; throws if it does not parse (that is its own test's failure). */
export function fixtureEvent(name: FixtureName, overrides: Partial<StatusChange> = {}): StatusChange {
  const r = parseStatusChange(rawFixture(name));
  if (!r.ok) throw new Error(`fixture ${name} does not parse: ${r.error.message}`);
  return { ...r.event, ...overrides };
}

export const EXECUTION_ARN =
  'arn:aws:states:us-east-1:123456789012:execution:MyStateMachine-gddoyum7f:0e3a7824-7ec2-4ced-9aef-61f71fbef1b5';
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:MyStateMachine-gddoyum7f';

export function policy(overrides: Partial<RedrivePolicy> = {}): RedrivePolicy {
  return {
    key: '*',
    enabled: POLICY_DEFAULTS.enabled,
    maxRedrives: POLICY_DEFAULTS.maxRedrives,
    intervalSeconds: POLICY_DEFAULTS.intervalSeconds,
    backoffRate: POLICY_DEFAULTS.backoffRate,
    maxDelaySeconds: POLICY_DEFAULTS.maxDelaySeconds,
    jitter: POLICY_DEFAULTS.jitter,
    errorEquals: POLICY_DEFAULTS.errorEquals,
    nonRetryableErrors: POLICY_DEFAULTS.nonRetryableErrors,
    statuses: POLICY_DEFAULTS.statuses,
    dryRun: POLICY_DEFAULTS.dryRun,
    description: undefined,
    onExhausted: POLICY_DEFAULTS.onExhausted,
    holdMarginHours: POLICY_DEFAULTS.holdMarginHours,
    breaker: POLICY_DEFAULTS.breaker,
    approval: POLICY_DEFAULTS.approval,
    ...overrides,
  };
}

export function facts(overrides: Partial<ExecutionFacts> = {}): ExecutionFacts {
  return { paused: false, highestRecordedFailure: null, thisFailure: null, current: null, ...overrides };
}

/** The first failure of run-1 of the `orders` machine, as the ledger keeps it (T0: when it is handled). */
export const T0 = 1_700_000_000_000;
export function failureFacts(overrides: Partial<FailureFacts> = {}): FailureFacts {
  return {
    executionArn: 'arn:aws:states:us-east-1:123456789012:execution:orders:run-1',
    redriveCount: 0,
    stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:orders',
    account: '123456789012',
    region: 'us-east-1',
    name: 'run-1',
    status: 'FAILED',
    startDate: T0 - 60_000,
    stopDate: T0 - 1_000,
    errorName: 'Lambda.ServiceException',
    cause: 'payment API returned 503',
    policyKey: '*',
    ...overrides,
  };
}
