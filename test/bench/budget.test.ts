/**
 * The budget world (bench/budget.ts) at a small scale: the cap holds in every rolling hour,
 * nothing is lost, and the MUST checks and the Markdown include it. Figures come from
 * `npm run bench -- --only=budget`, not from here.
 */
import { BUDGET_SCENARIO, maxInAnyHour, runBudget } from '../../bench/budget';
import { type BenchMeta, checkMusts } from '../../bench/report';
import { renderMarkdown } from '../../bench/report-markdown';
import { MODELS } from '../../bench/run';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
jest.setTimeout(120_000);

const HOUR = 3_600_000;
const meta: BenchMeta = {
  date: 'test', node: process.version, platform: 'test', arch: 'test', nproc: 1, cpuModel: 'test', memoryGiB: 1, loadAverageAtStart: [0],
  command: 'test', scale: 'quick', durationsMs: {}, quota: null, harness: [], models: MODELS,
};

test('maxInAnyHour slides over every redrive time (not clock hours)', () => {
  const t0 = Date.UTC(2026, 0, 1, 9, 30);
  // Three at the end of one clock hour and three at the start of the next: six in one rolling hour.
  expect(maxInAnyHour([t0, t0 + 1, t0 + 2, t0 + HOUR / 2, t0 + HOUR / 2 + 1, t0 + HOUR / 2 + 2])).toBe(6);
  expect(maxInAnyHour([t0, t0 + HOUR, t0 + 2 * HOUR])).toBe(1);
});

test('a small budget world: never more than the budget in any hour, every failure recovered, one event; MUSTs and Markdown', async () => {
  const r = await runBudget({ ...BUDGET_SCENARIO, budget: 4, failures: 6, instances: 2 });
  expect(r).toMatchObject({ budget: 4, failures: 6, recovered: 6, lost: 0, redrives: 6, budgetEvents: 1 });
  expect(r.maxInAnyHour).toBeLessThanOrEqual(4);
  expect(r.redrivesPerHour).toEqual([4, 2]);
  const musts = checkMusts({ meta, budget: r });
  expect(musts.filter((m) => m.id.startsWith('budget.')).map((m) => [m.id, m.ok])).toEqual([
    ['budget.maxInAnyHour', true],
    ['budget.lost', true],
  ]);
  expect(checkMusts({ meta, budget: { ...r, maxInAnyHour: 5 } }).find((m) => m.id === 'budget.maxInAnyHour')?.ok).toBe(false);
  expect(renderMarkdown({ meta, budget: r, musts })).toContain('most redrives in any rolling hour | **4** | <= 4');
});
