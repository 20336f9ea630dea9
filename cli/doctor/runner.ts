/**
 * Runs the doctor's checks, each isolated: a check that throws or takes longer than its
 * timeout is reported as not checked (with the reason) and the others still run. The
 * checks run concurrently; facts they share are read once (./facts.ts).
 */
import { type Check, type CheckResult, errorLine, NotChecked, notChecked } from './check';

/** Default per-check timeout. */
export const CHECK_TIMEOUT_MS = 30_000;

export interface CheckReport extends CheckResult {
  readonly id: string;
  readonly title: string;
}

class CheckTimeout extends Error {}

/** One check, never throwing: timeouts and exceptions become not-checked with the reason. */
export async function runCheck<Env>(check: Check<Env>, env: Env, defaultTimeoutMs = CHECK_TIMEOUT_MS): Promise<CheckReport> {
  const timeoutMs = check.timeoutMs ?? defaultTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout()), timeoutMs);
    timer.unref();
  });
  let result: CheckResult;
  try {
    // Promise.resolve().then: a check that throws synchronously is caught here too.
    result = await Promise.race([Promise.resolve().then(() => check.run(env)), timeout]);
  } catch (e) {
    if (e instanceof CheckTimeout) result = notChecked(`no answer within ${Math.round(timeoutMs / 1000)} s (timed out)`);
    else if (e instanceof NotChecked) result = notChecked(e.message);
    else result = notChecked(`the check could not run: ${errorLine(e)}`);
  } finally {
    clearTimeout(timer);
  }
  return { id: check.id, title: check.title, ...result };
}

/** Every check, in the order given. */
export function runChecks<Env>(checks: ReadonlyArray<Check<Env>>, env: Env, defaultTimeoutMs = CHECK_TIMEOUT_MS): Promise<CheckReport[]> {
  return Promise.all(checks.map((c) => runCheck(c, env, defaultTimeoutMs)));
}
