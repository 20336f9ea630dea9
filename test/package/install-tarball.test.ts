/**
 * The package as a CDK app gets it: `npm pack` (which builds it: prepack), the tarball
 * installed into a fresh app outside the repository (a copy of examples/consumer-app in
 * the OS temp directory), compiled with its own tsconfig against the package's .d.ts,
 * and synthesized in a child process, as the CDK CLI runs an app. The app can reach
 * neither the repository's sources nor esbuild: the install is offline with an empty npm
 * cache, and the third-party packages it needs (the peers aws-cdk-lib and constructs, the
 * one dependency zod, @types/node) are linked from the repository's node_modules, as a
 * registry install would provide them. The template must hold the rule, both Lambdas and
 * the policy writer deployed from the package's pre-built bundles, and the policy items.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CANARY_POLICY } from '../../contract/canary';

const execFileAsync = promisify(execFile);
/**
 * Runs the heavy steps (npm, tsc, synth) at a lower CPU priority where `nice` exists: they
 * share the machine with the other jest worker, whose tests keep real-time deadlines.
 */
const NICE = '/usr/bin/nice';
const run = (command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; maxBuffer?: number } = {}) =>
  existsSync(NICE)
    ? execFileAsync(NICE, ['-n', '10', command, ...args], { ...options, encoding: 'utf8' })
    : execFileAsync(command, [...args], { ...options, encoding: 'utf8' });
const ROOT = join(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'consumer-app');
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const BILLING = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:billing`;

interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: ReadonlyArray<{ path: string; size: number }>;
}

let work: string;
let app: string;
let packed: PackResult;
let installed: string;
let template: any;
let assets: any;
let synthStderr: string;

/** Links a package of the repository's node_modules into the app's package.json, as `file:`. */
const linked = (name: string) => `file:${realpathSync(join(ROOT, 'node_modules', name))}`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'auto-redrive-package-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  packed = JSON.parse(stdout.slice(stdout.indexOf('[')))[0];

  app = join(work, 'orders-app');
  cpSync(EXAMPLE, app, { recursive: true, filter: (src) => !/\/(node_modules|build|cdk\.out)(\/|$)/.test(src) });
  const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  pkg.dependencies = {
    'auto-redrive': `file:${join(work, packed.filename)}`,
    'aws-cdk-lib': linked('aws-cdk-lib'),
    constructs: linked('constructs'),
    // The package's one dependency: from the registry in a real install.
    zod: linked('zod'),
    '@types/node': linked('@types/node'),
  };
  delete pkg.devDependencies; // the CLI and the compiler come from the repository here
  writeFileSync(join(app, 'package.json'), JSON.stringify(pkg, null, 2));
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--cache', join(work, 'npm-cache')], { cwd: app });
  installed = join(app, 'node_modules', 'auto-redrive');

  // Type-check and compile the app against the package's declarations (the example's tsconfig).
  await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app });

  // Synthesize as the CDK CLI does: run the app with CDK_OUTDIR set (App synthesizes on exit).
  const synth = await run(process.execPath, [join(app, 'build', 'bin', 'app.js')], {
    cwd: app,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, CDK_OUTDIR: join(app, 'cdk.out'), CDK_DEFAULT_ACCOUNT: ACCOUNT, CDK_DEFAULT_REGION: REGION },
  });
  synthStderr = synth.stderr;
  template = JSON.parse(readFileSync(join(app, 'cdk.out', 'Orders.template.json'), 'utf8'));
  assets = JSON.parse(readFileSync(join(app, 'cdk.out', 'Orders.assets.json'), 'utf8'));
}, 600_000); // pack, offline install, tsc and synth: ~45 s on a quiet machine, minutes on a loaded one

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the tarball', () => {
  test('holds the compiled library with its declarations, the bundles and the CLI; no sources, no tests', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'cli/redrivectl.cjs',
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/lib/auto-redrive.d.ts',
      'dist/lib/redrive-policy.d.ts',
      'dist/contract/policy-schema.js',
      'dist/assets/controller/index.js',
      'dist/assets/controller/index.js.map',
      'dist/assets/drain/index.js',
      'dist/assets/policy-resource/index.js',
      'dist/cli/redrivectl.js',
    ]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /(^|\/)(test|bench|local|soak|examples|scripts)\//.test(f))).toEqual([]);
    // Every module the public entry reaches has its declarations.
    for (const js of files.filter((f) => /^dist\/(lib|contract)\/.*\.js$/.test(f))) expect(files).toContain(js.replace(/\.js$/, '.d.ts'));
  });

  test('package.json: one public entry, peers for the CDK, one runtime dependency, no install scripts', () => {
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(pkg.private).toBeUndefined();
    expect(pkg.exports).toEqual({ '.': { types: './dist/lib/index.d.ts', default: './dist/lib/index.js' }, './package.json': './package.json' });
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    // Everything the Lambdas and redrivectl use is inside their bundles.
    expect(Object.keys(pkg.dependencies)).toEqual(['zod']);
    expect(Object.keys(pkg.scripts ?? {}).filter((s) => /install|prepare/.test(s))).toEqual([]);
  });

  test('the app resolves the installed package, not the repository', () => {
    const resolved = require.resolve('auto-redrive', { paths: [app] });
    expect(resolved).toBe(join(installed, 'dist', 'lib', 'index.js'));
    expect(existsSync(join(installed, 'lib'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'esbuild'))).toBe(false);
  });
});

describe('the synthesized app', () => {
  const resources = (type: string) => Object.entries<any>(template.Resources).filter(([, r]) => r.Type === type);
  const functionByDescription = (re: RegExp) => {
    const found = resources('AWS::Lambda::Function').filter(([, r]) => re.test(r.Properties.Description));
    expect(found).toHaveLength(1);
    return found[0];
  };
  /** The asset directory of a function's code in cdk.out. */
  const assetDir = (fn: any): string => {
    const asset = Object.values<any>(assets.files).find((a) => Object.values<any>(a.destinations).some((d) => d.objectKey === fn.Properties.Code.S3Key));
    expect(asset).toBeDefined();
    return join(app, 'cdk.out', asset.source.path);
  };

  test('nothing was bundled at synth', () => {
    expect(synthStderr).not.toMatch(/Bundling asset/);
  });

  test('the rule sends failed and timed-out Step Functions executions, redriven ones that succeeded and the canaries\' successes, to the controller', () => {
    const [controllerId] = functionByDescription(/controller/);
    const rules = resources('AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern);
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0];
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        $or: [
          { status: ['FAILED', 'TIMED_OUT'] },
          { status: ['SUCCEEDED'], redriveCount: [{ numeric: ['>', 1] }] },
          { status: ['SUCCEEDED'], stateMachineArn: [{ wildcard: 'arn:*:states:*:*:stateMachine:AutoRedriveCanary*' }] },
        ],
      },
    });
    expect(rule.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [controllerId, 'Arn'] });
  });

  test.each([
    ['controller', /^auto-redrive controller/],
    ['drain', /^auto-redrive drain/],
    ['policy-resource', /RedrivePolicy/],
  ])('the %s Lambda is the pre-built bundle from the package, as it is', (name, description) => {
    const [, fn] = functionByDescription(description);
    expect(fn.Properties.Handler).toBe('index.handler');
    expect(fn.Properties.Runtime).toBe('nodejs22.x');
    expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    const dir = assetDir(fn);
    expect(readdirSync(dir).sort()).toEqual(['index.js', 'index.js.map']);
    expect(readFileSync(join(dir, 'index.js'))).toEqual(readFileSync(join(installed, 'dist', 'assets', name, 'index.js')));
  });

  test("the custom resources hold exactly the app's two policy items and the canary's", () => {
    // The app's own machine; the other is the canary (AutoRedriveCanary-Orders).
    const [ordersMachineId] = resources('AWS::StepFunctions::StateMachine').find(([, r]) => r.Properties.StateMachineName === undefined)!;
    const [writerId] = functionByDescription(/RedrivePolicy/);
    const policyTable = resources('AWS::DynamoDB::Table').find(([id]) => id.startsWith('AutoRedrivePolicyTable'))!;
    const policies = resources('Custom::AutoRedrivePolicy')
      .map(([, r]) => r.Properties)
      .sort((x, y) => String(x.Policy.managedBy).localeCompare(String(y.Policy.managedBy)));
    expect(policies).toEqual([
      {
        ServiceToken: { 'Fn::GetAtt': [writerId, 'Arn'] },
        TableName: { Ref: policyTable[0] },
        Policy: { ...CANARY_POLICY, errorEquals: [...CANARY_POLICY.errorEquals], breaker: { ...CANARY_POLICY.breaker }, managedBy: 'Orders/AutoRedrive/CanaryPolicy' },
      },
      {
        ServiceToken: { 'Fn::GetAtt': [writerId, 'Arn'] },
        TableName: { Ref: policyTable[0] },
        Policy: {
          // formatArn(): the partition stays a reference; the custom resource validates the resolved key.
          stateMachine: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:states:${REGION}:${ACCOUNT}:stateMachine:billing`]] },
          maxRedrives: 2,
          statuses: ['FAILED', 'TIMED_OUT'],
          jitter: 'NONE',
          dryRun: true,
          description: 'billing: owned by the payments team',
          managedBy: expect.stringMatching(/^Orders\/AutoRedrive\/PolicyOrdersBilling[0-9A-F]{8}$/),
        },
      },
      {
        ServiceToken: { 'Fn::GetAtt': [writerId, 'Arn'] },
        TableName: { Ref: policyTable[0] },
        Policy: { stateMachine: { Ref: ordersMachineId }, maxRedrives: 5, intervalSeconds: 120, errorEquals: ['Lambda.*'], managedBy: 'Orders/OrdersRedrive' },
      },
    ]);
  });
});

test("redrivectl runs from the installed package's bin (its bundle, no TypeScript)", async () => {
  const bin = join(app, 'node_modules', '.bin', 'redrivectl');
  const file = join(work, 'policies.json');
  writeFileSync(file, JSON.stringify([{ stateMachine: BILLING, maxRedrives: 2 }, { stateMachine: '*', maxRedrives: 5000 }]));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  const help = await run(bin, ['policy', '--help'], { env });
  expect(help.stdout).toContain('Usage: redrivectl policy');
  const invalid = await run(bin, ['policy', 'validate', file], { env }).then(
    () => undefined,
    (e: { code: number; stdout: string }) => e,
  );
  expect(invalid?.code).toBe(1);
  expect(invalid?.stdout).toMatch(/\*\s+item 2\s+maxRedrives\s+must be from 0 to 1000/);
});
