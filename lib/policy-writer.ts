/**
 * The Lambda behind every RedrivePolicy custom resource of a stack (one per stack): it
 * writes, replaces and deletes policy items (lambda/handlers/policy-resource.ts).
 */
import { Duration, Lazy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { LAMBDA_MEMORY_MB } from '../contract/lambda-bundles';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../contract/metrics';
import { bundledCode } from './lambda-code';

const WRITER_ID = 'AutoRedrivePolicyWriter';

export class PolicyWriter extends Construct {
  /** The stack's writer, created with its first RedrivePolicy. */
  static of(scope: IConstruct): PolicyWriter {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(WRITER_ID) as PolicyWriter | undefined) ?? new PolicyWriter(stack, WRITER_ID);
  }

  public readonly function: lambda.Function;
  private readonly keysByTable = new Map<dynamodb.ITable, string[]>();

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    // Like the controller's: no AWSLambdaBasicExecutionRole, its own log group only.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Execution role of the auto-redrive policy writer (RedrivePolicy custom resources)',
    });
    logGroup.grantWrite(role);
    this.function = new lambda.Function(this, 'Function', {
      ...bundledCode('policy-resource'),
      description: 'auto-redrive: writes the redrive policy items a CDK app declares (RedrivePolicy)',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: LAMBDA_MEMORY_MB,
      timeout: Duration.minutes(2),
      role,
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Runtime deliberately pinned to Node.js 22 (nodejs22.x): the bundle is built and tested ' +
        'for it (esbuild target node22); runtime upgrades are a deliberate change, not implicit.',
    });
  }

  /**
   * Lets the writer read and write the item `key` of `table`, and delete items of `table`.
   * Reads and writes are limited to the keys the stack declares (dynamodb:LeadingKeys). A
   * delete cannot be: it removes the item of a key the template no longer names (a
   * RedrivePolicy removed, or its state machine changed), after CloudFormation has already
   * applied the new template's IAM policy. The handler deletes only an item whose
   * `managedBy` names the resource being deleted.
   */
  grantItem(table: dynamodb.ITable, key: string): void {
    let keys = this.keysByTable.get(table);
    if (!keys) {
      const declared: string[] = [];
      keys = declared;
      this.keysByTable.set(table, declared);
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          resources: [table.tableArn],
          conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': Lazy.list({ produce: () => declared }) } },
        }),
      );
      this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:DeleteItem'], resources: [table.tableArn] }));
      table.encryptionKey?.grantEncryptDecrypt(this.function);
    }
    keys.push(key);
  }
}
