/**
 * The public API of the `auto-redrive` package: everything a CDK app imports. Anything
 * not exported here is internal and may change in any release.
 *
 *   import { AutoRedrive, RedrivePolicy } from 'auto-redrive';
 *
 * See docs/library.md ("Use it in your own CDK app").
 */

// The controller: rule, Lambdas, tables, dead-letter queue, dashboard and alarms.
export { AutoRedrive, AutoRedrivePropError, type AutoRedriveProps, type AutoRedriveOrganization } from './auto-redrive';
export type { AlarmKey } from './observability';
export type { AutoRedriveCanary } from './canary';

// Redrive policies as code.
export {
  RedrivePolicy,
  RedrivePolicyPropsError,
  type RedrivePolicyProps,
  type RedrivePolicyOptions,
  type RedrivePolicyBreaker,
  type AddRedrivePolicyOptions,
  type PolicyTableOwner,
} from './redrive-policy';

// Organization mode, member account side.
export { AutoRedriveMember, type AutoRedriveMemberProps } from './auto-redrive-member';

// Values the props take.
export { REDRIVABLE_STATUSES, type RedrivableStatus } from '../contract/event-pattern';
export { DEFAULT_NON_RETRYABLE_ERRORS } from '../contract/policy-schema';
