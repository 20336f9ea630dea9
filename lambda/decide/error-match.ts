/**
 * Error-name matching with States Language semantics: `States.ALL` matches any error,
 * `Prefix.*` matches names starting with `Prefix.`, anything else matches exactly.
 */

export const STATES_ALL = 'States.ALL';

export function errorMatches(pattern: string, errorName: string | null): boolean {
  if (pattern === STATES_ALL || pattern === '*') return true;
  if (errorName === null) return false;
  if (pattern.endsWith('.*')) return errorName.startsWith(pattern.slice(0, -1));
  return pattern === errorName;
}

/** The first pattern in `patterns` that matches, or undefined. */
export function firstMatch(patterns: readonly string[], errorName: string | null): string | undefined {
  return patterns.find((p) => errorMatches(p, errorName));
}
