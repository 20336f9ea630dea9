/**
 * The settings table (contract/settings.ts) is consistent in itself, and the Lambda's
 * config loader (lambda/config.ts) is derived from it: the same variables, the same
 * defaults. The construct side is checked in test/lib/settings.test.ts.
 */
import { ENV, ORG_ENV } from '../../../contract/environment';
import {
  CONTEXT_KEYS,
  CONTEXT_PREFIX,
  RUNTIME_NUMBER_IDS,
  SETTINGS,
  SETTING_LIST,
  UNIT_KIND,
  contextDefault,
  settingOfProp,
  type RuntimeNumberId,
} from '../../../contract/settings';
import { type ControllerConfig, DEFAULTS, loadConfig } from '../../../lambda/config';

/** ControllerConfig's numeric fields are exactly the table's runtime numbers (type-level). */
type NumberFields = { [K in keyof ControllerConfig]-?: ControllerConfig[K] extends number ? K : never }[keyof ControllerConfig];
const sameKeys: [NumberFields] extends [RuntimeNumberId] ? ([RuntimeNumberId] extends [NumberFields] ? true : false) : false = true;

const BASE_ENV = { [ENV.policyTableName]: 'policies', [ENV.ledgerTableName]: 'ledger' };

describe('the table', () => {
  test('every setting says what it is: a meaning, and a prop, a context key or an environment variable', () => {
    expect(sameKeys).toBe(true);
    for (const s of SETTING_LIST) {
      expect([s.id, s.meaning.length > 10]).toEqual([s.id, true]);
      expect([s.id, Boolean(s.prop || s.memberProp || s.context || s.env)]).toEqual([s.id, true]);
      expect([s.id, s.default !== undefined || s.defaultText !== undefined]).toEqual([s.id, true]);
    }
  });

  test('context keys: prefixed, unique, and CONTEXT_KEYS names each by its suffix', () => {
    const keys = SETTING_LIST.flatMap((s) => (s.context ? [s.context] : []));
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) expect(key.startsWith(CONTEXT_PREFIX)).toBe(true);
    expect(Object.values(CONTEXT_KEYS).sort()).toEqual([...keys].sort());
    for (const [name, key] of Object.entries(CONTEXT_KEYS)) expect(key).toBe(`${CONTEXT_PREFIX}${name}`);
  });

  test('environment variables are names of contract/environment.ts, each used once', () => {
    const envs = SETTING_LIST.flatMap((s) => (s.env ? [s.env] : []));
    expect(new Set(envs).size).toBe(envs.length);
    const known: string[] = [...Object.values(ENV), ...Object.values(ORG_ENV)];
    expect(envs.filter((e) => !known.includes(e))).toEqual([]);
  });

  test('props are unique per construct and found by settingOfProp', () => {
    for (const construct of ['AutoRedrive', 'AutoRedriveMember'] as const) {
      const props = SETTING_LIST.flatMap((s) => {
        const p = construct === 'AutoRedrive' ? s.prop : s.memberProp;
        return p ? [p] : [];
      });
      expect(new Set(props).size).toBe(props.length);
      for (const p of props) expect(settingOfProp(construct, p)).toBeDefined();
    }
    expect(settingOfProp('AutoRedrive', 'roleName')).toBeUndefined();
    expect(settingOfProp('AutoRedriveMember', 'organization.memberRoleName')).toBeUndefined();
  });

  test('numeric defaults lie in their range; listed defaults are allowed values', () => {
    for (const s of SETTING_LIST) {
      if (s.range && typeof s.default === 'number') {
        const { min, max = Infinity, integer } = s.range;
        expect([s.id, s.default >= min && s.default <= max, !integer || Number.isInteger(s.default)]).toEqual([s.id, true, true]);
      }
      if (s.allowed && s.default !== undefined) {
        for (const v of [s.default].flat()) expect([s.id, s.allowed.includes(String(v))]).toEqual([s.id, true]);
      }
      if (s.range) expect([s.id, UNIT_KIND[s.unit]]).toEqual([s.id, 'number']);
    }
  });

  test('cdk.json values: the default, or empty where the default is not a value', () => {
    expect(contextDefault(SETTINGS.drainIntervalMinutes)).toBe(1);
    expect(contextDefault(SETTINGS.statuses)).toEqual(['FAILED', 'TIMED_OUT']);
    expect(contextDefault(SETTINGS.memberRoleName)).toBe('');
    expect(contextDefault(SETTINGS.stateMachineArns)).toEqual([]);
    for (const s of SETTING_LIST.filter((x) => x.context)) expect([s.id, contextDefault(s) !== undefined]).toEqual([s.id, true]);
  });
});

describe('lambda/config.ts is derived from the table', () => {
  test('DEFAULTS are the defaults of the settings the Lambdas read as numbers', () => {
    expect(Object.keys(DEFAULTS).sort()).toEqual([...RUNTIME_NUMBER_IDS].sort());
    for (const id of RUNTIME_NUMBER_IDS) expect(DEFAULTS[id]).toBe(SETTINGS[id].default);
    expect(DEFAULTS).toEqual({
      policyCacheTtlSeconds: 60,
      redriveRatePerSecond: 50,
      describeRatePerSecond: 5,
      peakFailuresPerSecond: 1000,
      maxRateWaitMs: 5000,
      auditRetentionDays: 30,
      staleEventAfterSeconds: 300,
      claimTimeoutSeconds: 180,
      reconcileLookbackHours: 24,
      reconcileEveryMinutes: 15,
      reconcileMaxRunHours: 24,
    });
  });

  test('loadConfig: each number from its variable, the default when unset', () => {
    const defaults = loadConfig(BASE_ENV);
    for (const id of RUNTIME_NUMBER_IDS) {
      expect(defaults[id]).toBe(DEFAULTS[id]);
      const set = loadConfig({ ...BASE_ENV, [SETTINGS[id].env]: '7' });
      expect([id, set[id]]).toEqual([id, 7]);
    }
    expect(defaults).toMatchObject({ policyTableName: 'policies', ledgerTableName: 'ledger', eventBusName: undefined });
  });

  test('loadConfig: a bad number names its variable', () => {
    expect(() => loadConfig({ ...BASE_ENV, [SETTINGS.claimTimeoutSeconds.env]: 'soon' })).toThrow(
      /^CLAIM_TIMEOUT_SECONDS: must be a positive number, got 'soon'$/,
    );
    expect(() => loadConfig({ [ENV.ledgerTableName]: 'ledger' })).toThrow(/^POLICY_TABLE_NAME: is required but not set$/);
  });
});
