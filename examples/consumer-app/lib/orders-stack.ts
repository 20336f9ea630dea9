import { ArnFormat, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AutoRedrive, RedrivePolicy } from 'auto-redrive';

/**
 * An app's own state machines, with auto-redrive and their redrive policies deployed
 * alongside them: reviewed and deployed like the rest of the stack.
 */
export class OrdersStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    // A Standard workflow of this app (only Standard executions can be redriven).
    const orders = new sfn.StateMachine(this, 'Orders', {
      definitionBody: sfn.DefinitionBody.fromChainable(
        new sfn.Pass(this, 'Reserve stock').next(new sfn.Pass(this, 'Charge card')),
      ),
    });

    // The controller with its defaults (no reserved concurrency, so it deploys in a new
    // account whatever its Lambda concurrency quota), and where its alarms go.
    const autoRedrive = new AutoRedrive(this, 'AutoRedrive', {
      alarmEmail: 'oncall@example.com',
    });

    // Redrive failed orders up to 5 times, 2 minutes apart at first (backoff 2x, capped at
    // an hour), and only for Lambda errors.
    new RedrivePolicy(this, 'OrdersRedrive', {
      autoRedrive,
      stateMachine: orders,
      maxRedrives: 5,
      interval: Duration.minutes(2),
      errorEquals: ['Lambda.*'],
    });

    // A state machine of another app in the same account and Region, by ARN: any failure,
    // at most twice, timeouts included; first as a dry run (decided and recorded, not redriven).
    const billing = sfn.StateMachine.fromStateMachineArn(
      this,
      'Billing',
      this.formatArn({ service: 'states', resource: 'stateMachine', resourceName: 'billing', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
    );
    autoRedrive.addPolicy(billing, {
      maxRedrives: 2,
      statuses: ['FAILED', 'TIMED_OUT'],
      jitter: sfn.JitterType.NONE,
      dryRun: true,
      description: 'billing: owned by the payments team',
    });
  }
}
