#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AutoRedriveMemberStack, AutoRedriveStack, CONTEXT, memberStackRequested } from '../lib/auto-redrive-stack';

const app = new App();

new AutoRedriveStack(app, 'AutoRedrive', {
  // Environment-agnostic unless the CLI resolved an account/Region (cdk deploy does).
  env: {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: process.env.CDK_DEFAULT_REGION,
  },
});

// Organization mode, member side (docs/organizations.md): only with `-c auto-redrive:member=true`
// plus the central stack's outputs as context. Deployed with `cdk deploy AutoRedriveMember`
// in each member account and Region, or synthesized (`cdk synth AutoRedriveMember`) as a
// StackSet template. Always environment-agnostic: the template names no account or Region,
// so one template serves every stack instance.
if (memberStackRequested(app)) {
  new AutoRedriveMemberStack(app, 'AutoRedriveMember');
}

// cdk-nag AwsSolutions checks on demand: `npx cdk synth -c auto-redrive:nag=true`
// (the tests always run them). cdk-nag v3 is a CDK policy-validation plugin: any
// unacknowledged finding fails the synth and is listed in the validation report.
// cdk-nag is a devDependency, so it is loaded only when asked for.
const nag = app.node.tryGetContext(CONTEXT.nag);
if (nag === true || nag === 'true') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { AwsSolutionsChecks } = require('cdk-nag') as typeof import('cdk-nag');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}
