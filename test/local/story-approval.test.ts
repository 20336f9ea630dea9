/** The approval story that `npm start -- --story approval` prints ends as docs/policies.md says. */
import { approvalStoryProblems, runApprovalStory, STORY_APPROVER } from '../../local/story-approval';

test('approval story: two failures held for a person with an Approval Requested event each; one approved, redriven and SUCCEEDED; one rejected, never redriven', async () => {
  const r = await runApprovalStory();
  expect(approvalStoryProblems(r)).toEqual([]);
  expect(r.requests.map((q) => q.executionArn.split(':').pop())).toEqual(['refund-1', 'refund-2']);
  expect(r.requests[0].approveCommand).toBe(`npx redrivectl approve ${r.requests[0].executionArn}`);
  expect(r.approved).toEqual({ status: 'SUCCEEDED', redriveCount: 1, approvedBy: STORY_APPROVER, redrivesWhileHeld: 0 });
  expect(r.rejected).toMatchObject({ status: 'FAILED', redriveCount: 0, ledgerReason: 'rejected' });
  expect(r.lines.some((l) => l.includes('approves refund-1') && l.endsWith('redrive (release) -> redriven'))).toBe(true);
  expect(r.lines.some((l) => l.includes('rejects refund-2: skipped (rejected)'))).toBe(true);
});

test('approvalStoryProblems names what did not end as the story says', () => {
  const problems = approvalStoryProblems({
    lines: [],
    requests: [],
    approved: { status: 'FAILED', redriveCount: 0, approvedBy: undefined, redrivesWhileHeld: 1 },
    rejected: { status: 'SUCCEEDED', redriveCount: 1, ledgerReason: null, auditDetail: undefined },
  });
  expect(problems).toHaveLength(6);
});
