/**
 * Jest global setup: the Lambda bundles the constructs deploy (dist/assets, as
 * `npm run build:assets` makes them), so CDK tests synthesize what a deploy ships.
 */
import { bundleAll, lambdaEntries } from '../../scripts/bundle';

export default async function globalSetup(): Promise<void> {
  await bundleAll(lambdaEntries());
}
