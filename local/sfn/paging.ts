/**
 * nextToken paging. The token holds the sort key of the last item returned, not an
 * offset, so executions started between two pages neither repeat nor get skipped.
 */
import { invalidToken } from './errors';

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

type SortKey = number[];

function compare(a: SortKey, b: SortKey): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * @param scope ties a token to one listing (e.g. the state machine ARN and filters),
 *   so a token replayed against a different listing is rejected as AWS does.
 */
export function paginate<T>(
  items: readonly T[],
  keyOf: (item: T) => SortKey,
  scope: string,
  limit: number,
  nextToken?: string,
): Page<T> {
  const sorted = [...items].sort((a, b) => compare(keyOf(a), keyOf(b)));
  let remaining = sorted;
  if (nextToken !== undefined) {
    const cursor = decode(nextToken, scope);
    remaining = sorted.filter((item) => compare(keyOf(item), cursor) > 0);
  }
  const page = remaining.slice(0, limit);
  if (remaining.length <= limit) return { items: page };
  const last = keyOf(page[page.length - 1]);
  return { items: page, nextToken: Buffer.from(JSON.stringify({ s: scope, k: last })).toString('base64url') };
}

function decode(token: string, scope: string): SortKey {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { s?: unknown; k?: unknown };
    if (parsed.s === scope && Array.isArray(parsed.k) && parsed.k.every((n) => typeof n === 'number')) {
      return parsed.k as SortKey;
    }
  } catch {
    // fall through: any undecodable token is simply invalid
  }
  throw invalidToken(token);
}
