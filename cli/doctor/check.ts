/**
 * What a doctor check is and what it reports. Every check answers with one status:
 * ok, warn (works, but something needs a look), fail (auto-redrive is not redriving,
 * or will not, until fixed) or not-checked (the check could not run; `reason` says why).
 * warn and fail carry the fix.
 */

export const CHECK_STATUSES = ['ok', 'warn', 'fail', 'not-checked'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export interface CheckResult {
  readonly status: CheckStatus;
  /** One line: what was found (or, for not-checked, why it could not run). */
  readonly detail: string;
  /** What to do, for warn and fail. */
  readonly fix?: string;
  /** Structured findings for `-o json` (names, counts, ages). */
  readonly data?: Record<string, unknown>;
}

export interface Check<Env> {
  /** Stable id for scripts (`-o json`), e.g. `kill-switch`. */
  readonly id: string;
  /** What is checked, for people, e.g. `kill switch`. */
  readonly title: string;
  /** Longest the check may take before it is reported as not checked. */
  readonly timeoutMs?: number;
  run(env: Env): Promise<CheckResult>;
}

/**
 * Thrown (by a check or a shared fact it needs) when the check cannot run: the runner
 * reports `not-checked` with this message as the reason, not an error.
 */
export class NotChecked extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'NotChecked';
  }
}

export const ok = (detail: string, data?: Record<string, unknown>): CheckResult => ({ status: 'ok', detail, data });
export const warn = (detail: string, fix: string, data?: Record<string, unknown>): CheckResult => ({ status: 'warn', detail, fix, data });
export const fail = (detail: string, fix: string, data?: Record<string, unknown>): CheckResult => ({ status: 'fail', detail, fix, data });
export const notChecked = (reason: string, data?: Record<string, unknown>): CheckResult => ({ status: 'not-checked', detail: reason, data });

/** The AWS error name, e.g. AccessDenied, or undefined for other errors. */
export function errorName(e: unknown): string {
  return (e as { name?: string })?.name ?? 'Error';
}

/** An error as one short line: `Name: message`. */
export function errorLine(e: unknown): string {
  const message = String((e as { message?: string })?.message ?? e).replace(/\s*\n\s*/g, ' ');
  return `${errorName(e)}: ${message}`.slice(0, 300);
}

/** Whether an AWS error says the caller may not make the call. */
export function isAccessDenied(e: unknown): boolean {
  return /AccessDenied|UnauthorizedOperation|NotAuthorized|UnrecognizedClient|InvalidClientTokenId|ExpiredToken/i.test(errorName(e));
}
