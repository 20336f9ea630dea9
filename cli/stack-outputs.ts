/**
 * `--stack <name>`: the tables and the DLQ of a deployed AutoRedriveStack, from its
 * CloudFormation outputs (PolicyTableName, LedgerTableName, DeadLetterQueueUrl), so an
 * operator does not have to copy generated names around. In a stack of your own app the
 * AutoRedrive construct's outputs have CDK's logical ids (`AutoRedrivePolicyTableName1A2B3C4D`):
 * they are found too, when the stack holds one AutoRedrive.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { usage } from './errors';

export interface StackTargets {
  readonly policyTable?: string;
  readonly ledgerTable?: string;
  readonly dlqUrl?: string;
}

export const STACK_OUTPUTS = { policyTable: 'PolicyTableName', ledgerTable: 'LedgerTableName', dlqUrl: 'DeadLetterQueueUrl' } as const;

export async function stackTargets(stackName: string, client: CloudFormationClient = new CloudFormationClient({})): Promise<StackTargets> {
  let outputs: Record<string, string>;
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    outputs = Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (e) {
    throw usage(`--stack ${stackName}: cannot read the stack's outputs: ${(e as Error).name}: ${(e as Error).message}`);
  } finally {
    client.destroy();
  }
  for (const key of Object.values(STACK_OUTPUTS)) {
    if (outputs[key]) continue;
    const nested = nestedOutputKeys(outputs, key);
    if (nested.length > 1) throw usage(`--stack ${stackName}: more than one auto-redrive in the stack (${nested.join(', ')}); pass the tables with --policy-table and --ledger-table`);
    if (nested.length === 1) outputs[key] = outputs[nested[0]];
  }
  if (!outputs[STACK_OUTPUTS.policyTable] || !outputs[STACK_OUTPUTS.ledgerTable]) {
    throw usage(`--stack ${stackName}: not an auto-redrive stack (no ${STACK_OUTPUTS.policyTable} / ${STACK_OUTPUTS.ledgerTable} outputs)`);
  }
  return {
    policyTable: outputs[STACK_OUTPUTS.policyTable],
    ledgerTable: outputs[STACK_OUTPUTS.ledgerTable],
    dlqUrl: outputs[STACK_OUTPUTS.dlqUrl] || undefined,
  };
}

/** <construct path><key><8-hex hash>: the logical ids CDK gives output `key` nested in a construct. */
export function nestedOutputKeys(outputs: Readonly<Record<string, string>>, key: string): string[] {
  return Object.keys(outputs).filter((k) => new RegExp(`^[A-Za-z0-9]*${key}[0-9A-F]{8}$`).test(k));
}
