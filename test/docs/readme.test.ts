/**
 * README.md is the front door: small, title first, then the two commands for a fresh
 * machine, then what it does, architecture, quick start, deploy and links to docs/. The
 * detail lives in docs/, and benchmark figures only in the generated report.
 */
import * as fs from 'fs';
import * as path from 'path';
import { headings, isExternal, links, markdownPages, ROOT } from './markdown';

const README = path.join(ROOT, 'README.md');
const readme = fs.readFileSync(README, 'utf8');
const MAX_BYTES = 15_000;

test(`README.md is at most ${MAX_BYTES} bytes`, () => {
  expect(Buffer.byteLength(readme, 'utf8')).toBeLessThanOrEqual(MAX_BYTES);
});

test('README.md starts with the title, then exactly the two commands, each with a comment', () => {
  const lines = readme.split('\n');
  expect(lines[0]).toBe('# auto-redrive');
  const start = lines.findIndex((l, i) => i > 0 && l.trim() !== '');
  expect(lines[start]).toBe('```sh');
  const end = lines.indexOf('```', start + 1);
  const commands = lines.slice(start + 1, end);
  expect(commands.map((l) => l.split('#')[0].trim())).toEqual(['npm ci && npm start', 'npm test']);
  for (const l of commands) expect(l).toMatch(/\s#\s+\S/);
});

test('README.md sections: what it does, architecture, quick start, deploy, documentation', () => {
  const sections = headings(readme).filter((h) => h.level === 2).map((h) => h.text);
  expect(sections).toEqual(['Architecture', 'Quick start', 'Deploy', 'Documentation']);
  expect(readme).toContain('```mermaid');
  for (const folder of ['contract/', 'lambda/', 'lib/', 'local/', 'cli/', 'scripts/', 'bench/']) {
    expect(readme).toMatch(new RegExp(`^\\| [^|]*\`${folder.replace('/', '\\/')}`, 'm'));
  }
  for (const step of ['cdk bootstrap', 'cdk deploy', 'redrivectl']) expect(readme).toContain(step);
});

test('README.md links to every page in docs/', () => {
  const linked = new Set(
    links(README)
      .filter((l) => !isExternal(l.target))
      .map((l) => path.resolve(ROOT, l.target.split('#')[0])),
  );
  const pages = markdownPages().filter((p) => p !== README);
  expect(pages.length).toBeGreaterThan(5);
  expect(pages.filter((p) => !linked.has(p)).map((p) => path.relative(ROOT, p))).toEqual([]);
});

test("README.md's settings table shows the defaults cdk.json holds (which test/lib checks against the construct)", () => {
  const context = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context as Record<string, unknown>;
  const rows = [...readme.matchAll(/^\| `(auto-redrive:[A-Za-z]+)` \| ([^|]+) \|/gm)].map((m) => [m[1], m[2].trim()] as const);
  expect(rows.length).toBeGreaterThanOrEqual(5);
  for (const [key, cell] of rows) {
    expect(context).toHaveProperty([key]);
    const code = /`([^`]*)`/.exec(cell)?.[1];
    const shown = code === undefined ? (cell === 'none' ? '' : cell) : code.startsWith('[') || /^(\d+|true|false)$/.test(code) ? JSON.parse(code) : code;
    expect({ key, default: shown }).toEqual({ key, default: context[key] });
  }
});

describe('benchmark figures live only in the generated report', () => {
  const benchmarks = fs.readFileSync(path.join(ROOT, 'docs', 'benchmarks.md'), 'utf8');
  const report = fs.readFileSync(path.join(ROOT, 'bench', 'results', 'latest.md'), 'utf8');

  test('docs/benchmarks.md links to the report and its JSON', () => {
    const targets = links(path.join(ROOT, 'docs', 'benchmarks.md')).map((l) => l.target);
    expect(targets).toEqual(expect.arrayContaining(['../bench/results/latest.md', '../bench/results/latest.json']));
  });

  test('no page repeats a line of figures from bench/results/latest.md', () => {
    // Lines with figures: table rows and the run line (date, Node, CPUs); headers excluded.
    const figureLines = report
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 30 && /\d/.test(l) && !/^\|\s*-/.test(l));
    expect(figureLines.length).toBeGreaterThan(10);
    for (const page of markdownPages()) {
      const text = fs.readFileSync(page, 'utf8');
      const copied = figureLines.filter((l) => text.includes(l));
      expect({ page: path.relative(ROOT, page), copied }).toEqual({ page: path.relative(ROOT, page), copied: [] });
    }
    expect(benchmarks).not.toMatch(/\|\s*MUST\s*\|\s*result/);
  });
});
