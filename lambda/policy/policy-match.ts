/**
 * Chooses the policy for a state machine. Keys are an exact ARN, a pattern with `*`
 * (any run of characters), or `*` alone. The most specific key wins: exact ARN, then the
 * pattern with the most literal characters, then `*`. Ties break by key order so the
 * choice is stable. No match means the controller does nothing (opt-in).
 */

export const DEFAULT_POLICY_KEY = '*';

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}

export function keyMatches(key: string, stateMachineArn: string): boolean {
  if (!key.includes('*')) return key === stateMachineArn;
  return globToRegExp(key).test(stateMachineArn);
}

/** Higher is more specific. */
function specificity(key: string): number {
  if (!key.includes('*')) return Number.MAX_SAFE_INTEGER;
  return key.replace(/\*/g, '').length;
}

/** The key of the most specific policy for `stateMachineArn`, or undefined. */
export function selectPolicyKey(keys: Iterable<string>, stateMachineArn: string): string | undefined {
  let best: string | undefined;
  for (const key of keys) {
    if (!keyMatches(key, stateMachineArn)) continue;
    if (
      best === undefined ||
      specificity(key) > specificity(best) ||
      (specificity(key) === specificity(best) && key < best)
    ) {
      best = key;
    }
  }
  return best;
}
