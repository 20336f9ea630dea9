/**
 * Every relative link and image in README.md and docs/ points to a file or folder that
 * exists, and every `#anchor` into a Markdown page is a heading there.
 */
import * as fs from 'fs';
import * as path from 'path';
import { anchorsOf, githubSlug, headings, isExternal, type Link, links, markdownPages, ROOT } from './markdown';

const rel = (file: string) => path.relative(ROOT, file);
const where = (l: Link) => `${rel(l.file)}:${l.line} (${l.target})`;

describe('githubSlug (GitHub heading anchors)', () => {
  test.each([
    ['Runbook: Dead-letter queue not empty', 'runbook-dead-letter-queue-not-empty'],
    ['Backoff, rate limit and quotas', 'backoff-rate-limit-and-quotas'],
    ['2a. Member stacks with `cdk deploy` (per account and Region)', '2a-member-stacks-with-cdk-deploy-per-account-and-region'],
    ['Sizing: 100 accounts × 10,000 failures per day', 'sizing-100-accounts--10000-failures-per-day'],
    ['What the controller does about each fault', 'what-the-controller-does-about-each-fault'],
    ['snake_case and UPPER', 'snake_case-and-upper'],
  ])('%s -> %s', (heading, slug) => {
    expect(githubSlug(heading)).toBe(slug);
  });

  test('repeated headings get -1, -2; code fences are not headings; link text is the heading text', () => {
    const md = ['# A', '## A', '```sh', '# not a heading', '```', '### A', '## See [the runbook](runbook.md)'].join('\n');
    expect(headings(md).map((h) => h.slug)).toEqual(['a', 'a-1', 'a-2', 'see-the-runbook']);
  });
});

describe('links in README.md and docs/', () => {
  const pages = markdownPages();
  const all = pages.flatMap((p) => links(p));

  test('the pages are the ones expected and have links to check', () => {
    expect(pages.map(rel)).toEqual(expect.arrayContaining(['README.md', 'docs/runbook.md', 'docs/benchmarks.md']));
    expect(all.filter((l) => !isExternal(l.target)).length).toBeGreaterThan(50);
  });

  test('link extraction: code is skipped, link text may be code or wrap a line', () => {
    const md = [
      'See [`a.ts`](../a.ts) and `[not](b.md)`,',
      'an ![image](c.svg "title") and [a wrapped',
      'link](d.md#x).',
      '```md',
      '[in a fence](e.md)',
      '```',
    ].join('\n');
    expect(links('x.md', md).map((l) => [l.line, l.image, l.target])).toEqual([
      [1, false, '../a.ts'],
      [2, true, 'c.svg'],
      [2, false, 'd.md#x'],
    ]);
  });

  test('every relative link and image points to a file or folder that exists', () => {
    const missing = all
      .filter((l) => !isExternal(l.target) && !l.target.startsWith('#'))
      .filter((l) => !fs.existsSync(path.resolve(path.dirname(l.file), decodeURIComponent(l.target.split('#')[0]))))
      .map(where);
    expect(missing).toEqual([]);
  });

  test('images are files (SVG or bitmap) in the repository', () => {
    const images = all.filter((l) => l.image);
    expect(images.map((l) => path.relative(ROOT, path.resolve(path.dirname(l.file), l.target)))).toEqual(
      expect.arrayContaining(['docs/story.svg', 'bench/results/outage.svg']),
    );
    const bad = images.filter((l) => isExternal(l.target) || !/\.(svg|png|jpe?g|gif)$/i.test(l.target)).map(where);
    expect(bad).toEqual([]);
  });

  test('every #anchor into a Markdown page is a heading of that page', () => {
    const broken = all
      .filter((l) => !isExternal(l.target) && l.target.includes('#'))
      .filter((l) => {
        const [file, anchor] = l.target.split('#');
        const target = file === '' ? l.file : path.resolve(path.dirname(l.file), file);
        if (!target.endsWith('.md') || !fs.existsSync(target)) return false; // existence is the test above
        return !anchorsOf(target).has(anchor);
      })
      .map(where);
    expect(broken).toEqual([]);
  });
});
