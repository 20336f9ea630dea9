/**
 * The construct side of the settings table (contract/settings.ts): the hand-written prop
 * interfaces name exactly the table's props, cdk.json documents exactly the table's
 * context keys and defaults, and the construct enforces each range and sets each
 * environment variable the table lists. Bundling is skipped.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'aws-cdk-lib';
import {
  CONTEXT_PREFIX,
  RUNTIME_NUMBER_IDS,
  SETTINGS,
  SETTING_LIST,
  contextDefault,
  type SettingId,
} from '../../contract/settings';
import { AutoRedrivePropError, type AutoRedriveOrganization, type AutoRedriveProps } from '../../lib/auto-redrive';
import { AutoRedriveMember, type AutoRedriveMemberProps } from '../../lib/auto-redrive-member';
import { durationOf, isDurationUnit } from '../../lib/settings';
import { ACCOUNT, REGION, newAutoRedrive, newAutoRedriveStack, newStack, removeOutdirs, synthAutoRedrive } from './helpers';

afterAll(removeOutdirs);

// ---- The prop interfaces name exactly the table's props ------------------------------------

type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Settings = typeof SETTINGS;
type PropOf<F extends 'prop' | 'memberProp'> = { [K in SettingId]: Settings[K] extends { readonly [P in F]: infer V } ? V : never }[SettingId];
type CentralProp = Exclude<PropOf<'prop'>, `organization.${string}`>;
type OrganizationField = PropOf<'prop'> extends infer P ? (P extends `organization.${infer F}` ? F : never) : never;

// Type-level: compile errors when an interface and the table disagree.
const centralKeys: Equal<keyof AutoRedriveProps, CentralProp> = true;
const organizationKeys: Equal<keyof AutoRedriveOrganization, OrganizationField> = true;
const memberKeys: Equal<keyof AutoRedriveMemberProps, PropOf<'memberProp'>> = true;

// Runtime lists of the interfaces' keys; `satisfies` makes each complete and exact.
const AUTO_REDRIVE_PROPS = {
  statuses: 1, stateMachineArns: 1, reservedConcurrency: 1, policyCacheTtl: 1, redriveRatePerSecond: 1,
  describeRatePerSecond: 1, peakFailuresPerSecond: 1, maxRateWait: 1, auditRetention: 1, drainInterval: 1, reconcileLookback: 1,
  reconcileEvery: 1, reconcileMaxRunTime: 1, claimTimeout: 1, staleEventAfter: 1, publishEvents: 1, eventBus: 1,
  logRetention: 1, removalPolicy: 1, dashboardName: 1, runbookUrl: 1, alarmEmail: 1, backlogAgeAlarmThreshold: 1, breakerOpenAlarmThreshold: 1,
  organization: 1, canary: 1, canaryInterval: 1,
} satisfies Record<keyof AutoRedriveProps, 1>;
const ORGANIZATION_PROPS = {
  memberAccounts: 1, organizationId: 1, externalId: 1, servedRegions: 1, memberRoleName: 1, eventBusName: 1,
} satisfies Record<keyof AutoRedriveOrganization, 1>;
const MEMBER_PROPS = {
  centralEventBusArn: 1, controllerRoleArns: 1, externalId: 1, organizationId: 1, roleName: 1, roleRegion: 1,
  statuses: 1, stateMachineArns: 1, canary: 1, canaryInterval: 1,
} satisfies Record<keyof AutoRedriveMemberProps, 1>;

describe('prop interfaces and the table', () => {
  const props = (pick: (s: (typeof SETTING_LIST)[number]) => string | undefined) =>
    SETTING_LIST.flatMap((s) => (pick(s) === undefined ? [] : [pick(s)!])).sort();

  test('AutoRedriveProps keys are the table props', () => {
    expect(centralKeys).toBe(true);
    expect(props((s) => (s.prop?.startsWith('organization.') ? undefined : s.prop))).toEqual(Object.keys(AUTO_REDRIVE_PROPS).sort());
  });

  test('AutoRedriveOrganization keys are the table props organization.<key>', () => {
    expect(organizationKeys).toBe(true);
    expect(props((s) => (s.prop?.startsWith('organization.') ? s.prop.slice('organization.'.length) : undefined)))
      .toEqual(Object.keys(ORGANIZATION_PROPS).sort());
  });

  test('AutoRedriveMemberProps keys are the table member props', () => {
    expect(memberKeys).toBe(true);
    expect(props((s) => s.memberProp)).toEqual(Object.keys(MEMBER_PROPS).sort());
  });
});

// ---- cdk.json -------------------------------------------------------------------------------------

describe('cdk.json', () => {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'));
  const documented = Object.fromEntries(Object.entries(cdkJson.context).filter(([k]) => k.startsWith(CONTEXT_PREFIX)));

  test("its auto-redrive:* keys and values are the table's context keys and defaults", () => {
    const expected = Object.fromEntries(SETTING_LIST.flatMap((s) => (s.context ? [[s.context, contextDefault(s)]] : [])));
    expect(documented).toEqual(expected);
  });
});

// ---- The construct enforces the table's ranges ---------------------------------------------------

/** A prop value of `amount` in the setting's unit: a Duration for duration props. */
function propValue(id: SettingId, amount: number): unknown {
  const s = SETTINGS[id];
  return 'propType' in s && s.propType === 'Duration' && isDurationUnit(s.unit) ? durationOf(s.unit, amount) : amount;
}

const construct = (props: AutoRedriveProps) => newAutoRedrive(props);

const RANGED = SETTING_LIST.filter((s) => s.range && s.prop && !s.prop.includes('.'));

describe('the construct checks each range of the table', () => {
  test.each(RANGED.map((s) => [s.id, s]))('%s', (id, s) => {
    const { min, max, integer } = s.range!;
    const prop = s.prop!;
    const attempt = (amount: number) => () => construct({ [prop]: propValue(id, amount) } as AutoRedriveProps);
    expect(attempt(min - 1)).toThrow(new RegExp(`^AutoRedrive: ${prop} must be (between ${min} and|at least ${min} )`));
    if (max !== undefined) expect(attempt(max + 1)).toThrow(new RegExp(`^AutoRedrive: ${prop} must be between ${min} and ${max}`));
    if (integer) expect(attempt(min + 0.5)).toThrow(new RegExp(`^AutoRedrive: ${prop} must be a whole number`));
  });

  test('the range bounds themselves are accepted', () => {
    const props = (pick: 'min' | 'max') =>
      Object.fromEntries(RANGED.flatMap((s) => {
        const amount = pick === 'min' ? s.range!.min : s.range!.max;
        return amount === undefined ? [] : [[s.prop!, propValue(s.id, amount)]];
      }));
    // Relations between settings still hold at the bounds used here.
    expect(() => construct({ ...props('min'), claimTimeout: Duration.seconds(61), backlogAgeAlarmThreshold: Duration.minutes(2) })).not.toThrow();
    expect(() => construct({ ...props('max'), drainInterval: Duration.minutes(1), reconcileEvery: Duration.minutes(15) })).not.toThrow();
  });
});

// ---- Errors name the prop, and the stacks its context key --------------------------------------

function thrown(f: () => unknown): AutoRedrivePropError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AutoRedrivePropError);
    return e as AutoRedrivePropError;
  }
  throw new Error('did not throw');
}

describe('AutoRedrivePropError', () => {
  test('carries the construct and the prop', () => {
    const e = thrown(() => construct({ drainInterval: Duration.minutes(10), reconcileEvery: Duration.minutes(5) }));
    expect([e.construct, e.prop, e.name]).toEqual(['AutoRedrive', 'reconcileEvery', 'AutoRedrivePropError']);
    const org = thrown(() => construct({ organization: { memberAccounts: ['111111111111'], externalId: 'x' } }));
    expect([org.construct, org.prop]).toEqual(['AutoRedrive', 'organization.externalId']);
    const member = thrown(() => new AutoRedriveMember(newStack({ agnostic: true }), 'M', {
      centralEventBusArn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/central`,
      controllerRoleArns: [`arn:aws:iam::${ACCOUNT}:role/a`],
      externalId: 'abc12345',
      roleRegion: 'moon',
    }));
    expect([member.construct, member.prop, member.message]).toEqual(['AutoRedriveMember', 'roleRegion', "AutoRedriveMember: roleRegion 'moon' is not a Region name (like eu-west-1)"]);
  });

  test.each(RANGED.filter((s) => s.context).map((s) => [s.context!, s]))('the stack names %s for an out-of-range value', (key, s) => {
    expect(() => newAutoRedriveStack({ [key]: s.range!.min - 1 })).toThrow(
      new RegExp(`^Context '${key}': AutoRedrive: ${s.prop} must be`),
    );
  });
});

// ---- The construct sets each environment variable of the table -------------------------------------

test('every runtime number reaches both Lambdas under its variable, in its unit', () => {
  const amounts = Object.fromEntries(RUNTIME_NUMBER_IDS.map((id, i) => [id, SETTINGS[id].range.min + i + 1]));
  // claimTimeout must exceed the controller's timeout; reconcileEvery must reach drainInterval.
  amounts.claimTimeoutSeconds = 200;
  const props = Object.fromEntries(RUNTIME_NUMBER_IDS.map((id) => [SETTINGS[id].prop, propValue(id, amounts[id])]));
  const t = synthAutoRedrive(props as AutoRedriveProps);
  for (const fn of [t.controllerId, t.drainId]) {
    for (const id of RUNTIME_NUMBER_IDS) expect([id, t.env(fn)[SETTINGS[id].env]]).toEqual([id, String(amounts[id])]);
  }
});
