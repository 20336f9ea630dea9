/**
 * Chooses the policy for a state machine. Keys are an exact ARN, a pattern with `*`
 * (any run of characters), or `*` alone. The most specific key wins: exact ARN, then the
 * pattern with the most literal characters, then `*`. Ties break by key order so the
 * choice is stable. No match means the controller does nothing (opt-in).
 */

export const DEFAULT_POLICY_KEY = '*';

/**
 * `*` matches any run of characters (empty included); every other character matches
 * itself. Greedy two-pointer matching that backtracks only to the most recent `*`:
 * O(pattern × text) in the worst case. (A regular expression built from the key
 * backtracks exponentially: `*a*a*a*a*a*a*b` against a 110-character ARN took seconds,
 * and a hand-edited key would then stall every invocation until its timeout.)
 */
function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1; // index of the last `*` seen in the pattern
  let resume = 0; // text index that `*` is currently assumed to end at
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

export function keyMatches(key: string, stateMachineArn: string): boolean {
  if (!key.includes('*')) return key === stateMachineArn;
  return globMatches(key, stateMachineArn);
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
