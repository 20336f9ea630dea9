/** The doctor's runner (every check isolated, with a timeout) and its output (table, JSON, exit status). */
import { type Check, fail, NotChecked, ok, warn } from '../../cli/doctor/check';
import { doctorDocument, doctorText, exitCode } from '../../cli/doctor/render';
import { runCheck, runChecks } from '../../cli/doctor/runner';
import { EXIT } from '../../cli/errors';

const check = (id: string, run: Check<null>['run'], timeoutMs?: number): Check<null> => ({ id, title: `check ${id}`, run, timeoutMs });

describe('runner', () => {
  test('a throwing check, a synchronous throw and a NotChecked become not-checked with the reason; the others still run', async () => {
    const reports = await runChecks(
      [
        check('a', async () => ok('fine')),
        check('b', async () => {
          throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        }),
        check('c', () => {
          throw new TypeError('bug');
        }),
        check('d', async () => {
          throw new NotChecked('needs the stack: no stack named');
        }),
        check('e', async () => fail('broken', 'fix it')),
      ],
      null,
    );
    expect(reports.map((r) => [r.id, r.status])).toEqual([
      ['a', 'ok'],
      ['b', 'not-checked'],
      ['c', 'not-checked'],
      ['d', 'not-checked'],
      ['e', 'fail'],
    ]);
    expect(reports[1].detail).toBe('the check could not run: ThrottlingException: Rate exceeded');
    expect(reports[2].detail).toContain('TypeError: bug');
    expect(reports[3].detail).toBe('needs the stack: no stack named');
  });

  test('a check that never answers is not checked once its timeout passes', async () => {
    const r = await runCheck(check('slow', () => new Promise(() => undefined), 20), null);
    expect(r).toMatchObject({ id: 'slow', status: 'not-checked', detail: expect.stringContaining('timed out') });
  });
});

describe('output', () => {
  const reports = [
    { id: 'stack', title: 'stack and outputs', ...ok('stack AutoRedrive: UPDATE_COMPLETE') },
    { id: 'dlq', title: 'dead-letter queue', ...warn('3 message(s)', 'redrivectl dlq replay') },
    { id: 'kill-switch', title: 'kill switch', ...fail('PAUSED', 'redrivectl resume', { paused: true }) },
    { id: 'rate-quota', title: 'rate within quota', status: 'not-checked' as const, detail: 'not checked locally' },
  ];

  test('one line per check with its status and, for warn and fail, the fix; a summary', () => {
    const lines = doctorText('stack AutoRedrive', reports).split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ok\s+stack and outputs\s+stack AutoRedrive: UPDATE_COMPLETE$/),
        expect.stringMatching(/^WARN\s+dead-letter queue\s+3 message\(s\); fix: redrivectl dlq replay$/),
        expect.stringMatching(/^FAIL\s+kill switch\s+PAUSED; fix: redrivectl resume$/),
        expect.stringMatching(/^not checked\s+rate within quota\s+not checked locally$/),
        '4 checks: 1 ok, 1 warn, 1 fail, 1 not checked: auto-redrive is NOT healthy',
      ]),
    );
  });

  test('the JSON document', () => {
    expect(doctorDocument('stack AutoRedrive', reports)).toEqual({
      target: 'stack AutoRedrive',
      healthy: false,
      summary: { ok: 1, warn: 1, fail: 1, notChecked: 1 },
      checks: [
        { id: 'stack', title: 'stack and outputs', status: 'ok', detail: 'stack AutoRedrive: UPDATE_COMPLETE', fix: null, data: null },
        { id: 'dlq', title: 'dead-letter queue', status: 'warn', detail: '3 message(s)', fix: 'redrivectl dlq replay', data: null },
        { id: 'kill-switch', title: 'kill switch', status: 'fail', detail: 'PAUSED', fix: 'redrivectl resume', data: { paused: true } },
        { id: 'rate-quota', title: 'rate within quota', status: 'not-checked', detail: 'not checked locally', fix: null, data: null },
      ],
    });
  });

  test('exit status 1 on any fail; warnings and not-checked alone exit 0', () => {
    expect(exitCode(reports)).toBe(EXIT.failed);
    expect(exitCode(reports.filter((r) => r.status !== 'fail'))).toBe(EXIT.ok);
  });
});
