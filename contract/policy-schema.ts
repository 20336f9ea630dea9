/**
 * The policy item format: a public contract, because people edit these items by hand in
 * the DynamoDB console. Field names follow the Amazon States Language `Retry` fields
 * (ErrorEquals, IntervalSeconds, BackoffRate, MaxDelaySeconds, JitterStrategy).
 *
 * One zod schema serves the Lambda, `redrivectl policy put|validate` and `simulate`.
 * Parsing is lenient only where a value is unambiguous (the number 3 typed as the string
 * "3", `true` typed as "true", a string set instead of a list) and strict everywhere else:
 * an unknown attribute is an error, because a typo such as `maxRedrive` would otherwise
 * fall back silently to a default.
 */
import * as z from 'zod';
import { policyKeyProblem } from './policy-key';
import { DEFAULT_WATCHED_STATUSES, REDRIVABLE_STATUSES, type RedrivableStatus } from './event-pattern';

/**
 * Errors that a redrive can only reproduce: a redrive reuses the same input and the same
 * definition, so these fail again every time. https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 */
export const DEFAULT_NON_RETRYABLE_ERRORS: readonly string[] = [
  'States.Runtime', // e.g. a JSONPath that does not exist in the input
  'States.DataLimitExceeded', // payload over 256 KiB: same input, same size
  'States.IntrinsicFailure', // an intrinsic function failed on the same data
  'States.QueryEvaluationError', // a JSONata expression failed on the same data
  'States.ResultPathMatchFailure', // ResultPath cannot be applied to the same input
  'States.ParameterPathFailure', // a Parameters path is missing from the same input
  'States.NoChoiceMatched', // a Choice state with the same input matches nothing again
];

export const JITTER_STRATEGIES = ['FULL', 'NONE'] as const;
export type JitterStrategy = (typeof JITTER_STRATEGIES)[number];

/** What happens to a failure that reached `maxRedrives`: given up (skip), or held for a person. */
export const ON_EXHAUSTED = ['skip', 'hold'] as const;
export type OnExhausted = (typeof ON_EXHAUSTED)[number];

/**
 * The outage breaker of one policy (docs/breaker.md): when `redriveFailureThreshold`
 * distinct executions' redrives fail again with the same error within `windowSeconds`
 * (and few redrives of the group succeed), that (state machine, error) group is held; one
 * held execution at a time is redriven as a probe once its own backoff has passed, every
 * `probeIntervalSeconds` doubling to `maxProbeIntervalSeconds`; when a probe succeeds, the
 * held failures are released through the normal decision.
 */
export interface BreakerPolicy {
  readonly enabled: boolean;
  /** No longer used (first failures do not open a breaker); kept so older items stay valid. */
  readonly threshold: number;
  /**
   * Distinct executions whose redrives failed again with the same error that open the
   * breaker (in a trickle of isolated failures redrives succeed; one execution failing again
   * and again is a bug, not an outage).
   */
  readonly redriveFailureThreshold: number;
  readonly windowSeconds: number;
  readonly probeIntervalSeconds: number;
  readonly maxProbeIntervalSeconds: number;
  /** A probe still running after this long is checked less often, until it ends (no second probe meanwhile). */
  readonly probeTimeoutSeconds: number;
  /**
   * How long the redrives must keep failing (from when the window first says so) before it
   * opens. undefined (the default): the failed redrive's next redrive delay under the
   * policy plus one probe interval, at most the window (decide/breaker.ts confirmationMs),
   * so the successes of a flaky state machine arrive first.
   */
  readonly openAfterSeconds?: number;
}

export const BREAKER_DEFAULTS: BreakerPolicy = {
  enabled: true,
  // A burst: 20 distinct first failures in 5 minutes. A busy machine's background of ~2
  // independent failures a minute averages 10 per window (Poisson: P(>= 20) ~ 0.3%).
  threshold: 20,
  // A slow outage shows as redrives that fail again: 2 distinct executions (one poisoned
  // execution failing repeatedly never opens it).
  redriveFailureThreshold: 2,
  windowSeconds: 300,
  probeIntervalSeconds: 30,
  maxProbeIntervalSeconds: 240,
  probeTimeoutSeconds: 900,
};

/** Longest `holdMarginHours`: the drain looks for held failures this close to the end of their window. */
export const MAX_HOLD_MARGIN_HOURS = 72;

/** A validated policy, with every default applied. */
export interface RedrivePolicy {
  /** The item's `stateMachine` key: an ARN, a pattern with `*`, or `*`. */
  readonly key: string;
  readonly enabled: boolean;
  readonly maxRedrives: number;
  readonly intervalSeconds: number;
  readonly backoffRate: number;
  readonly maxDelaySeconds: number;
  readonly jitter: JitterStrategy;
  readonly errorEquals: readonly string[];
  readonly nonRetryableErrors: readonly string[];
  readonly statuses: readonly RedrivableStatus[];
  readonly dryRun: boolean;
  readonly description: string | undefined;
  /** @default 'skip' */
  readonly onExhausted: OnExhausted;
  /** A held failure is given up this long before Step Functions' 14-day redrive window ends. */
  readonly holdMarginHours: number;
  readonly breaker: BreakerPolicy;
  /**
   * Every failure the policy would redrive is held for a person (`redrivectl approve` /
   * `reject`) instead; given up `holdMarginHours` before the redrive window ends. @default false
   */
  readonly approval: boolean;
  /**
   * The redrive budget (docs/policies.md#redrive-budget): at most this many redrives of one
   * state machine in any rolling hour, from every path; failures over it are held
   * (`over-budget`) and released oldest first. undefined: no budget (the default).
   */
  readonly maxRedrivesPerHour?: number;
  /**
   * State-scoped policy (docs/policies.md, "State-scoped policies"): a failure at one of
   * these states (names or `*` patterns; the innermost failed state or a Parallel / Map
   * state enclosing it) is never redriven. Absent: no state is excluded.
   */
  readonly neverAtStates?: readonly string[];
  /** Only failures at these states are redriven (as `neverAtStates`). Absent: every state. */
  readonly onlyAtStates?: readonly string[];
}

export const POLICY_DEFAULTS = {
  enabled: true,
  maxRedrives: 3,
  intervalSeconds: 60,
  backoffRate: 2,
  maxDelaySeconds: 3600,
  jitter: 'FULL' as JitterStrategy,
  errorEquals: ['States.ALL'],
  nonRetryableErrors: DEFAULT_NON_RETRYABLE_ERRORS,
  statuses: DEFAULT_WATCHED_STATUSES,
  dryRun: false,
  onExhausted: 'skip' as OnExhausted,
  holdMarginHours: 24,
  breaker: BREAKER_DEFAULTS,
  approval: false,
};

/** Largest `maxRedrivesPerHour` (a budget is a ceiling; above this there is none worth keeping). */
export const MAX_REDRIVES_PER_HOUR = 10_000_000;

/** Longest delay a policy may ask for: the 14-day redrive window, in seconds. */
export const MAX_DELAY_LIMIT_SECONDS = 14 * 24 * 3600;

// --- lenient-but-unambiguous scalar parsers ----------------------------------------

const numeric = (what: string) =>
  z.preprocess((v) => {
    if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
    return v;
  }, z.number({ error: `must be a number (${what})` }).finite());

const integerIn = (min: number, max: number) =>
  numeric(`a whole number from ${min} to ${max}`)
    .refine((n) => Number.isInteger(n), { message: `must be a whole number from ${min} to ${max}` })
    .refine((n) => n >= min && n <= max, { message: `must be from ${min} to ${max}` });

const bool = z.preprocess((v) => {
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
  }
  return v;
}, z.boolean({ error: 'must be true or false' }));

const stringList = z.preprocess(
  (v) => (v instanceof Set ? [...v] : v),
  z.array(z.string({ error: 'every entry must be a string' }).trim().min(1, 'entries must not be empty'), {
    error: 'must be a list of strings',
  }),
);

/**
 * A state name, or a pattern with `*` (any run of characters). Step Functions allows 80
 * characters in a name; a pattern may be longer only by its `*`s, so 256 is generous.
 */
const stateNameList = stringList.superRefine((names, ctx) => {
  for (const n of names) {
    if (n.length > 256) ctx.addIssue({ code: 'custom', message: `'${n.slice(0, 40)}...' is longer than a state name or pattern can be` });
  }
});

const ERROR_NAME = /^[A-Za-z0-9_.\-:]+(\.\*)?$|^\*$/;

const errorNameList = stringList.superRefine((names, ctx) => {
  for (const n of names) {
    if (!ERROR_NAME.test(n)) ctx.addIssue({ code: 'custom', message: `'${n}' is not an error name or a 'Prefix.*' pattern` });
  }
});

/**
 * `breaker`: a map of settings, every one optional, or `false` / `true` as a shorthand for
 * `{ "enabled": false }` (easy to type in the DynamoDB console).
 */
const breakerSchema = z.preprocess(
  (v) => {
    if (v instanceof Map) return Object.fromEntries(v);
    const b = typeof v === 'string' ? v.trim().toLowerCase() : v;
    if (b === false || b === 'false') return { enabled: false };
    if (b === true || b === 'true') return { enabled: true };
    return v;
  },
  z
    .object(
      {
        enabled: bool.optional(),
        threshold: integerIn(2, 100_000).optional(),
        redriveFailureThreshold: integerIn(2, 100_000).optional(),
        windowSeconds: integerIn(10, 86_400).optional(),
        probeIntervalSeconds: integerIn(1, 86_400).optional(),
        maxProbeIntervalSeconds: integerIn(1, 86_400).optional(),
        probeTimeoutSeconds: integerIn(10, 86_400).optional(),
        openAfterSeconds: integerIn(0, 86_400).optional(),
      },
      { error: 'must be a map of breaker settings (e.g. {"enabled": false}) or false' },
    )
    .strict()
    .superRefine((b, ctx) => {
      const interval = b.probeIntervalSeconds ?? BREAKER_DEFAULTS.probeIntervalSeconds;
      const max = b.maxProbeIntervalSeconds ?? BREAKER_DEFAULTS.maxProbeIntervalSeconds;
      if (max < interval) {
        ctx.addIssue({
          code: 'custom',
          path: [b.maxProbeIntervalSeconds === undefined ? 'probeIntervalSeconds' : 'maxProbeIntervalSeconds'],
          message: `maxProbeIntervalSeconds (${max}) must be at least probeIntervalSeconds (${interval})`,
        });
      }
    }),
);

/** Raw policy item as stored (lib-dynamodb unmarshalled) or as written in a JSON file. */
export const policyItemSchema = z
  .object({
    // Not trimmed: the stored key is what matching compares, so " *" must be an error, not a silent non-match.
    stateMachine: z
      .string({ error: 'is required (state machine ARN, pattern with *, or *)' })
      .min(1)
      .refine((k) => k.trim() === k, { message: 'must not start or end with spaces' })
      .superRefine((k, ctx) => {
        const problem = k.trim() === k ? policyKeyProblem(k) : undefined;
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    enabled: bool.optional(),
    maxRedrives: integerIn(0, 1000).optional(),
    intervalSeconds: integerIn(0, MAX_DELAY_LIMIT_SECONDS).optional(),
    backoffRate: numeric('at least 1.0').refine((n) => n >= 1 && n <= 100, { message: 'must be from 1.0 to 100' }).optional(),
    maxDelaySeconds: integerIn(1, MAX_DELAY_LIMIT_SECONDS).optional(),
    jitter: z
      .preprocess((v) => (typeof v === 'string' ? v.trim().toUpperCase() : v), z.enum(JITTER_STRATEGIES, { error: 'must be FULL or NONE' }))
      .optional(),
    errorEquals: errorNameList
      .refine((l) => l.length > 0, { message: 'must list at least one error (use ["States.ALL"] for any)' })
      .refine((l) => !l.includes('States.ALL') || l.length === 1, { message: 'States.ALL must appear alone, as in the States Language' })
      .optional(),
    nonRetryableErrors: errorNameList.optional(),
    statuses: stringList
      .pipe(z.array(z.enum(REDRIVABLE_STATUSES, { error: `entries must be ${REDRIVABLE_STATUSES.join(', ')}` })))
      .refine((l) => l.length > 0, { message: 'must list at least one status' })
      .optional(),
    dryRun: bool.optional(),
    description: z.string({ error: 'must be a string' }).max(1024).optional(),
    onExhausted: z
      .preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(ON_EXHAUSTED, { error: 'must be skip or hold' }))
      .optional(),
    holdMarginHours: integerIn(1, MAX_HOLD_MARGIN_HOURS).optional(),
    breaker: breakerSchema.optional(),
    approval: bool.optional(),
    maxRedrivesPerHour: integerIn(1, MAX_REDRIVES_PER_HOUR).optional(),
    neverAtStates: stateNameList.optional(),
    onlyAtStates: stateNameList.refine((l) => l.length > 0, { message: 'must list at least one state (remove the field to redrive at every state)' }).optional(),
    // Written by redrivectl and the RedrivePolicy custom resource; informational.
    updatedAt: z.string().optional(),
    updatedBy: z.string().optional(),
    // Set on items a CDK app deploys (RedrivePolicy, contract/policy-resource.ts): the owning
    // stack. The controller ignores it; redrivectl refuses to change such an item without --force.
    managedBy: z.string({ error: 'must be a string' }).min(1).max(1024).optional(),
  })
  .strict();

export type PolicyItem = z.input<typeof policyItemSchema>;

/** One invalid field of one policy item. */
export interface PolicyIssue {
  readonly field: string;
  readonly message: string;
}

/** A policy item that failed validation: names the item and every invalid field. */
export class InvalidPolicyError extends Error {
  constructor(
    readonly policyKey: string,
    readonly issues: readonly PolicyIssue[],
  ) {
    super(`policy '${policyKey}' is invalid: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
    this.name = 'InvalidPolicyError';
  }
}

export type PolicyParseResult =
  | { readonly ok: true; readonly policy: RedrivePolicy }
  | { readonly ok: false; readonly error: InvalidPolicyError };

function keyOf(item: unknown): string {
  if (typeof item === 'object' && item !== null) {
    const k = (item as { stateMachine?: unknown }).stateMachine;
    if (typeof k === 'string') return k;
  }
  return '(no stateMachine key)';
}

export function parsePolicyItem(item: unknown): PolicyParseResult {
  const key = keyOf(item);
  const parsed = policyItemSchema.safeParse(item);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      // An unknown attribute is named with its path (breaker.enable), like every other field.
      field: i.code === 'unrecognized_keys' ? (i.keys ?? []).map((k) => [...i.path, k].join('.')).join(', ') : i.path.length ? i.path.join('.') : '(item)',
      message: i.code === 'unrecognized_keys' ? 'unknown attribute (check the spelling against docs/policies.md)' : i.message,
    }));
    return { ok: false, error: new InvalidPolicyError(key, issues) };
  }
  const p = parsed.data;
  const policy: RedrivePolicy = {
    key: p.stateMachine,
    enabled: p.enabled ?? POLICY_DEFAULTS.enabled,
    maxRedrives: p.maxRedrives ?? POLICY_DEFAULTS.maxRedrives,
    intervalSeconds: p.intervalSeconds ?? POLICY_DEFAULTS.intervalSeconds,
    backoffRate: p.backoffRate ?? POLICY_DEFAULTS.backoffRate,
    maxDelaySeconds: p.maxDelaySeconds ?? POLICY_DEFAULTS.maxDelaySeconds,
    jitter: p.jitter ?? POLICY_DEFAULTS.jitter,
    errorEquals: p.errorEquals ?? POLICY_DEFAULTS.errorEquals,
    nonRetryableErrors: p.nonRetryableErrors ?? POLICY_DEFAULTS.nonRetryableErrors,
    statuses: p.statuses ?? POLICY_DEFAULTS.statuses,
    dryRun: p.dryRun ?? POLICY_DEFAULTS.dryRun,
    description: p.description,
    onExhausted: p.onExhausted ?? POLICY_DEFAULTS.onExhausted,
    holdMarginHours: p.holdMarginHours ?? POLICY_DEFAULTS.holdMarginHours,
    breaker: { ...BREAKER_DEFAULTS, ...Object.fromEntries(Object.entries(p.breaker ?? {}).filter(([, v]) => v !== undefined)) },
    approval: p.approval ?? POLICY_DEFAULTS.approval,
    maxRedrivesPerHour: p.maxRedrivesPerHour,
    ...(p.neverAtStates?.length ? { neverAtStates: p.neverAtStates } : {}),
    ...(p.onlyAtStates ? { onlyAtStates: p.onlyAtStates } : {}),
  };
  return { ok: true, policy };
}

/** The plain-JSON item for a policy (what `redrivectl policy get` shows and `put` writes). */
export function policyToItem(policy: RedrivePolicy): Record<string, unknown> {
  const item: Record<string, unknown> = {
    stateMachine: policy.key,
    enabled: policy.enabled,
    maxRedrives: policy.maxRedrives,
    intervalSeconds: policy.intervalSeconds,
    backoffRate: policy.backoffRate,
    maxDelaySeconds: policy.maxDelaySeconds,
    jitter: policy.jitter,
    errorEquals: [...policy.errorEquals],
    nonRetryableErrors: [...policy.nonRetryableErrors],
    statuses: [...policy.statuses],
    dryRun: policy.dryRun,
    onExhausted: policy.onExhausted,
    holdMarginHours: policy.holdMarginHours,
    breaker: { ...policy.breaker },
    approval: policy.approval,
  };
  if (policy.description !== undefined) item.description = policy.description;
  if (policy.maxRedrivesPerHour !== undefined) item.maxRedrivesPerHour = policy.maxRedrivesPerHour;
  if (policy.neverAtStates) item.neverAtStates = [...policy.neverAtStates];
  if (policy.onlyAtStates) item.onlyAtStates = [...policy.onlyAtStates];
  return item;
}
