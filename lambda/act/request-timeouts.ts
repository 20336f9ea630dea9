/**
 * Timeouts for every AWS SDK client of the controller. A hung request must fail and be
 * retried (or the event parked), not hold the invocation until the Lambda timeout; without
 * throwOnRequestTimeout the SDK only logs a warning.
 */
export const REQUEST_TIMEOUTS = { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true } as const;
