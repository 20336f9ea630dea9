/** The one record of a decision (audit entry and log line) and its Decisions metric. */
import { skipDecision } from '../../../lambda/decide/decision';
import { InMemoryMetrics } from '../../../lambda/observability/telemetry';
import { countDecision, decisionRecord } from '../../../lambda/record/decision-record';

const subject = {
  executionArn: 'arn:aws:states:us-east-1:123456789012:execution:orders:run-1',
  stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:orders',
  eventId: 'e-1',
  status: 'FAILED',
};

test('every field comes from the subject, the decision, the action and the source, once', () => {
  const decision = { decision: 'redrive-later', reason: 'backoff', redriveCount: 1, delaySeconds: 30, dueAt: 5, policyKey: '*', errorName: 'Lambda.ServiceException', detail: 'redrive 2 of 3 in 30s' } as const;
  expect(decisionRecord(subject, decision, { action: 'scheduled', dueAt: 5 }, 'event')).toEqual({
    ...subject,
    source: 'event',
    redriveCount: 1,
    errorName: 'Lambda.ServiceException',
    decision: 'redrive-later',
    reason: 'backoff',
    detail: 'redrive 2 of 3 in 30s',
    policyKey: '*',
    action: 'scheduled',
    actionDetail: undefined,
    dueAt: 5,
  });
});

test('a decision counts once by outcome and reason; limit-reached also counts an exhaustion', () => {
  const metrics = new InMemoryMetrics();
  const subjectFacts = { policyKey: '*', redriveCount: 3, errorName: 'E' };
  countDecision(skipDecision('limit-reached', 'already redriven 3 times', subjectFacts), metrics);
  countDecision(skipDecision('no-policy', 'no policy', subjectFacts), metrics);
  expect(metrics.points.map((p) => [p.name, p.dimensions, p.value])).toEqual([
    ['Decisions', { Outcome: 'skip', Reason: 'limit-reached' }, 1],
    ['Exhaustions', {}, 1],
    ['Decisions', { Outcome: 'skip', Reason: 'no-policy' }, 1],
  ]);
});
