/**
 * The breaker's policy fields (breaker.*, onExhausted, holdMarginHours) in the one policy
 * schema: defaults on, partial maps merged with the defaults, the console's typings
 * accepted, and every wrong type or out-of-range value rejected naming the item and the
 * field, like every other field.
 */
import { BREAKER_DEFAULTS, InvalidPolicyError, parsePolicyItem, policyToItem, type RedrivePolicy } from '../../../contract/policy-schema';
import { STATE_MACHINE_ARN } from '../helpers';

const item = (extra: Record<string, unknown>) => ({ stateMachine: STATE_MACHINE_ARN, ...extra });

function valid(raw: unknown): RedrivePolicy {
  const r = parsePolicyItem(raw);
  if (!r.ok) throw new Error(`expected a valid policy, got: ${r.error.message}`);
  return r.policy;
}

function invalid(raw: unknown): InvalidPolicyError {
  const r = parsePolicyItem(raw);
  if (r.ok) throw new Error(`expected an invalid policy, got ${JSON.stringify(r.policy)}`);
  return r.error;
}

test('an item without the fields (every item written before the breaker) has the breaker on, onExhausted skip, a 24 h margin', () => {
  expect(valid(item({ maxRedrives: 2 }))).toMatchObject({ breaker: BREAKER_DEFAULTS, onExhausted: 'skip', holdMarginHours: 24 });
  expect(BREAKER_DEFAULTS).toEqual({ enabled: true, threshold: 5, windowSeconds: 300, probeIntervalSeconds: 30, maxProbeIntervalSeconds: 240, probeTimeoutSeconds: 900 });
});

test.each([
  ['{ enabled: false }', { enabled: false }, { ...BREAKER_DEFAULTS, enabled: false }],
  ['false (shorthand)', false, { ...BREAKER_DEFAULTS, enabled: false }],
  ['"false" (a string typed in the console)', 'false', { ...BREAKER_DEFAULTS, enabled: false }],
  ['true', true, BREAKER_DEFAULTS],
  ['{} (all defaults)', {}, BREAKER_DEFAULTS],
  ['a partial map', { threshold: '10', windowSeconds: 60 }, { ...BREAKER_DEFAULTS, threshold: 10, windowSeconds: 60 }],
  ['a Map (unmarshalled M)', new Map<string, unknown>([['probeIntervalSeconds', 10]]), { ...BREAKER_DEFAULTS, probeIntervalSeconds: 10 }],
])('breaker: %s', (_label, breaker, expected) => {
  expect(valid(item({ breaker })).breaker).toEqual(expected);
});

test('onExhausted and holdMarginHours accept their values in any case / as strings', () => {
  expect(valid(item({ onExhausted: ' HOLD ', holdMarginHours: '72' }))).toMatchObject({ onExhausted: 'hold', holdMarginHours: 72 });
});

test.each([
  [{ breaker: { threshold: 1 } }, 'breaker.threshold', 'must be from 2 to 100000'],
  [{ breaker: { threshold: 'five' } }, 'breaker.threshold', 'must be a number'],
  [{ breaker: { threshold: 5.5 } }, 'breaker.threshold', 'whole number'],
  [{ breaker: { windowSeconds: 5 } }, 'breaker.windowSeconds', 'must be from 10 to 86400'],
  [{ breaker: { probeIntervalSeconds: 0 } }, 'breaker.probeIntervalSeconds', 'must be from 1 to 86400'],
  [{ breaker: { maxProbeIntervalSeconds: 10 } }, 'breaker.maxProbeIntervalSeconds', 'must be at least probeIntervalSeconds (30)'],
  [{ breaker: { probeIntervalSeconds: 600 } }, 'breaker.probeIntervalSeconds', 'maxProbeIntervalSeconds (240) must be at least probeIntervalSeconds (600)'],
  [{ breaker: { probeTimeoutSeconds: 1 } }, 'breaker.probeTimeoutSeconds', 'must be from 10 to 86400'],
  [{ breaker: { enabled: 'off' } }, 'breaker.enabled', 'must be true or false'],
  [{ breaker: { enable: false } }, 'breaker.enable', 'unknown attribute'],
  [{ breaker: 'no' }, 'breaker', 'must be a map of breaker settings'],
  [{ breaker: ['enabled'] }, 'breaker', 'must be a map of breaker settings'],
  [{ breaker: null }, 'breaker', 'must be a map of breaker settings'],
  [{ onExhausted: 'park' }, 'onExhausted', 'must be skip or hold'],
  [{ holdMarginHours: 0 }, 'holdMarginHours', 'must be from 1 to 72'],
  [{ holdMarginHours: 100 }, 'holdMarginHours', 'must be from 1 to 72'],
])('%j is rejected, naming the item and %s', (extra, field, message) => {
  const e = invalid(item(extra));
  expect(e.policyKey).toBe(STATE_MACHINE_ARN);
  expect(e.message).toContain(`policy '${STATE_MACHINE_ARN}' is invalid`);
  const issue = e.issues.find((i) => i.field === field);
  expect(issue).toBeDefined();
  expect(issue!.message).toContain(message);
});

test('policyToItem writes the effective breaker settings (what policy get shows), and they parse back the same', () => {
  const p = valid(item({ breaker: { threshold: 7 }, onExhausted: 'hold' }));
  const written = policyToItem(p);
  expect(written).toMatchObject({ onExhausted: 'hold', holdMarginHours: 24, breaker: { ...BREAKER_DEFAULTS, threshold: 7 } });
  expect(valid(written)).toEqual(p);
});
