/**
 * Status-change events must be indistinguishable in shape from the real ones in
 * test/fixtures/status-change-events, and the fixture life-cycle (fail, two failing
 * redrives, a third that succeeds) must come out of the stand-in the same way.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RedriveExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { StatusChangeEvent } from '../../../local/sfn';
import { createMachine, manualClock, startHarness, taskChain, without } from './helpers';

const FIXTURE_DIR = join(__dirname, '../../fixtures/status-change-events');
const fixtures: StatusChangeEvent[] = readdirSync(FIXTURE_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(FIXTURE_DIR, f), 'utf8')));

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:test';
const DAY = 24 * 60 * 60 * 1000;

/** Key order and JSON value types, recursively: what a consumer's parser depends on. */
function shape(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.map(shape);
  if (typeof v === 'object') return Object.entries(v as object).map(([k, x]) => [k, shape(x)]);
  return typeof v;
}

/** The five fixture events are, in order: FAILED#0, RUNNING#1, FAILED#1, FAILED#2, SUCCEEDED#3. */
const FIXTURE_POSITIONS = [1, 2, 3, 5, 7]; // indexes in the stand-in's full event stream

describe('status-change events', () => {
  test('fixture life-cycle with fail-until: statuses, redrive fields and event shapes match the fixtures', async () => {
    const clock = manualClock(Date.UTC(2024, 5, 1));
    const received: StatusChangeEvent[] = [];
    const h = await startHarness({ clock: clock.fn, onEvent: (e) => received.push(e) });
    try {
      // Models the IAM deny of the write-up: fixed two days from now.
      h.standIn.setBehaviour(LAMBDA, {
        kind: 'fail-until',
        untilMs: clock.now + 2 * DAY,
        error: 'Lambda.AWSLambdaException',
        cause: 'not authorized to perform: lambda:InvokeFunction',
      });
      const stateMachineArn = await createMachine(h.sfn, 'LifeCycle', taskChain(LAMBDA));
      const { executionArn } = await h.sfn.send(new StartExecutionCommand({ stateMachineArn, input: '{"FunctionName":"test"}' }));
      await h.standIn.idle();
      for (let i = 0; i < 3; i++) {
        clock.advance(i < 2 ? 60_000 : 2 * DAY); // two redrives while denied, the third after the fix
        await h.sfn.send(new RedriveExecutionCommand({ executionArn }));
        await h.standIn.idle();
      }

      expect(received).toEqual(h.standIn.events);
      expect(received.map((e) => `${e.detail.status}#${e.detail.redriveCount}`)).toEqual([
        'RUNNING#0',
        'FAILED#0',
        'RUNNING#1',
        'FAILED#1',
        'RUNNING#2',
        'FAILED#2',
        'RUNNING#3',
        'SUCCEEDED#3',
      ]);

      FIXTURE_POSITIONS.forEach((at, i) => {
        const ours = received[at];
        const real = fixtures[i];
        expect(shape(ours)).toEqual(shape(real));
        expect(JSON.stringify(Object.keys(ours.detail))).toBe(JSON.stringify(Object.keys(real.detail)));
        expect(ours.detail.status).toBe(real.detail.status);
        expect(ours.detail.redriveCount).toBe(real.detail.redriveCount);
        expect(ours.detail.redriveStatus).toBe(real.detail.redriveStatus);
        expect(ours.detail.redriveStatusReason).toBe(real.detail.redriveStatusReason);
      });

      for (const e of received) {
        expect(e.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        expect(e.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(e.resources).toEqual([executionArn]);
        expect(e.detail.executionArn).toBe(executionArn);
      }
      // Every event of a never-redriven RUNNING execution is not redrivable, like fixture 02.
      expect(received[0].detail).toMatchObject({
        stopDate: null,
        redriveDate: null,
        redriveStatus: 'NOT_REDRIVABLE',
        redriveStatusReason: 'Execution is RUNNING and cannot be redriven',
      });
      expect(new Set(received.map((e) => e.id)).size).toBe(received.length);
    } finally {
      await h.close();
    }
  });

  test('reproduces the five fixture details value for value', async () => {
    const [f1, f2, f3, f4, f5] = fixtures.map((f) => f.detail);
    const clock = manualClock(f1.startDate);
    const h = await startHarness({ clock: clock.fn });
    try {
      const fixedAt = f5.redriveDate as number; // the IAM policy was fixed just before the 3rd redrive
      const failures = [f1, f3, f4];
      const stopDates = [f1.stopDate, f3.stopDate, f4.stopDate, f5.stopDate] as number[];
      h.standIn.setBehaviour(LAMBDA, ({ attempt }) => {
        clock.now = stopDates[attempt - 1]; // the Lambda call takes until the recorded stop date
        if (clock.now < fixedAt) {
          const f = failures[attempt - 1];
          return { ok: false, error: f.error as string, cause: f.cause as string };
        }
        return { ok: true, output: JSON.parse(f5.output as string) };
      });
      const stateMachineArn = await createMachine(h.sfn, 'MyStateMachine-gddoyum7f', taskChain(LAMBDA));
      const { executionArn } = await h.sfn.send(
        new StartExecutionCommand({ stateMachineArn, name: f1.name, input: f1.input }),
      );
      expect(executionArn).toBe(f1.executionArn);
      await h.standIn.idle();
      for (const redriveDate of [f2.redriveDate, f4.redriveDate, f5.redriveDate] as number[]) {
        clock.now = redriveDate;
        const out = await h.sfn.send(new RedriveExecutionCommand({ executionArn }));
        expect(out.redriveDate?.getTime()).toBe(redriveDate);
        await h.standIn.idle();
      }

      const ours = FIXTURE_POSITIONS.map((at) => h.standIn.events[at]);
      ours.forEach((e, i) => {
        expect(e.detail).toEqual(fixtures[i].detail);
        expect(without(e, 'id', 'time')).toEqual(without(fixtures[i], 'id', 'time'));
      });
    } finally {
      await h.close();
    }
  });

  test('EXPRESS executions run but emit no events', async () => {
    const h = await startHarness();
    try {
      const stateMachineArn = await createMachine(h.sfn, 'Fast', taskChain(LAMBDA), 'EXPRESS');
      const { executionArn } = await h.sfn.send(new StartExecutionCommand({ stateMachineArn }));
      await h.standIn.idle();
      expect(executionArn).toMatch(/:express:Fast:/);
      expect(h.standIn.getExecution(executionArn as string)?.status).toBe('SUCCEEDED');
      expect(h.standIn.events).toHaveLength(0);
    } finally {
      await h.close();
    }
  });
});
