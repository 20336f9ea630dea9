/**
 * Error names too generic to stand for one dependency. When one group's probe succeeds,
 * open groups of other state machines with the same error name probe at once (the
 * breaker's sibling probes, docs/breaker.md "A shared dependency recovers"): that is only
 * evidence when the name means one dependency. These do not:
 *
 * - `States.*`: Step Functions' own errors (States.TaskFailed, States.Timeout,
 *   States.Permissions, ...) say how a state failed, not what it called.
 * - `Lambda.Unknown`: an unhandled error of one function, including its own out-of-memory
 *   and timeout (Step Functions: "Handle Lambda service exceptions").
 * - `Lambda.TooManyRequestsException`: the invoked function's concurrency limit (reserved
 *   or the account's pool): a property of that function and account, not a shared service.
 * - The base error types of the Lambda runtimes, which become the error name of whatever a
 *   function throws without a class of its own: `Error` (Node.js `new Error()`), `TypeError`,
 *   `Exception` and `RuntimeError` (Python), `java.lang.Exception`,
 *   `java.lang.RuntimeException` (Java), `System.Exception` (.NET).
 *
 * Not in the list: Lambda's service errors (`Lambda.ServiceException`,
 * `Lambda.AWSLambdaException`, `Lambda.SdkClientException`,
 * `Lambda.ClientExecutionTimeoutException`). They name one dependency, the Lambda service
 * itself, and a Lambda service incident failing many state machines at once is exactly the
 * recovery sibling probes are for. Neither is a custom name (`PaymentsApi.Unavailable`).
 * A wrong sibling probe costs one redrive of one held execution (a probe); a missing one
 * only waits for the group's own next probe.
 */

/** Prefixes of generic error names. */
export const GENERIC_ERROR_PREFIXES: readonly string[] = ['States.'];

/** Generic error names, exactly (Step Functions error names are case-sensitive). */
export const GENERIC_ERROR_NAMES: readonly string[] = [
  'Lambda.Unknown',
  'Lambda.TooManyRequestsException',
  'Error',
  'TypeError',
  'Exception',
  'RuntimeError',
  'java.lang.Exception',
  'java.lang.RuntimeException',
  'System.Exception',
];

/** Whether failures named `errorName` in different state machines are likely the same dependency failing. */
export function namesOneDependency(errorName: string | null): errorName is string {
  if (errorName === null || errorName === '') return false;
  return !GENERIC_ERROR_NAMES.includes(errorName) && !GENERIC_ERROR_PREFIXES.some((p) => errorName.startsWith(p));
}
