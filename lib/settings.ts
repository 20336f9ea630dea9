/**
 * The CDK side of the settings table (contract/settings.ts): its values as CDK types
 * (Duration, RemovalPolicy), shared by the construct's validation and the stack's
 * context reading.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { DurationUnit, Setting } from '../contract/settings';

/** Milliseconds per duration unit of the table. */
export const UNIT_MS: Readonly<Record<DurationUnit, number>> = {
  milliseconds: 1,
  seconds: 1_000,
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
};

/** `amount` of a duration setting's unit as a Duration (`Duration.minutes(5)` rather than 300000 ms). */
export function durationOf(unit: DurationUnit, amount: number): Duration {
  switch (unit) {
    case 'milliseconds':
      return Duration.millis(amount);
    case 'seconds':
      return Duration.seconds(amount);
    case 'minutes':
      return Duration.minutes(amount);
    case 'hours':
      return Duration.hours(amount);
    case 'days':
      return Duration.days(amount);
  }
}

export function isDurationUnit(unit: Setting['unit']): unit is DurationUnit {
  return unit in UNIT_MS;
}

/** The `removalPolicy` setting's values (SETTINGS.removalPolicy.allowed) as CDK removal policies. */
export const REMOVAL_POLICIES: Readonly<Record<'retain' | 'destroy' | 'snapshot', RemovalPolicy>> = {
  retain: RemovalPolicy.RETAIN,
  destroy: RemovalPolicy.DESTROY,
  snapshot: RemovalPolicy.SNAPSHOT,
};
