/**
 * Cold start of what `cdk deploy` ships: for every Lambda function in the synthesized
 * template, the size of its bundled index.js and the time a fresh Node process takes to
 * `require()` it (module initialisation: what Lambda's Init phase runs before the first
 * event). Each bundle is loaded in `runs` separate processes, one after another, and the
 * median is reported, with the template's environment (including its NODE_OPTIONS, which
 * enables source maps) and once more without NODE_OPTIONS.
 *
 * Locally this is Node on this machine's CPU; Lambda runs the template's runtime and
 * architecture (nodejs22.x, arm64) with a CPU share set by the memory size.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { median, round } from './stats';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'cdk.out');
const TEMPLATE = join(OUT, 'AutoRedrive.template.json');
const ASSETS = join(OUT, 'AutoRedrive.assets.json');

export interface FunctionColdStart {
  readonly logicalId: string;
  readonly handler: string;
  readonly runtime: string;
  readonly architecture: string;
  readonly memoryMb: number;
  readonly asset: string;
  readonly bundleBytes: number;
  readonly bundleGzipBytes: number;
  readonly initMsMedian: number;
  readonly initMsRuns: number[];
  readonly initMsMedianWithoutNodeOptions: number;
  readonly nodeOptions: string | null;
}

export interface ColdStartResult {
  readonly synth: 'ran' | 'reused' | 'failed-reused-existing';
  readonly synthMs: number;
  readonly synthError?: string;
  readonly runsPerFunction: number;
  readonly localNode: string;
  readonly functions: Record<string, FunctionColdStart>;
  /** Headline: the controller (event path) function. */
  readonly bundleBytes: number;
  readonly initMsMedian: number;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** cdk.out is fresh when its manifest is newer than every source that goes into it. */
export function cdkOutIsFresh(): boolean {
  const manifest = join(OUT, 'manifest.json');
  if (!existsSync(manifest) || !existsSync(TEMPLATE)) return false;
  const sources = ['lambda', 'lib', 'bin'].map((d) => join(ROOT, d)).filter(existsSync);
  const sourceTime = Math.max(...sources.map(newestMtime), statSync(join(ROOT, 'package-lock.json')).mtimeMs, statSync(join(ROOT, 'cdk.json')).mtimeMs);
  return statSync(manifest).mtimeMs > sourceTime;
}

interface TemplateFunction {
  readonly logicalId: string;
  readonly handler: string;
  readonly runtime: string;
  readonly architecture: string;
  readonly memoryMb: number;
  readonly assetDir: string;
  readonly env: Record<string, string>;
}

function templateFunctions(): TemplateFunction[] {
  const template = JSON.parse(readFileSync(TEMPLATE, 'utf8'));
  const assets = JSON.parse(readFileSync(ASSETS, 'utf8'));
  const functions: TemplateFunction[] = [];
  for (const [logicalId, resource] of Object.entries<any>(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const key = resource.Properties.Code?.S3Key;
    const asset = Object.values<any>(assets.files).find((a) => Object.values<any>(a.destinations).some((d) => d.objectKey === key));
    if (!asset) continue;
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries<any>(resource.Properties.Environment?.Variables ?? {})) {
      // References (table names) resolve at deploy time; any name will do for loading the module.
      env[name] = typeof value === 'string' ? value : `bench-${name.toLowerCase()}`;
    }
    functions.push({
      logicalId,
      handler: resource.Properties.Handler,
      runtime: resource.Properties.Runtime,
      architecture: (resource.Properties.Architectures ?? ['x86_64'])[0],
      memoryMb: resource.Properties.MemorySize ?? 128,
      assetDir: join(OUT, asset.source.path),
      env,
    });
  }
  return functions;
}

async function timeRequire(file: string, env: Record<string, string>): Promise<number> {
  const script = `const { performance } = require('node:perf_hooks'); const t = performance.now(); require(${JSON.stringify(file)}); process.stdout.write('INIT_MS ' + (performance.now() - t));`;
  const { stdout } = await run(process.execPath, ['-e', script], {
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
    },
  });
  const line = stdout.split('\n').find((l) => l.startsWith('INIT_MS '));
  if (!line) throw new Error(`no INIT_MS from ${file}: ${stdout.slice(0, 200)}`);
  return Number(line.slice('INIT_MS '.length));
}

export interface ColdStartOptions {
  /** 'auto': synthesize unless cdk.out is fresh. */
  readonly synth?: 'auto' | 'always' | 'never';
  readonly runs?: number;
  readonly progress?: (message: string) => void;
}

export async function runColdStart(options: ColdStartOptions = {}): Promise<ColdStartResult> {
  const runs = Math.max(7, options.runs ?? 9);
  const mode = options.synth ?? 'auto';
  let synth: ColdStartResult['synth'] = 'reused';
  let synthError: string | undefined;
  const synthStarted = Date.now();
  if (mode === 'always' || (mode === 'auto' && !cdkOutIsFresh())) {
    options.progress?.('coldStart: npx cdk synth --quiet');
    try {
      await run('npx', ['cdk', 'synth', '--quiet'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
      synth = 'ran';
    } catch (e) {
      synthError = String((e as Error).message).slice(0, 500);
      if (!existsSync(TEMPLATE)) throw e;
      synth = 'failed-reused-existing';
    }
  }
  const synthMs = Date.now() - synthStarted;

  const functions: Record<string, FunctionColdStart> = {};
  for (const fn of templateFunctions()) {
    const [file] = fn.handler.split('.');
    const bundle = join(fn.assetDir, `${file}.js`);
    const bytes = readFileSync(bundle);
    const withOptions: number[] = [];
    const withoutOptions: number[] = [];
    for (let i = 0; i < runs; i++) {
      withOptions.push(await timeRequire(bundle, fn.env));
      const rest = { ...fn.env };
      delete rest.NODE_OPTIONS;
      withoutOptions.push(await timeRequire(bundle, rest));
    }
    const name = fn.logicalId.replace(/^AutoRedrive/, '').replace(/[0-9A-F]{8}$/, '');
    functions[name] = {
      logicalId: fn.logicalId,
      handler: fn.handler,
      runtime: fn.runtime,
      architecture: fn.architecture,
      memoryMb: fn.memoryMb,
      asset: fn.assetDir.slice(ROOT.length + 1),
      bundleBytes: bytes.length,
      bundleGzipBytes: gzipSync(bytes, { level: 9 }).length,
      initMsMedian: round(median(withOptions), 1),
      initMsRuns: withOptions.map((ms) => round(ms, 1)),
      initMsMedianWithoutNodeOptions: round(median(withoutOptions), 1),
      nodeOptions: fn.env.NODE_OPTIONS ?? null,
    };
    options.progress?.(`coldStart: ${name} ${bytes.length} bytes, init median ${round(median(withOptions), 1)} ms`);
  }
  const headline = functions.Controller ?? Object.values(functions)[0];
  if (!headline) throw new Error('coldStart: no Lambda function with a local asset in cdk.out');
  return {
    synth,
    synthMs,
    synthError,
    runsPerFunction: runs,
    localNode: process.version,
    functions,
    bundleBytes: headline.bundleBytes,
    initMsMedian: headline.initMsMedian,
  };
}
