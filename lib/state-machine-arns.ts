/**
 * IAM resources derived from state machine ARNs, shared by the central construct and the
 * member construct so both grant exactly the same shape.
 */
import { Arn, ArnFormat, type Stack } from 'aws-cdk-lib';

/** `arn:…:execution:<name>:*`: every execution of the given state machine (works for tokens too). */
export function executionsOf(stack: Stack, stateMachineArn: string): string {
  const c = Arn.split(stateMachineArn, ArnFormat.COLON_RESOURCE_NAME);
  return Arn.format(
    {
      partition: c.partition,
      service: 'states',
      region: c.region,
      account: c.account,
      resource: 'execution',
      resourceName: `${c.resourceName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    },
    stack,
  );
}
