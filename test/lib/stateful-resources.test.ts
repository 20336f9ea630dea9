/**
 * Upgrades keep data: the stateful resources keep their logical ids and key schemas. A
 * changed logical id makes `cdk deploy` create a new, empty table (or queue) and orphan the
 * retained one with every policy, ledger record or undelivered event in it. The expected
 * values are literals on purpose (not read from contract/table-definitions.ts), so a
 * change to the definitions fails here too. Bundling is skipped.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { AutoRedriveMemberStack } from '../../lib/auto-redrive-stack';
import { ACCOUNT, REGION, newApp, newAutoRedriveStack, removeOutdirs } from './helpers';

afterAll(removeOutdirs);

const POLICY_TABLE = {
  Type: 'AWS::DynamoDB::Table',
  DeletionPolicy: 'Retain',
  UpdateReplacePolicy: 'Retain',
  Properties: expect.objectContaining({
    KeySchema: [{ AttributeName: 'stateMachine', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'stateMachine', AttributeType: 'S' }],
  }),
};

const LEDGER_TABLE = {
  Type: 'AWS::DynamoDB::Table',
  DeletionPolicy: 'Retain',
  UpdateReplacePolicy: 'Retain',
  Properties: expect.objectContaining({
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'dueShard', AttributeType: 'S' },
      { AttributeName: 'dueAt', AttributeType: 'N' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: 'byDue',
        KeySchema: [
          { AttributeName: 'dueShard', KeyType: 'HASH' },
          { AttributeName: 'dueAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
    TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
  }),
};

const QUEUE = { Type: 'AWS::SQS::Queue' };

function stateful(template: Template): Record<string, unknown> {
  const resources = template.toJSON().Resources as Record<string, { Type: string }>;
  return Object.fromEntries(
    Object.entries(resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table' || r.Type === 'AWS::SQS::Queue'),
  );
}

describe('AutoRedriveStack keeps the logical ids and key schemas of its stateful resources', () => {
  test.each([
    ['single account', {}],
    [
      'organization mode',
      { 'auto-redrive:organization': true, 'auto-redrive:memberAccounts': ['111111111111'], 'auto-redrive:externalId': 'abc12345' },
    ],
  ])('%s', (_name, context) => {
    const stack = newAutoRedriveStack(context);
    expect(stateful(Template.fromStack(stack))).toEqual({
      AutoRedrivePolicyTable0C3A0C8C: POLICY_TABLE,
      AutoRedriveLedgerTable53235CAF: LEDGER_TABLE,
      AutoRedriveDeadLetterQueue9AF742EA: expect.objectContaining(QUEUE),
    });
  });
});

test('AutoRedriveMemberStack keeps the logical id of its forwarding dead-letter queue', () => {
  const app = newApp({
    'auto-redrive:member': true,
    'auto-redrive:centralEventBusArn': `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/AutoRedriveCentral`,
    'auto-redrive:controllerRoleArns': [`arn:aws:iam::${ACCOUNT}:role/a`],
    'auto-redrive:externalId': 'abc12345',
  });
  const stack = new AutoRedriveMemberStack(app, 'AutoRedriveMember');
  expect(stateful(Template.fromStack(stack))).toEqual({
    AutoRedriveMemberDeadLetterQueueFBD38FB9: expect.objectContaining(QUEUE),
  });
});
