/**
 * The shape of a row of the settings table (contract/settings.ts): the units a setting can
 * have, how each is written in context and environment, and the fields a row may carry.
 * Kept apart from the rows so the table stays one readable list.
 */

/** Prefix of every context key the app reads. */
export const CONTEXT_PREFIX = 'auto-redrive:';

/** Units of duration settings: the construct takes a Duration, context and env a whole number of these. */
export const DURATION_UNITS = ['milliseconds', 'seconds', 'minutes', 'hours', 'days'] as const;
export type DurationUnit = (typeof DURATION_UNITS)[number];

/** How a unit's values are written in context and environment: lists are comma-separated there. */
export const UNIT_KIND = {
  milliseconds: 'number',
  seconds: 'number',
  minutes: 'number',
  hours: 'number',
  days: 'number',
  count: 'number',
  'per second': 'number',
  boolean: 'boolean',
  statuses: 'list',
  'state machine ARNs': 'list',
  'role ARNs': 'list',
  'account ids': 'list',
  Regions: 'list',
  'event bus ARN': 'string',
  'event bus': 'string',
  Region: 'string',
  'organization id': 'string',
  'external id': 'string',
  name: 'string',
  URL: 'string',
  'e-mail address': 'string',
  choice: 'string',
} as const satisfies Record<DurationUnit, 'number'> & Record<string, 'number' | 'boolean' | 'string' | 'list'>;

/** The units of the settings (durations first). */
export type SettingUnit = keyof typeof UNIT_KIND;

export interface NumberRange {
  readonly min: number;
  /** @default - no upper bound */
  readonly max?: number;
  readonly integer: boolean;
}

export interface Setting {
  /** Property of `AutoRedriveProps`; `organization.<name>` for a field of its `organization` prop. */
  readonly prop?: string;
  /** Property of `AutoRedriveMemberProps`. */
  readonly memberProp?: string;
  /** The props' type when it is not the plain value (a Duration in `unit`s, a CDK enum or construct). */
  readonly propType?: 'Duration' | 'logs.RetentionDays' | 'RemovalPolicy' | 'events.IEventBus' | 'AutoRedriveOrganization';
  /** cdk.json context key (`auto-redrive:<name>`). */
  readonly context?: `${typeof CONTEXT_PREFIX}${string}`;
  /** Environment variable the Lambdas read it from (names in contract/environment.ts). */
  readonly env?: string;
  readonly unit: SettingUnit;
  /** Numeric range, in `unit`. */
  readonly range?: NumberRange;
  /** The only values accepted. */
  readonly allowed?: readonly string[];
  /** A further rule, in words (a relation to another setting, a format). */
  readonly rule?: string;
  /** The default in `unit` (absent when the default is not a value: see `defaultText`). */
  readonly default?: number | boolean | string | readonly string[];
  /** The default in words, when it is not (only) a value. */
  readonly defaultText?: string;
  /** Value cdk.json documents when it is not `default`: empty means "the default" there. */
  readonly contextDefault?: '' | readonly [];
  readonly meaning: string;
}
