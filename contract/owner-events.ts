/**
 * Owner events: what the controller puts on the event bus when it gives up on an
 * execution, so owning teams can route them with ordinary EventBridge rules. The Lambda
 * emits them (lambda/record/owner-notifier.ts) and the stack documents and alarms on them.
 *   source: auto-redrive
 *   detail-type: "Auto Redrive Exhausted" (limit-reached) | "Auto Redrive Skipped"
 *                (error-not-retryable, policy-invalid)
 */

export const OWNER_EVENT_SOURCE = 'auto-redrive';
export const DETAIL_TYPE_EXHAUSTED = 'Auto Redrive Exhausted';
export const DETAIL_TYPE_SKIPPED = 'Auto Redrive Skipped';
/** Longest `cause` an owner event carries (Step Functions causes can be 32 KB). */
export const CAUSE_LIMIT = 1024;
