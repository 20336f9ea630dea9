/**
 * The dashboard rows of the safety controls (docs/policies.md): failures held for a
 * person's approval (policy `approval: true`), and redrive budgets (`maxRedrivesPerHour`).
 */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { AWAITING_APPROVAL } from '../contract/approval';
import { OVER_BUDGET_ALARM_SECONDS } from '../contract/budget';
import { DIMENSION, METRIC } from '../contract/metrics';
import { autoRedriveMetric } from './metrics';

const graph = (title: string, width: number, props: Partial<cloudwatch.GraphWidgetProps>) => new cloudwatch.GraphWidget({ title, width, height: 6, ...props });

export function safetyControlWidgets(): { approval: cloudwatch.IWidget[]; budget: cloudwatch.IWidget[] } {
  return {
    // What waits for a person, and how much arrives.
    approval: [
      graph('Held for approval: awaiting a person; newly held', 8, {
        left: [autoRedriveMetric(METRIC.awaitingApproval, { statistic: cloudwatch.Stats.MAXIMUM, label: 'Awaiting approval' })],
        right: [autoRedriveMetric(METRIC.heldFailures, { dimensions: { [DIMENSION.reason]: AWAITING_APPROVAL }, label: 'Newly held for approval' })],
        leftYAxis: { min: 0 },
        rightYAxis: { min: 0 },
      }),
    ],
    // Failures held over budget, and state machines reaching theirs.
    budget: [
      graph('Over budget: failures held; oldest held', 12, {
        left: [autoRedriveMetric(METRIC.overBudgetHeld, { statistic: cloudwatch.Stats.MAXIMUM, label: 'Held over budget' })],
        right: [autoRedriveMetric(METRIC.oldestOverBudgetAge, { statistic: cloudwatch.Stats.MAXIMUM, label: 'Oldest held over budget (s)' })],
        rightAnnotations: [{ value: OVER_BUDGET_ALARM_SECONDS, label: 'Alarm threshold' }],
        leftYAxis: { min: 0 },
        rightYAxis: { min: 0 },
      }),
      graph('Redrive budgets reached', 12, { left: [autoRedriveMetric(METRIC.budgetReached, { label: 'Budget reached' })], leftYAxis: { min: 0 } }),
    ],
  };
}
