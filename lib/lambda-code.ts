/**
 * The code of the constructs' Lambda functions: the bundles `npm run build` puts in
 * dist/assets/<name>/ (scripts/bundle.ts), deployed as they are. One code path: the
 * installed package ships them next to dist/lib; in a clone, the CDK CLI builds them
 * before synth (cdk.json "build") and jest in its global setup.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { BUNDLE_HANDLER, type LambdaBundleName } from '../contract/lambda-bundles';

/** dist/assets seen from dist/lib (the package), then from lib/ (a clone running the sources). */
const ASSET_ROOTS = [path.join(__dirname, '..', 'assets'), path.join(__dirname, '..', 'dist', 'assets')];

/** The directory holding the bundle `name` (index.js and its source map). */
export function bundleDir(name: LambdaBundleName): string {
  for (const root of ASSET_ROOTS) {
    const dir = path.join(root, name);
    if (fs.existsSync(path.join(dir, 'index.js'))) return dir;
  }
  throw new Error(
    `auto-redrive: the '${name}' Lambda bundle is missing (no index.js in ${ASSET_ROOTS.map((r) => path.join(r, name)).join(' or ')}). ` +
      'An installed package ships it: reinstall auto-redrive. In a clone of auto-redrive, run `npm run build:assets`.',
  );
}

export interface BundledCode {
  readonly code: lambda.Code;
  readonly handler: string;
}

export function bundledCode(name: LambdaBundleName): BundledCode {
  return { code: lambda.Code.fromAsset(bundleDir(name)), handler: BUNDLE_HANDLER };
}
