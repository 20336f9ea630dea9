/**
 * Just enough Markdown reading for the docs tests: headings, their GitHub anchors, and the
 * links and images of a page, outside code. Written here rather than pulled in as a
 * dependency: the rules needed are a few lines, and no Markdown package is installed.
 */
import * as fs from 'fs';
import * as path from 'path';

export const ROOT = path.join(__dirname, '..', '..');

/**
 * The anchor GitHub gives a heading (github-slugger): lower case; every character that is
 * not a letter, mark, number, connector punctuation (`_`), hyphen or space dropped; each
 * space a hyphen. "Runbook: Dead-letter queue not empty" -> "runbook-dead-letter-queue-not-empty".
 */
export function githubSlug(headingText: string): string {
  return headingText
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The text a heading renders as: links become their text; code and emphasis marks go with the punctuation. */
function headingText(raw: string): string {
  return raw
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\s+#+\s*$/, '')
    .trim();
}

/** Lines of a Markdown page that are not inside a fenced code block, with their 1-based numbers. */
export function proseLines(markdown: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, i) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(text)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return;
    }
    if (marker) {
      fence = marker;
      return;
    }
    out.push({ line: i + 1, text });
  });
  return out;
}

/** ATX headings outside code, in order. */
export function headings(markdown: string): Array<{ level: number; text: string; slug: string }> {
  const seen = new Map<string, number>();
  const out: Array<{ level: number; text: string; slug: string }> = [];
  for (const { text } of proseLines(markdown)) {
    const m = /^ {0,3}(#{1,6})\s+(.*)$/.exec(text);
    if (!m) continue;
    const label = headingText(m[2]);
    const base = githubSlug(label);
    // GitHub numbers repeated anchors: foo, foo-1, foo-2, ...
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.push({ level: m[1].length, text: label, slug: n === 0 ? base : `${base}-${n}` });
  }
  return out;
}

export function anchorsOf(file: string): Set<string> {
  return new Set(headings(fs.readFileSync(file, 'utf8')).map((h) => h.slug));
}

export interface Link {
  readonly file: string;
  readonly line: number;
  readonly image: boolean;
  readonly target: string;
}

/** Inline links and images outside code blocks and code spans (link text may wrap lines). */
export function links(file: string, markdown = fs.readFileSync(file, 'utf8')): Link[] {
  const lines = markdown.split('\n').map(() => '');
  for (const { line, text } of proseLines(markdown)) {
    // Blank code spans (same length): a link inside one is code, while a link whose text
    // is a code span ([`x`](y)) keeps its brackets and target.
    lines[line - 1] = text.replace(/(`+).*?\1/g, (span) => ' '.repeat(span.length));
  }
  const prose = lines.join('\n');
  const re = /(!?)\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
  return [...prose.matchAll(re)].map((m) => ({
    file,
    line: prose.slice(0, m.index).split('\n').length,
    image: m[1] === '!',
    target: m[3],
  }));
}

/** README.md and every Markdown page under docs/. */
export function markdownPages(): string[] {
  const docs = path.join(ROOT, 'docs');
  return [
    path.join(ROOT, 'README.md'),
    ...fs
      .readdirSync(docs, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.md'))
      .map((f) => path.join(docs, f))
      .sort(),
  ];
}

export const isExternal = (target: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(target);
