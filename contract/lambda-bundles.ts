/**
 * The Lambda bundles the package ships: `npm run build` (scripts/bundle.ts) writes each
 * entry to dist/assets/<name>/index.js, and the constructs deploy that directory with the
 * handler `index.handler` (lib/lambda-code.ts).
 */
export const LAMBDA_BUNDLES = {
  controller: 'lambda/handlers/controller.ts',
  drain: 'lambda/handlers/drain.ts',
  'policy-resource': 'lambda/handlers/policy-resource.ts',
} as const;

export type LambdaBundleName = keyof typeof LAMBDA_BUNDLES;

/** The handler setting of every bundled function: index.js exports `handler`. */
export const BUNDLE_HANDLER = 'index.handler';

/**
 * Memory of every bundled function (arm64), in MB: the constructs deploy them so, and the
 * benchmark's cost model (bench/cost.ts) bills Lambda duration at this size.
 */
export const LAMBDA_MEMORY_MB = 256;
