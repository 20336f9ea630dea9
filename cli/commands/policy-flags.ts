/**
 * The `redrivectl policy put` field flags: which item field each sets, and the item a set of
 * flags makes (lists split on commas, breaker.x flags merged into the `breaker` map).
 */

/** `put` flags and the item field each one sets. Values go to the schema as typed. */
export const FIELD_FLAGS = [
  { flag: '--max-redrives <n>', option: 'maxRedrives', field: 'maxRedrives', help: 'redrives per execution (0-1000)' },
  { flag: '--interval-seconds <n>', option: 'intervalSeconds', field: 'intervalSeconds', help: 'delay before the first redrive' },
  { flag: '--backoff-rate <x>', option: 'backoffRate', field: 'backoffRate', help: 'multiplier per redrive (1.0-100)' },
  { flag: '--max-delay-seconds <n>', option: 'maxDelaySeconds', field: 'maxDelaySeconds', help: 'cap on the delay' },
  { flag: '--jitter <FULL|NONE>', option: 'jitter', field: 'jitter', help: 'jitter strategy' },
  { flag: '--error-equals <a,b>', option: 'errorEquals', field: 'errorEquals', help: 'errors to redrive (States.ALL, Prefix.*)', list: true },
  { flag: '--non-retryable-errors <a,b>', option: 'nonRetryableErrors', field: 'nonRetryableErrors', help: 'errors never redriven ("" for none)', list: true },
  { flag: '--statuses <FAILED,TIMED_OUT>', option: 'statuses', field: 'statuses', help: 'statuses covered (FAILED, TIMED_OUT, ABORTED)', list: true },
  { flag: '--enabled <true|false>', option: 'enabled', field: 'enabled', help: 'false turns the policy off' },
  { flag: '--dry-run-policy <true|false>', option: 'dryRunPolicy', field: 'dryRun', help: "the policy's dryRun: decide and record, never redrive" },
  { flag: '--description <text>', option: 'description', field: 'description', help: 'free text' },
  { flag: '--on-exhausted <skip|hold>', option: 'onExhausted', field: 'onExhausted', help: 'at maxRedrives: give up (skip) or hold for redrivectl release' },
  { flag: '--hold-margin-hours <n>', option: 'holdMarginHours', field: 'holdMarginHours', help: "give up a held failure this long before its 14-day redrive window ends (1-72)" },
  { flag: '--breaker <true|false>', option: 'breaker', field: 'breaker.enabled', help: 'the outage breaker (docs/breaker.md); false turns it off' },
  { flag: '--breaker-threshold <n>', option: 'breakerThreshold', field: 'breaker.threshold', help: 'no longer used (first failures do not open it); accepted for old scripts' },
  { flag: '--breaker-redrive-failure-threshold <n>', option: 'breakerRedriveFailureThreshold', field: 'breaker.redriveFailureThreshold', help: 'distinct executions whose redrives failed again with the same error that open it' },
  { flag: '--breaker-window-seconds <n>', option: 'breakerWindowSeconds', field: 'breaker.windowSeconds', help: 'within this many seconds' },
  { flag: '--breaker-probe-interval-seconds <n>', option: 'breakerProbeIntervalSeconds', field: 'breaker.probeIntervalSeconds', help: 'first probe interval (doubles)' },
  { flag: '--breaker-max-probe-interval-seconds <n>', option: 'breakerMaxProbeIntervalSeconds', field: 'breaker.maxProbeIntervalSeconds', help: 'cap on the probe interval' },
  { flag: '--breaker-probe-timeout-seconds <n>', option: 'breakerProbeTimeoutSeconds', field: 'breaker.probeTimeoutSeconds', help: 'a probe still running after this is checked less often until it ends' },
  { flag: '--breaker-open-after-seconds <n>', option: 'breakerOpenAfterSeconds', field: 'breaker.openAfterSeconds', help: 'how long redrives must keep failing before it opens (default: the next redrive delay + a probe interval)' },
  { flag: '--approval <true|false>', option: 'approval', field: 'approval', help: 'hold every would-be redrive for a person (redrivectl approve / reject)' },
  { flag: '--max-redrives-per-hour <n>', option: 'maxRedrivesPerHour', field: 'maxRedrivesPerHour', help: 'redrive budget: at most this many redrives of one state machine in any hour; more are held (docs/policies.md#redrive-budget)' },
  { flag: '--never-at-states <a,b>', option: 'neverAtStates', field: 'neverAtStates', help: 'states (names, * patterns) whose failures are never redriven', list: true },
  { flag: '--only-at-states <a,b>', option: 'onlyAtStates', field: 'onlyAtStates', help: 'only failures at these states are redriven (TIMED_OUT for a whole-execution timeout)', list: true },
] as const;

/** The stored `breaker` attribute as a map (it may be the shorthand true / false). */
export function breakerMap(v: unknown): Record<string, unknown> {
  if (typeof v === 'boolean' || typeof v === 'string') return { enabled: v };
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {};
}

/** Item field -> the `put` flag that sets it (for error messages). */
export const FLAG_OF: Record<string, string> = Object.fromEntries(FIELD_FLAGS.map((f) => [f.field, f.flag.split(' ')[0]]));

/** The item fields the given `put` flags set (commander's option values by option name). */
export function itemFromFlags(options: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELD_FLAGS) {
    const v = options[f.option];
    if (v === undefined) continue;
    const value =
      'list' in f && f.list
        ? String(v)
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : v;
    // breaker.x flags set one setting of the `breaker` map.
    if (f.field.startsWith('breaker.')) out.breaker = { ...breakerMap(out.breaker), [f.field.slice('breaker.'.length)]: value };
    else out[f.field] = value;
  }
  return out;
}
