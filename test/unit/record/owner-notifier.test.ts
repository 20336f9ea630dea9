/** Owner events: which detail-type, what the detail carries, and PutEvents failures surfacing. */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { CAUSE_LIMIT, DETAIL_TYPE_EXHAUSTED, DETAIL_TYPE_SKIPPED, OWNER_EVENT_SOURCE } from '../../../contract/owner-events';
import { type Decision, type SkipReason, skipDecision } from '../../../lambda/decide/decision';
import type { FailureFacts } from '../../../lambda/record/failure-ledger';
import { consoleUrl, EventBridgeNotifier, MemoryNotifier, ownerEvent } from '../../../lambda/record/owner-notifier';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:orders:run/1';
const FACTS: FailureFacts = {
  executionArn: ARN,
  redriveCount: 3,
  stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:orders',
  account: '123456789012',
  region: 'eu-west-1',
  name: 'run/1',
  status: 'FAILED',
  startDate: 1,
  stopDate: 2,
  errorName: 'Lambda.ServiceException',
  cause: 'stored cause',
  policyKey: 'orders-*',
};
const skip = (reason: SkipReason): Decision => skipDecision(reason, `because ${reason}`, { policyKey: 'orders-*', redriveCount: 3, errorName: 'Lambda.ServiceException' });

it.each<[SkipReason, string]>([
  ['limit-reached', DETAIL_TYPE_EXHAUSTED],
  ['error-not-retryable', DETAIL_TYPE_SKIPPED],
  ['policy-invalid', DETAIL_TYPE_SKIPPED],
])('%s is announced as "%s"', (reason, detailType) => {
  expect(ownerEvent(skip(reason), FACTS, 'boom')).toEqual({
    detailType,
    detail: {
      executionArn: ARN,
      stateMachineArn: FACTS.stateMachineArn,
      reason,
      detail: `because ${reason}`,
      error: 'Lambda.ServiceException',
      cause: 'boom',
      redriveCount: 3,
      policyKey: 'orders-*',
      consoleUrl: 'https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn%3Aaws%3Astates%3Aeu-west-1%3A123456789012%3Aexecution%3Aorders%3Arun%2F1',
    },
  });
});

it('carries at most CAUSE_LIMIT characters of the cause, and a null cause as null', () => {
  expect(ownerEvent(skip('limit-reached'), FACTS, 'x'.repeat(CAUSE_LIMIT + 10)).detail.cause).toBe('x'.repeat(CAUSE_LIMIT));
  expect(ownerEvent(skip('limit-reached'), FACTS, null).detail.cause).toBeNull();
});

it('consoleUrl points at the execution in its own region', () => {
  expect(consoleUrl('arn:x', 'ap-south-1')).toBe('https://ap-south-1.console.aws.amazon.com/states/home?region=ap-south-1#/v2/executions/details/arn%3Ax');
});

describe('EventBridgeNotifier', () => {
  const client = new EventBridgeClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  const eb = mockClient(client);
  beforeEach(() => eb.reset());

  it('puts one event on the configured bus, with the execution as its resource', async () => {
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    await new EventBridgeNotifier(client, 'team-bus').notify(skip('limit-reached'), FACTS, 'boom');
    const calls = eb.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(1);
    const [entry] = calls[0].args[0].input.Entries!;
    expect(entry).toEqual({ EventBusName: 'team-bus', Source: OWNER_EVENT_SOURCE, DetailType: DETAIL_TYPE_EXHAUSTED, Detail: expect.any(String), Resources: [ARN] });
    expect(JSON.parse(entry.Detail!)).toEqual(ownerEvent(skip('limit-reached'), FACTS, 'boom').detail);
  });

  it('throws when EventBridge refuses the entry (the caller retries the event)', async () => {
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
    await expect(new EventBridgeNotifier(client, 'team-bus').notify(skip('limit-reached'), FACTS, null)).rejects.toThrow(`PutEvents failed for ${ARN}: InternalFailure`);
  });
});

it('MemoryNotifier keeps the events it was given', async () => {
  const memory = new MemoryNotifier();
  await memory.notify(skip('policy-invalid'), FACTS, null);
  expect(memory.events).toEqual([ownerEvent(skip('policy-invalid'), FACTS, null)]);
});
