/** `npm start -- --story canary` ends as docs/local.md says: fail, redrive, success, recovery recorded. */
import { CANARY_ERROR } from '../../contract/canary';
import { canaryStoryProblems, runCanaryStory } from '../../local/story-canary';

test('the canary fails with Sfn.InvalidArnException, the drain redrives it after its 5 s backoff, it succeeds, and the recovery is in the metrics and the status item', async () => {
  const result = await runCanaryStory();
  expect(canaryStoryProblems(result)).toEqual([]);
  expect(result).toMatchObject({ firstError: CANARY_ERROR, finalStatus: 'SUCCEEDED', redriveCount: 1, recoveries: 1, recoverySeconds: [5], generalMetricPoints: 0 });
  expect(result.statusItem).toMatchObject({ executionArn: result.executionArn, recoverySeconds: 5, recoveries: 1 });
  const sources = result.timeline.flatMap((t) => (t.kind === 'decision' ? [[t.outcome.decision.decision, t.outcome.source, t.outcome.action]] : []));
  expect(sources).toEqual([
    ['redrive-later', 'event', 'scheduled'],
    ['redrive', 'drain', 'redriven'],
  ]);
});

test('canaryStoryProblems names what went wrong', () => {
  const ok = { timeline: [], executionArn: 'x', finalStatus: 'SUCCEEDED', redriveCount: 1, firstError: CANARY_ERROR, recoveries: 1, recoverySeconds: [5], generalMetricPoints: 0, statusItem: { executionArn: 'x', recoveries: 1 } as never, elapsedSimulatedMs: 5000 };
  expect(canaryStoryProblems(ok)).toEqual([]);
  expect(canaryStoryProblems({ ...ok, finalStatus: 'FAILED', redriveCount: 0, recoveries: 0, recoverySeconds: [], generalMetricPoints: 2, statusItem: undefined })).toHaveLength(5);
});
