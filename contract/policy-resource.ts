/**
 * The RedrivePolicy custom resource: the properties lib/redrive-policy.ts sets and
 * lambda/handlers/policy-resource.ts reads, and what `managedBy` on a policy item says.
 */

export const POLICY_RESOURCE_TYPE = 'Custom::AutoRedrivePolicy';

/** Properties of one policy resource (CloudFormation passes every scalar as a string). */
export interface PolicyResourceProperties {
  /** The policy table the item is written to. */
  readonly TableName: string;
  /** The policy item, `managedBy` included, in the format people write by hand. */
  readonly Policy: Record<string, unknown>;
}

/** `updatedBy` of an item written by the custom resource. */
export const MANAGED_UPDATED_BY = 'cloudformation';

/**
 * `managedBy` of a managed item: `<stack name>/<construct path in the stack>`. Stack names
 * hold no '/', so the stack is everything before the first one.
 */
export function managedByValue(stackName: string, pathInStack: string): string {
  return `${stackName}/${pathInStack}`;
}

/** The stack a `managedBy` value names. */
export function managingStack(managedBy: string): string {
  const slash = managedBy.indexOf('/');
  return slash < 0 ? managedBy : managedBy.slice(0, slash);
}
