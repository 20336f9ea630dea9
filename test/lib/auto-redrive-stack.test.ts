/**
 * AutoRedriveStack: props from CDK context (cdk.json or -c key=value), errors that name
 * the context key, and cdk.json's documented defaults. Bundling is skipped here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { ENV } from '../../contract/environment';
import { CONTEXT } from '../../lib/auto-redrive-stack';
import { statusChangePattern, watchedStatusesOf } from '../../contract/event-pattern';
import { ACCOUNT, REGION, logicalIdOf, nagFindings, newAutoRedriveStack, removeOutdirs } from './helpers';

afterAll(removeOutdirs);

const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'));

function synth(context: Record<string, unknown>) {
  const stack = newAutoRedriveStack(context);
  return { stack, template: Template.fromStack(stack) };
}

test('cdk.json runs bin/auto-redrive.ts with tsx', () => {
  expect(cdkJson.app).toBe('npx tsx bin/auto-redrive.ts');
});

test("cdk.json's context values are the construct defaults (same template as no context)", () => {
  const fromCdkJson = synth(cdkJson.context).template.toJSON();
  const withoutContext = synth({}).template.toJSON();
  expect(fromCdkJson).toEqual(withoutContext);
});

test('context values given as strings (cdk synth -c key=value)', () => {
  const { stack, template } = synth({
    [CONTEXT.statuses]: 'FAILED, ABORTED',
    [CONTEXT.stateMachineArns]: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:a,arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:b`,
    [CONTEXT.reservedConcurrency]: '4',
    [CONTEXT.redriveRatePerSecond]: '25',
    [CONTEXT.drainIntervalMinutes]: '2',
    [CONTEXT.logRetentionDays]: '14',
    [CONTEXT.removalPolicy]: 'destroy',
    [CONTEXT.publishEvents]: 'false',
    // Without the canary, which would join the listed machines (test/lib/canary.test.ts).
    [CONTEXT.canary]: 'false',
  });
  const ar = stack.autoRedrive;
  const resources = template.toJSON().Resources;
  expect(resources[logicalIdOf(stack, ar.rule)].Properties.EventPattern).toEqual(
    statusChangePattern({
      statuses: ['FAILED', 'ABORTED'],
      stateMachineArns: [
        `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:a`,
        `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:b`,
      ],
    }),
  );
  const controller = resources[logicalIdOf(stack, ar.controller)].Properties;
  expect(controller.ReservedConcurrentExecutions).toBe(4);
  expect(controller.Environment.Variables[ENV.redriveRatePerSecond]).toBe('25');
  expect(controller.Environment.Variables[ENV.eventBusName]).toBeUndefined();
  template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(2 minutes)' });
  template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
  expect(resources[logicalIdOf(stack, ar.policyTable)].DeletionPolicy).toBe('Delete');
  expect(nagFindings(stack)).toEqual([]);
});

test('JSON array given as a string', () => {
  // The canary fails with FAILED: without it, FAILED may be left out.
  const { stack, template } = synth({ [CONTEXT.statuses]: '["TIMED_OUT"]', [CONTEXT.canary]: false });
  expect(watchedStatusesOf(template.toJSON().Resources[logicalIdOf(stack, stack.autoRedrive.rule)].Properties.EventPattern))
    .toEqual(['TIMED_OUT']);
});

describe('invalid context: the error names the context key', () => {
  test.each([
    [CONTEXT.reservedConcurrency, 'ten', /^Context 'auto-redrive:reservedConcurrency': must be a number, got "ten"$/],
    [CONTEXT.reservedConcurrency, 0, /^Context 'auto-redrive:reservedConcurrency': AutoRedrive: reservedConcurrency must be between 1 and 1000, got 0$/],
    [CONTEXT.redriveRatePerSecond, 5000, /^Context 'auto-redrive:redriveRatePerSecond': AutoRedrive: redriveRatePerSecond must be between/],
    [CONTEXT.describeRatePerSecond, '0', /^Context 'auto-redrive:describeRatePerSecond': .*describeRatePerSecond must be between/],
    [CONTEXT.statuses, 'FAILED,DONE', /^Context 'auto-redrive:statuses': AutoRedrive: statuses: 'DONE' is not one of/],
    [CONTEXT.statuses, { FAILED: true }, /^Context 'auto-redrive:statuses': must be a list of strings/],
    [CONTEXT.statuses, '[FAILED', /^Context 'auto-redrive:statuses': is not valid JSON/],
    [CONTEXT.stateMachineArns, ['orders'], /^Context 'auto-redrive:stateMachineArns': AutoRedrive: stateMachineArns\[0\] 'orders' is not a state machine ARN/],
    [CONTEXT.drainIntervalMinutes, 1.5, /^Context 'auto-redrive:drainIntervalMinutes': must be a whole number, got 1.5$/],
    [CONTEXT.reconcileEveryMinutes, 0, /^Context 'auto-redrive:reconcileEveryMinutes': AutoRedrive: reconcileEvery must be at least 1 minute/],
    [CONTEXT.reconcileLookbackHours, 400, /^Context 'auto-redrive:reconcileLookbackHours': AutoRedrive: reconcileLookback must be between 1 and 336 hours/],
    [CONTEXT.auditRetentionDays, 0, /^Context 'auto-redrive:auditRetentionDays': AutoRedrive: auditRetention must be at least 1 day/],
    [CONTEXT.policyCacheTtlSeconds, 7200, /^Context 'auto-redrive:policyCacheTtlSeconds': AutoRedrive: policyCacheTtl must be between 1 and 3600 seconds/],
    [CONTEXT.logRetentionDays, 31, /^Context 'auto-redrive:logRetentionDays': must be one of 1, 3, 5, 7, 14, 30,/],
    [CONTEXT.removalPolicy, 'keep', /^Context 'auto-redrive:removalPolicy': must be one of retain, destroy, snapshot, got 'keep'$/],
    [CONTEXT.publishEvents, 'yes', /^Context 'auto-redrive:publishEvents': must be true or false, got "yes"$/],
  ])('%s = %j', (key, value, message) => {
    expect(() => synth({ [key]: value })).toThrow(message);
  });
});
