/** redrivectl's pure helpers, in-process (no child process). */
import { parseSince } from '../../cli/commands/backfill';
import { diffItems } from '../../cli/commands/policy';
import { CliError, describeError, reportError } from '../../cli/errors';
import { table } from '../../cli/output';
import { policyKeyProblem } from '../../contract/policy-key';

describe('policy keys', () => {
  test.each([
    '*',
    'arn:aws:states:us-east-1:123456789012:stateMachine:orders',
    'arn:aws:states:us-east-1:123456789012:stateMachine:orders-*',
    'arn:aws:states:*:*:stateMachine:orders-*',
    'arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:x',
    '*:stateMachine:orders-*',
  ])('accepts %s', (key) => expect(policyKeyProblem(key)).toBeUndefined());

  test.each([
    ['arn:aws:states:us-east-1:1234:stateMachine:x', "account '1234' is not a 12-digit account id"],
    ['arn:aws:states:useast1:123456789012:stateMachine:x', "Region 'useast1'"],
    ['arn:aws:lambda:us-east-1:123456789012:function:x', "service 'lambda'"],
    ['arn:aws:states:us-east-1:123456789012:execution:x:y', "resource type 'execution'"],
    ['arn:aws:states:us-east-1:123456789012:stateMachine', 'the name is missing'],
    ['orders', 'is not a state machine ARN'],
    ['orders-*', 'is not a pattern of state machine ARNs'],
    [' *', 'leading or trailing spaces'],
    ['arn:aws:states:us-east-1:123456789012:stateMachine:a b', 'contains spaces'],
  ])('rejects %s', (key, message) => expect(policyKeyProblem(key)).toContain(message));
});

test('--since: durations and ISO dates, never the future', () => {
  const now = Date.UTC(2024, 2, 10, 12);
  expect(parseSince('6h', now)).toBe(now - 6 * 3_600_000);
  expect(parseSince('2d', now)).toBe(now - 2 * 86_400_000);
  expect(parseSince('30m', now)).toBe(now - 30 * 60_000);
  expect(parseSince('2024-03-01', now)).toBe(Date.UTC(2024, 2, 1));
  expect(parseSince('2024-03-09T08:00:00Z', now)).toBe(Date.UTC(2024, 2, 9, 8));
  expect(() => parseSince('6 hours', now)).toThrow(CliError);
  expect(() => parseSince('2030-01-01', now)).toThrow(/in the future/);
});

test('policy diff: added, changed, removed; metadata ignored; schema field order', () => {
  const changes = diffItems(
    { stateMachine: '*', maxRedrives: 3, description: 'x', updatedAt: 'a', jitter: 'FULL' },
    { stateMachine: '*', jitter: 'NONE', maxRedrives: 3, errorEquals: ['Lambda.*'], updatedAt: 'b' },
  );
  expect(changes).toEqual([
    { field: 'jitter', change: 'changed', stored: 'FULL', new: 'NONE' },
    { field: 'errorEquals', change: 'added', stored: undefined, new: ['Lambda.*'] },
    { field: 'description', change: 'removed', stored: 'x', new: undefined },
  ]);
});

test('tables: uppercase headers, - for empty, lists comma-separated, no trailing spaces', () => {
  expect(table([{ a: 'x', b: null, c: ['p', 'q'] }, { a: 'longer', b: 2, c: [] }], [
    { header: 'a', value: (r) => r.a },
    { header: 'b', value: (r) => r.b },
    { header: 'c', value: (r) => r.c },
  ])).toBe(['A        B   C', 'x        -   p,q', 'longer   2   -'].join('\n'));
});

test('errors: one line, SDK and network errors made readable', () => {
  const lines: string[] = [];
  expect(reportError(new CliError('policy get: no policy', 1, ['second']), (l) => lines.push(l))).toBe(1);
  expect(lines).toEqual(['redrivectl: policy get: no policy\n', 'redrivectl: second\n']);
  expect(describeError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })).message).toContain('cannot connect');
  expect(describeError(Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' })).message).toContain(
    '--policy-table / --ledger-table',
  );
  expect(describeError(new Error('Region is missing')).exitCode).toBe(2);
});
