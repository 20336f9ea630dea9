/**
 * test/README.md is a true map: every module under lambda/ and contract/ has a row, every
 * path it names exists, and test/unit/ mirrors lambda/ folder by folder, file by file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..');
const README = readFileSync(join(__dirname, 'README.md'), 'utf8');

/** Files below `dir` (repo-relative, `/`-separated) whose names end with `suffix`. */
function filesUnder(dir: string, suffix: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(suffix)) out.push(relative(ROOT, path).split('\\').join('/'));
    }
  };
  walk(join(ROOT, dir));
  return out.sort();
}

const codeSpans = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
/** A code span that names a path in the repository (not a command or an identifier). */
const isPath = (s: string) => /^(test|lambda|contract|lib|bin|cli|local|bench|docs)\/[\w./-]*$|^README\.md$/.test(s);

/** The table rows of the page: [first cell, rest of the row]. */
const rows = README.split('\n')
  .filter((line) => line.startsWith('| ') && !line.startsWith('| ---'))
  .map((line) => {
    const cells = line.split('|').slice(1, -1);
    return [cells[0], cells.slice(1).join('|')] as const;
  });
const modulesListed = new Set(rows.flatMap(([first]) => codeSpans(first)));

describe('test/README.md', () => {
  const sources = [...filesUnder('lambda', '.ts'), ...filesUnder('contract', '.ts')];

  test('has a row for every module under lambda/ and contract/', () => {
    expect(sources.length).toBeGreaterThan(30);
    expect(sources.filter((m) => !modulesListed.has(m))).toEqual([]);
  });

  test('names only paths that exist', () => {
    const named = codeSpans(README).filter(isPath);
    expect(named.filter((p) => p.startsWith('test/')).length).toBeGreaterThan(40);
    expect(named.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });

  test('every module row names at least one test file or folder', () => {
    const moduleRows = rows.filter(([first]) => codeSpans(first).some((s) => s.startsWith('lambda/') || s.startsWith('contract/')));
    expect(moduleRows.filter(([, tests]) => !codeSpans(tests).some((s) => s.startsWith('test/')))).toEqual([]);
  });
});

describe('test/unit/ mirrors lambda/', () => {
  /** Sub-folders holding TypeScript (an emptied folder left behind by a move does not count: git does not keep it). */
  const folders = (dir: string) =>
    readdirSync(join(ROOT, dir)).filter((n) => statSync(join(ROOT, dir, n)).isDirectory() && filesUnder(`${dir}/${n}`, '.ts').length > 0);

  test('each test/unit/<folder> is a lambda/<folder> (or contract/, for the shared contract)', () => {
    const lambdaFolders = folders('lambda');
    expect(folders('test/unit').filter((f) => f !== 'contract' && !lambdaFolders.includes(f))).toEqual([]);
  });

  test('each lambda/<folder> has its test/unit/<folder>, except the handlers (tested bundled, in test/integration/bundled-asset.test.ts)', () => {
    const unitFolders = folders('test/unit');
    expect(folders('lambda').filter((f) => f !== 'handlers' && !unitFolders.includes(f))).toEqual([]);
  });

  test('each unit test file is named after the module it tests', () => {
    const orphans = filesUnder('test/unit', '.test.ts').filter((file) => {
      const [, folder, name] = /^test\/unit\/([^/]+)\/(.+?)(\.property)?\.test\.ts$/.exec(file) ?? [];
      if (!folder) return true;
      const module = folder === 'contract' ? `contract/${name}.ts` : `lambda/${folder}/${name}.ts`;
      return !existsSync(join(ROOT, module));
    });
    expect(orphans).toEqual([]);
  });
});
