/**
 * Bundles the Lambda handlers and redrivectl with esbuild: one minified CommonJS file per
 * entry, the AWS SDK and every other dependency inside, so neither a deploy nor the
 * installed package needs node_modules or esbuild. The construct deploys these bundles
 * as they are (lib/lambda-code.ts), in this repository and in a consumer's app alike.
 *
 *   tsx scripts/bundle.ts             every bundle, with a size line each
 *   tsx scripts/bundle.ts --analyze   plus the inputs that take the most room
 *
 * A bundle is written only when its bytes change (esbuild's output is deterministic), and
 * by rename, so a test synthesizing from dist/assets in parallel never reads half a file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { LAMBDA_BUNDLES } from '../contract/lambda-bundles';

export const ROOT = join(__dirname, '..');
export const DIST = join(ROOT, 'dist');

export interface BundleEntry {
  /** Source file, relative to the repository root. */
  readonly entry: string;
  /** Output file, relative to the repository root. */
  readonly outfile: string;
}

/** redrivectl, loaded by cli/redrivectl.cjs when the TypeScript sources are not there (the installed package). */
export const CLI_BUNDLE: BundleEntry = { entry: 'cli/main.ts', outfile: 'dist/cli/redrivectl.js' };

export function lambdaEntries(): BundleEntry[] {
  return Object.entries(LAMBDA_BUNDLES).map(([name, entry]) => ({ entry, outfile: `dist/assets/${name}/index.js` }));
}

const OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  // The Lambda runtime (nodejs22.x); redrivectl needs Node 20.19+ (package.json engines),
  // and node22 syntax is a subset Node 20 runs.
  target: 'node22',
  format: 'cjs',
  minify: true,
  // The ESM builds of the SDK and Smithy packages tree-shake far better than their CJS
  // builds (controller: ~200 KB less). The `browser` field is ignored on platform node.
  mainFields: ['module', 'main'],
  // Linked, without the sources: stack traces map back to file and line with
  // NODE_OPTIONS=--enable-source-maps, and the map stays out of the code Lambda loads.
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'eof',
  metafile: true,
  write: false,
  logLevel: 'warning',
};

export interface BundleResult {
  readonly outfile: string;
  readonly bytes: number;
  readonly mapBytes: number;
  readonly written: boolean;
  readonly metafile: Metafile;
}

/** Writes `contents` to `file` through a temporary file and a rename, unless it holds them already. */
function writeIfChanged(file: string, contents: Uint8Array): boolean {
  if (existsSync(file) && Buffer.compare(readFileSync(file), contents) === 0) return false;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, file);
  return true;
}

export async function bundle(e: BundleEntry): Promise<BundleResult> {
  const outfile = join(ROOT, e.outfile);
  const result = await build({ ...OPTIONS, absWorkingDir: ROOT, entryPoints: [join(ROOT, e.entry)], outfile });
  let written = false;
  let bytes = 0;
  let mapBytes = 0;
  const keep = new Set<string>();
  for (const out of result.outputFiles ?? []) {
    written = writeIfChanged(out.path, out.contents) || written;
    keep.add(basename(out.path));
    if (out.path.endsWith('.map')) mapBytes = out.contents.length;
    else bytes = out.contents.length;
  }
  // A Lambda asset directory holds exactly the bundle and its map: anything else would be deployed too.
  if (e.outfile.startsWith('dist/assets/')) {
    for (const f of readdirSync(dirname(outfile))) if (!keep.has(f)) rmSync(join(dirname(outfile), f), { recursive: true, force: true });
  }
  return { outfile: e.outfile, bytes, mapBytes, written, metafile: result.metafile! };
}

/** Bytes in the bundle per npm package (or per first-level source folder), largest first. */
export function largestInputs(metafile: Metafile, top = 12): Array<[string, number]> {
  const by = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [file, input] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? relative('.', file).split('/').slice(0, 2).join('/');
      by.set(pkg, (by.get(pkg) ?? 0) + input.bytesInOutput);
    }
  }
  return [...by].sort((a, b) => b[1] - a[1]).slice(0, top);
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;

export async function bundleAll(entries: readonly BundleEntry[], options: { analyze?: boolean; log?: (line: string) => void } = {}): Promise<BundleResult[]> {
  const results = await Promise.all(entries.map(bundle));
  for (const r of results) {
    options.log?.(`${r.outfile}: ${kb(r.bytes)} (map ${kb(r.mapBytes)})${r.written ? '' : ', unchanged'}`);
    if (options.analyze) for (const [pkg, n] of largestInputs(r.metafile)) options.log?.(`    ${kb(n).padStart(7)}  ${pkg}`);
  }
  return results;
}

if (require.main === module) {
  const analyze = process.argv.includes('--analyze');
  const lambdasOnly = process.argv.includes('--lambdas');
  // Sizes on stderr: the CDK CLI runs this before synth (cdk.json "build"), and stdout may be the template.
  bundleAll(lambdasOnly ? lambdaEntries() : [...lambdaEntries(), CLI_BUNDLE], { analyze, log: (l) => console.error(l) }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
