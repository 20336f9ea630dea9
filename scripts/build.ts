/**
 * `npm run build` (also `prepack`): what the package ships, in dist/.
 *   dist/lib, dist/contract   the construct library, compiled by tsc (tsconfig.build.json), with .d.ts
 *   dist/assets/<name>/       the Lambda bundles (scripts/bundle.ts)
 *   dist/cli/redrivectl.js    redrivectl, bundled (started by cli/redrivectl.cjs)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LAMBDA_BUNDLES } from '../contract/lambda-bundles';
import { CLI_BUNDLE, DIST, ROOT, bundleAll, lambdaEntries } from './bundle';

async function main(): Promise<void> {
  // tsc output is rebuilt from scratch so a removed module cannot linger in the package;
  // the bundles are rewritten only when they change (scripts/bundle.ts).
  for (const dir of ['lib', 'contract', 'lambda']) rmSync(join(DIST, dir), { recursive: true, force: true });
  // A bundle no longer built (renamed or removed) must not ship.
  const assets = join(DIST, 'assets');
  for (const name of existsSync(assets) ? readdirSync(assets) : []) {
    if (!(name in LAMBDA_BUNDLES)) rmSync(join(assets, name), { recursive: true, force: true });
  }
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit', cwd: ROOT });
  await bundleAll([...lambdaEntries(), CLI_BUNDLE], { analyze: process.argv.includes('--analyze'), log: (l) => console.log(l) });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
