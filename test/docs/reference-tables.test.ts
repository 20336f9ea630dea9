/**
 * The reference tables in docs/ name everything the contract defines: every decision kind
 * and skip reason (docs/decisions.md) and every metric (docs/observability.md). A reason or
 * metric added to contract/ without a line in the docs fails here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DECISION_KINDS, SKIP_REASONS } from '../../contract/decisions';
import { METRIC } from '../../contract/metrics';
import { ROOT } from './markdown';

const page = (name: string) => fs.readFileSync(path.join(ROOT, 'docs', name), 'utf8');

/** Table rows of a page whose first cell holds `decision` / `reason`: [decision, reason]. */
function decisionRows(markdown: string): Array<[string, string]> {
  return [...markdown.matchAll(/^\| `([a-z-]+)` \/ `([a-z-]+)` \|/gm)].map((m) => [m[1], m[2]]);
}

test('docs/decisions.md lists every decision kind and every skip reason, and nothing else', () => {
  const rows = decisionRows(page('decisions.md'));
  expect(new Set(rows.map(([kind]) => kind))).toEqual(new Set(DECISION_KINDS));
  const skips = rows.filter(([kind]) => kind === 'skip').map(([, reason]) => reason);
  expect(skips.sort()).toEqual([...SKIP_REASONS].sort());
});

test('docs/observability.md names every metric of the contract in its metrics table', () => {
  const rows = page('observability.md')
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split('|')[1]);
  const named = new Set(rows.flatMap((cell) => [...cell.matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1])));
  expect(Object.values(METRIC).filter((m) => !named.has(m))).toEqual([]);
});
