/** Task Parameters / ResultSelector: JSONPath, the Context object, intrinsic functions, AWS SDK integration errors. */
import { CreateStateMachineCommand, DescribeExecutionCommand, RedriveExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type ContextObject, evaluateTemplate, parseExpression } from '../../../local/sfn/parameters';
import { createMachine, errorOf, manualClock, ROLE_ARN, startHarness, type Harness } from './helpers';

const CONTEXT: ContextObject = {
  Execution: { Id: 'arn:aws:states:us-east-1:123456789012:execution:M:e1', Input: {}, Name: 'e1', RoleArn: ROLE_ARN, StartTime: '2024-01-10T12:00:00.000Z', RedriveCount: 1 },
  State: { EnteredTime: '2024-01-10T12:00:05.000Z', Name: 'S', RetryCount: 0 },
  StateMachine: { Id: 'arn:aws:states:us-east-1:123456789012:stateMachine:M', Name: 'M' },
};

describe('evaluateTemplate', () => {
  test('paths on the input and the Context object; other values copied, nested templates filled in', () => {
    const input = { order: { id: 'o-1', items: [{ sku: 'a' }, { sku: 'b' }] }, 'odd key': 3 };
    const out = evaluateTemplate(
      { 'id.$': '$.order.id', 'second.$': '$.order.items[1].sku', 'odd.$': "$['odd key']", 'all.$': '$', fixed: 'x', nested: { 'run.$': '$$.Execution.Name' } },
      input,
      CONTEXT,
    );
    expect(out).toEqual({ id: 'o-1', second: 'b', odd: 3, all: input, fixed: 'x', nested: { run: 'e1' } });
  });

  test('the context fields the canary and friends read', () => {
    const keys = ['Execution.Id', 'Execution.Name', 'Execution.StartTime', 'Execution.RedriveCount', 'StateMachine.Id', 'State.Name', 'State.EnteredTime'];
    const out = evaluateTemplate(Object.fromEntries(keys.map((k) => [`${k}.$`, `$$.${k}`])), {}, CONTEXT) as Record<string, unknown>;
    expect(out).toEqual({
      'Execution.Id': CONTEXT.Execution.Id,
      'Execution.Name': 'e1',
      'Execution.StartTime': '2024-01-10T12:00:00.000Z',
      'Execution.RedriveCount': 1,
      'StateMachine.Id': CONTEXT.StateMachine.Id,
      'State.Name': 'S',
      'State.EnteredTime': '2024-01-10T12:00:05.000Z',
    });
  });

  test('States.Array, States.ArrayGetItem (nested, with a context index), States.Format with escapes', () => {
    const out = evaluateTemplate(
      {
        'arr.$': "States.Array(1, 'two', $.x, null)",
        'pick.$': "States.ArrayGetItem(States.Array('zero', $$.Execution.Id), $$.Execution.RedriveCount)",
        'msg.$': "States.Format('run {} of {}: it\\'s {}', $$.Execution.Name, $$.StateMachine.Name, $.x)",
      },
      { x: { a: 1 } },
      CONTEXT,
    );
    expect(out).toEqual({ arr: [1, 'two', { a: 1 }, null], pick: CONTEXT.Execution.Id, msg: 'run e1 of M: it\'s {"a":1}' });
  });

  test('States.Runtime: a path that finds nothing, an index outside the array, a Format argument count', () => {
    const runtime = (template: object) => {
      try {
        evaluateTemplate(template, { x: 1 }, CONTEXT);
      } catch (err) {
        return { error: (err as { error?: string }).error, message: (err as Error).message };
      }
      throw new Error('expected States.Runtime');
    };
    expect(runtime({ 'v.$': '$.missing' })).toEqual({ error: 'States.Runtime', message: expect.stringContaining("'$.missing'") });
    expect(runtime({ 'v.$': "States.ArrayGetItem(States.Array('a'), 1)" })).toEqual({ error: 'States.Runtime', message: expect.stringContaining('index 1') });
    expect(runtime({ 'v.$': "States.ArrayGetItem(States.Array('a'), -1)" }).error).toBe('States.Runtime');
    expect(runtime({ 'v.$': "States.Format('{} {}', 1)" }).error).toBe('States.Runtime');
  });

  test('parseExpression rejects unsupported intrinsics by name and malformed expressions', () => {
    expect(() => parseExpression("States.StringToJson('{}')")).toThrow(/does not support States\.StringToJson/);
    expect(() => parseExpression("States.Array('a'")).toThrow(/expected '\)'/);
    expect(() => parseExpression('order.id')).toThrow(/must start with \$/);
  });
});

describe('on the stand-in', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ clock: manualClock(Date.UTC(2024, 0, 10, 12)).fn });
  });
  afterEach(() => h.close());

  const task = (extra: object) => JSON.stringify({ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:sfn:describeExecution', End: true, ...extra } } });

  async function run(name: string, definition: string, input = '{}') {
    const stateMachineArn = await createMachine(h.sfn, name, definition);
    const { executionArn } = await h.sfn.send(new StartExecutionCommand({ stateMachineArn, input }));
    await h.standIn.idle();
    return h.sfn.send(new DescribeExecutionCommand({ executionArn }));
  }

  test('CreateStateMachine: an intrinsic the stand-in does not evaluate is InvalidDefinition naming it and the field', async () => {
    const err = await errorOf(() =>
      h.sfn.send(new CreateStateMachineCommand({ name: 'Bad', roleArn: ROLE_ARN, definition: task({ Parameters: { 'ExecutionArn.$': 'States.UUID()' } }) })),
    );
    expect(err.name).toBe('InvalidDefinition');
    expect(err.message).toMatch(/States\.UUID.*\/States\/T\/Parameters\/ExecutionArn\.\$/);
  });

  test('CreateStateMachine: an AWS SDK integration the stand-in does not run is InvalidDefinition', async () => {
    const definition = JSON.stringify({ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:s3:getObject', End: true } } });
    const err = await errorOf(() => h.sfn.send(new CreateStateMachineCommand({ name: 'Bad', roleArn: ROLE_ARN, definition })));
    expect(err.name).toBe('InvalidDefinition');
    expect(err.message).toContain('aws-sdk:s3:getObject');
  });

  test('describeExecution of a well-formed unknown ARN fails with Sfn.ExecutionDoesNotExistException', async () => {
    const d = await run('Unknown', task({ Parameters: { ExecutionArn: 'arn:aws:states:us-east-1:123456789012:execution:Nope:x' } }));
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('Sfn.ExecutionDoesNotExistException');
  });

  test('a bad ArrayGetItem index fails the execution with States.Runtime; a redrive re-evaluates with RedriveCount', async () => {
    const definition = task({
      Parameters: { 'ExecutionArn.$': "States.ArrayGetItem(States.Array($$.Execution.Id), $$.Execution.RedriveCount)" },
      ResultSelector: { 'name.$': '$.Name', 'redriven.$': '$.RedriveCount' },
    });
    const ok = await run('Self', definition);
    expect(ok.status).toBe('SUCCEEDED');
    expect(JSON.parse(ok.output as string)).toEqual({ name: ok.name, redriven: 0 });

    const failing = task({ Parameters: { 'ExecutionArn.$': "States.ArrayGetItem(States.Array($$.Execution.Id), States.ArrayGetItem(States.Array(1), 0))" } });
    const d = await run('OutOfRange', failing);
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('States.Runtime');
    expect(d.cause).toContain('index 1');
  });

  test('the Context object on the stand-in: execution, state machine and state fields; RedriveCount after a redrive (0 before: the Self test)', async () => {
    const ECHO = 'arn:aws:lambda:us-east-1:123456789012:function:echo';
    let runs = 0;
    // Fails on its first run, then returns what its Parameters gave it.
    h.standIn.setBehaviour(ECHO, (ctx) => (++runs === 1 ? { ok: false, error: 'Boom' } : { ok: true, output: ctx.input }));
    const fields = ['Execution.Id', 'Execution.Name', 'Execution.StartTime', 'Execution.RedriveCount', 'StateMachine.Id', 'State.Name', 'State.EnteredTime'];
    const Parameters = Object.fromEntries(fields.map((f) => [`${f.replace('.', '')}.$`, `$$.${f}`]));
    const definition = JSON.stringify({ StartAt: 'Echo', States: { Echo: { Type: 'Task', Resource: ECHO, Parameters, End: true } } });
    const failed = await run('Echo', definition);
    expect(failed.status).toBe('FAILED');
    await h.sfn.send(new RedriveExecutionCommand({ executionArn: failed.executionArn }));
    await h.standIn.idle();
    const d = await h.sfn.send(new DescribeExecutionCommand({ executionArn: failed.executionArn }));
    expect(JSON.parse(d.output as string)).toEqual({
      ExecutionId: failed.executionArn,
      ExecutionName: failed.name,
      ExecutionStartTime: '2024-01-10T12:00:00.000Z',
      ExecutionRedriveCount: 1,
      StateMachineId: failed.stateMachineArn,
      StateName: 'Echo',
      StateEnteredTime: '2024-01-10T12:00:00.000Z',
    });
  });

  test('Parameters from the input reach the integration; a missing input path is States.Runtime', async () => {
    const definition = task({ Parameters: { 'ExecutionArn.$': '$.target' } });
    const missing = await run('FromInput', definition, '{}');
    expect(missing.error).toBe('States.Runtime');
    const invalid = await run('FromInput2', definition, JSON.stringify({ target: 'nope' }));
    expect(invalid.error).toBe('Sfn.InvalidArnException');
    await h.sfn.send(new RedriveExecutionCommand({ executionArn: invalid.executionArn }));
    await h.standIn.idle();
    expect((await h.sfn.send(new DescribeExecutionCommand({ executionArn: invalid.executionArn }))).error).toBe('Sfn.InvalidArnException');
  });
});
