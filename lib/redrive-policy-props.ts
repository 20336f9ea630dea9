/**
 * The props of a redrive policy as code (lib/redrive-policy.ts re-exports them): the policy
 * item's fields with CDK types, and where the item lives.
 */
import type { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { RedrivableStatus } from '../contract/event-pattern';
import type { OnExhausted } from '../contract/policy-schema';

/** Where a policy item lives: an AutoRedrive construct (or anything with its policy table). */
export interface PolicyTableOwner {
  readonly policyTable: dynamodb.ITable;
}

/**
 * The outage breaker of a policy (docs/breaker.md): which correlated failures open it and
 * how it probes. Every setting is optional; the defaults are the policy schema's
 * (BREAKER_DEFAULTS in contract/policy-schema.ts).
 */
export interface RedrivePolicyBreaker {
  /**
   * false: every failure is decided alone, as without a breaker.
   *
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * No longer used: first failures do not open a breaker (docs/breaker.md, "When it
   * opens"). Accepted so existing code and items stay valid. A whole number from 2 to 100,000.
   *
   * @default 20
   * @deprecated first failures no longer open the breaker; use `redriveFailureThreshold`
   */
  readonly threshold?: number;
  /**
   * Distinct executions whose redrives failed again with the same error within `window`
   * that open the breaker (while few redrives of the group succeed). A whole number from 2
   * to 100,000.
   *
   * @default 2
   */
  readonly redriveFailureThreshold?: number;
  /**
   * The counting window. Whole seconds, from 10 seconds to 1 day.
   *
   * @default Duration.seconds(300)
   */
  readonly window?: Duration;
  /**
   * First interval between probes while the breaker is open. Whole seconds, 1 second to 1 day.
   *
   * @default Duration.seconds(30)
   */
  readonly probeInterval?: Duration;
  /**
   * Longest interval between probes (the interval doubles up to it). Whole seconds.
   *
   * @default Duration.seconds(240)
   */
  readonly maxProbeInterval?: Duration;
  /**
   * A probe still running after this long is checked less often (an eighth of its age, at
   * most every 15 minutes) until it ends. Whole seconds, 10 seconds to 1 day.
   *
   * @default Duration.seconds(900)
   */
  readonly probeTimeout?: Duration;
  /**
   * How long the group's redrives must keep failing before the breaker opens (until then
   * failures follow the policy; an execution's last redrive waits for the opening). Whole
   * seconds, 0 (open at once) to 1 day.
   *
   * @default - the failed redrive's next redrive delay under the policy plus one `probeInterval`, at most `window`
   */
  readonly openAfter?: Duration;
}

/** The policy itself: every field of a policy item but its key. */
export interface RedrivePolicyOptions {
  /**
   * Redrives of one execution, at most. 0 records failures without redriving them. A whole
   * number from 0 to 1000.
   *
   * @default 3
   */
  readonly maxRedrives?: number;

  /**
   * Delay before the first redrive. Whole seconds, from 0 to 14 days (the redrive window).
   *
   * @default Duration.seconds(60)
   */
  readonly interval?: Duration;

  /**
   * Multiplier of the delay for each further redrive, from 1 to 100.
   *
   * @default 2
   */
  readonly backoffRate?: number;

  /**
   * Longest delay between two redrives. Whole seconds, from 1 second to 14 days.
   *
   * @default Duration.hours(1)
   */
  readonly maxDelay?: Duration;

  /**
   * Jitter of the delay, as in a States Language Retry.
   *
   * @default sfn.JitterType.FULL
   */
  readonly jitter?: sfn.JitterType;

  /**
   * Errors to redrive: error names, `Prefix.*` patterns, or `States.ALL` alone (for
   * example `sfn.Errors.TIMEOUT` or `'Lambda.*'`).
   *
   * @default ['States.ALL']
   */
  readonly errorEquals?: readonly string[];

  /**
   * Errors never redriven, even when `errorEquals` matches: a redrive reruns the same
   * input and definition, so these would only fail again. An empty list redrives them too.
   *
   * @default - States.Runtime, States.DataLimitExceeded, States.IntrinsicFailure, States.QueryEvaluationError, States.ResultPathMatchFailure, States.ParameterPathFailure, States.NoChoiceMatched
   */
  readonly nonRetryableErrors?: readonly string[];

  /**
   * Execution statuses the policy redrives. The AutoRedrive construct must watch them too
   * (its `statuses`): ABORTED is opt-in there as well.
   *
   * @default ['FAILED', 'TIMED_OUT']
   */
  readonly statuses?: readonly RedrivableStatus[];

  /**
   * false turns the policy off: failures of its state machines are recorded and skipped.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * Decide and record, but never redrive: to try a policy out.
   *
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * Free text, shown by `redrivectl policy get`. At most 1024 characters.
   *
   * @default - none
   */
  readonly description?: string;

  /**
   * What happens when `maxRedrives` is reached: 'skip' gives up (an `Auto Redrive
   * Exhausted` owner event), 'hold' keeps the failure held until a person releases it
   * (`redrivectl release`) or its redrive window is about to end.
   *
   * @default 'skip'
   */
  readonly onExhausted?: OnExhausted;

  /**
   * A held failure is given up this long before Step Functions' 14-day redrive window
   * ends. Whole hours, from 1 to 72.
   *
   * @default Duration.hours(24)
   */
  readonly holdMargin?: Duration;

  /**
   * The outage breaker: settings, or false to turn it off for this policy.
   *
   * @default - on, with the defaults of {@link RedrivePolicyBreaker}
   */
  readonly breaker?: RedrivePolicyBreaker | false;

  /**
   * Approval before redrive: every failure the policy would redrive is held for a person
   * instead (an `Auto Redrive Approval Requested` owner event; `redrivectl approve` redrives
   * it, `redrivectl reject` skips it), and given up `holdMargin` before its 14-day redrive
   * window ends if no one answers.
   *
   * @default false
   */
  readonly approval?: boolean;
  /**
   * The redrive budget: at most this many redrives of one state machine in any rolling
   * hour, from every path (events, the drain, releases, backfill, probes). Failures over it
   * are held (`over-budget`) and released oldest first when the budget allows; an `Auto
   * Redrive Budget Reached` owner event says when a state machine reaches it. A positive
   * whole number (docs/policies.md#redrive-budget).
   *
   * @default - no budget
   */
  readonly maxRedrivesPerHour?: number;
  /**
   * States whose failures are never redriven: state names, or patterns with `*`, matched
   * against the innermost state the execution failed at and the Parallel and Map states
   * around it (for example a Task that charges a card without an idempotency key). An
   * execution that timed out as a whole has no failed state and is not excluded. The
   * controller reads the failed state from the execution's history (docs/policies.md).
   *
   * @default - no state is excluded
   */
  readonly neverAtStates?: readonly string[];

  /**
   * Only failures at these states are redriven (names or `*` patterns, matched as
   * `neverAtStates`). A failure with no failed state (the whole execution timed out or
   * was aborted) is included only when its status (`TIMED_OUT`, `ABORTED`) is listed.
   * At least one entry.
   *
   * @default - failures at every state are redriven
   */
  readonly onlyAtStates?: readonly string[];
}

/** Properties of {@link RedrivePolicy}. */
export interface RedrivePolicyProps extends RedrivePolicyOptions {
  /**
   * The state machine the policy governs: a state machine (`new sfn.StateMachine(...)`,
   * `sfn.StateMachine.fromStateMachineArn(...)`), a state machine ARN, or a pattern of
   * ARNs with `*` (`arn:aws:states:us-east-1:123456789012:stateMachine:orders-*`), or `*`
   * for every state machine. The most specific key matching an execution applies.
   */
  readonly stateMachine: sfn.IStateMachine | string;

  /**
   * The AutoRedrive whose policy table holds the item. Exactly one of `autoRedrive` and
   * `policyTable`.
   *
   * @default - `policyTable`
   */
  readonly autoRedrive?: PolicyTableOwner;

  /**
   * The policy table of an AutoRedrive deployed elsewhere, for example
   * `dynamodb.Table.fromTableName(this, 'Policies', '<PolicyTableName output>')`. Exactly
   * one of `autoRedrive` and `policyTable`.
   *
   * @default - the policy table of `autoRedrive`
   */
  readonly policyTable?: dynamodb.ITable;
}

/** Options of `AutoRedrive.addPolicy()`. */
export interface AddRedrivePolicyOptions extends RedrivePolicyOptions {
  /**
   * Construct id of the RedrivePolicy (under the AutoRedrive construct). Required when the
   * state machine is given as an ARN token (for example `stateMachine.stateMachineArn`).
   *
   * @default - derived from the state machine construct, or from the ARN or pattern
   */
  readonly id?: string;
}

/** The construct id `addPolicy()` gives a policy: stable as long as the state machine is the same. */
