/** --stack: tables and DLQ from a deployed stack's CloudFormation outputs. */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { CliContext } from '../../cli/context';
import { stackTargets } from '../../cli/stack-outputs';

const cfn = mockClient(CloudFormationClient);
afterEach(() => cfn.reset());

const outputs = [
  { OutputKey: 'PolicyTableName', OutputValue: 'AutoRedrive-PolicyTable-1' },
  { OutputKey: 'LedgerTableName', OutputValue: 'AutoRedrive-LedgerTable-2' },
  { OutputKey: 'DeadLetterQueueUrl', OutputValue: 'https://sqs.us-east-1.amazonaws.com/123456789012/dlq' },
];

test('reads the tables and the DLQ from the outputs', async () => {
  cfn.on(DescribeStacksCommand, { StackName: 'AutoRedrive' }).resolves({ Stacks: [{ StackName: 'AutoRedrive', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: outputs }] });
  expect(await stackTargets('AutoRedrive')).toEqual({
    policyTable: 'AutoRedrive-PolicyTable-1',
    ledgerTable: 'AutoRedrive-LedgerTable-2',
    dlqUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/dlq',
  });
});

test("in a stack of the user's own app, the AutoRedrive construct's nested outputs are found", async () => {
  const nested = outputs.map((o, i) => ({ ...o, OutputKey: `AutoRedrive${o.OutputKey}${['1A2B3C4D', '5E6F7A8B', '9C0D1E2F'][i]}` }));
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'Orders', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: nested }] });
  expect(await stackTargets('Orders')).toEqual({
    policyTable: 'AutoRedrive-PolicyTable-1',
    ledgerTable: 'AutoRedrive-LedgerTable-2',
    dlqUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/dlq',
  });
  cfn.reset();
  const two = [...nested, { OutputKey: 'OtherPolicyTableName0A0B0C0D', OutputValue: 'x' }];
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'Orders', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: two }] });
  await expect(stackTargets('Orders')).rejects.toThrow('--stack Orders: more than one auto-redrive in the stack');
});

test('flags and variables win over the stack; the stack fills the rest', async () => {
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'AutoRedrive', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: outputs }] });
  const ctx = new CliContext({ output: 'json', stack: 'AutoRedrive', policyTable: 'mine' } as never, { AWS_REGION: 'us-east-1' });
  await ctx.resolve();
  expect([ctx.policyTable, ctx.ledgerTable, ctx.dlqUrl]).toEqual(['mine', 'AutoRedrive-LedgerTable-2', 'https://sqs.us-east-1.amazonaws.com/123456789012/dlq']);
});

test('a missing stack or a stack without the outputs is one clear usage error', async () => {
  cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }));
  await expect(stackTargets('Nope')).rejects.toThrow("--stack Nope: cannot read the stack's outputs: ValidationError: Stack with id Nope does not exist");
  cfn.reset();
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'Other', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }] });
  await expect(stackTargets('Other')).rejects.toThrow('--stack Other: not an auto-redrive stack');
});

test('without --stack nothing is looked up', async () => {
  const ctx = new CliContext({ output: 'json' } as never, {});
  await ctx.resolve();
  expect(cfn.calls()).toHaveLength(0);
  expect(() => ctx.policyTable).toThrow(/pass --stack <name>/);
});
