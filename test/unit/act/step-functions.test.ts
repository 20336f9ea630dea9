import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  ExecutionLimitExceeded,
  ExecutionNotRedrivable,
  InvalidArn,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  RedriveExecutionCommand,
  SFNClient,
  SFNServiceException,
  ValidationException,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { redriveClientToken } from '../../../lambda/act/client-token';
import { SdkStepFunctions } from '../../../lambda/act/step-functions';
import { EXECUTION_ARN, STATE_MACHINE_ARN } from '../helpers';

const meta = { $metadata: { httpStatusCode: 400 } };
function serviceError(name: string, message = `${name} happened`, fault: 'client' | 'server' = 'client'): SFNServiceException {
  return new SFNServiceException({ name, $fault: fault, message, ...meta });
}

function setup() {
  const client = new SFNClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
  const mock = mockClient(client);
  return { mock, sfn: new SdkStepFunctions(client) };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('SdkStepFunctions.redrive', () => {
  const token = redriveClientToken(EXECUTION_ARN, 0);

  it('success -> redriven with the redriveDate, sending the ARN and client token', async () => {
    const { mock, sfn } = setup();
    mock.on(RedriveExecutionCommand).resolves({ redriveDate: new Date(1700116743721) });
    await expect(sfn.redrive(EXECUTION_ARN, token)).resolves.toEqual({ kind: 'redriven', redriveDate: 1700116743721 });
    const calls = mock.commandCalls(RedriveExecutionCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({ executionArn: EXECUTION_ARN, clientToken: token });
  });

  it('success without redriveDate -> redriven now', async () => {
    const { mock, sfn } = setup();
    mock.on(RedriveExecutionCommand).resolves({} as never);
    const before = Date.now();
    const r = await sfn.redrive(EXECUTION_ARN, token);
    expect(r.kind).toBe('redriven');
    if (r.kind === 'redriven') {
      expect(r.redriveDate).toBeGreaterThanOrEqual(before);
      expect(r.redriveDate).toBeLessThanOrEqual(Date.now());
    }
  });

  it.each([
    ['ExecutionNotRedrivable', () => new ExecutionNotRedrivable({ message: 'Execution is RUNNING and cannot be redriven', ...meta })],
    ['ExecutionDoesNotExist', () => new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', ...meta })],
    ['InvalidArn', () => new InvalidArn({ message: 'Invalid Arn', ...meta })],
    ['ValidationException', () => new ValidationException({ message: 'bad', ...meta })],
    ['ExecutionNotRedrivable (plain Error with the name)', () => Object.assign(new Error('not redrivable'), { name: 'ExecutionNotRedrivable' })],
  ])('%s -> rejected (final)', async (label, make) => {
    const { mock, sfn } = setup();
    const err = make();
    mock.on(RedriveExecutionCommand).rejects(err);
    const r = await sfn.redrive(EXECUTION_ARN, token);
    expect(r).toEqual({ kind: 'rejected', errorName: label.split(' ')[0], message: err.message });
  });

  it.each([
    ['ThrottlingException', () => serviceError('ThrottlingException', 'Rate exceeded')],
    ['ServiceUnavailable', () => serviceError('ServiceUnavailable', 'Service unavailable', 'server')],
    ['InternalServerError', () => serviceError('InternalServerError', 'oops', 'server')],
    ['ExecutionLimitExceeded', () => new ExecutionLimitExceeded({ message: 'too many open executions', ...meta })],
    ['TimeoutError', () => Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })],
  ])('%s -> transient', async (name, make) => {
    const { mock, sfn } = setup();
    mock.on(RedriveExecutionCommand).rejects(make());
    const r = await sfn.redrive(EXECUTION_ARN, token);
    expect(r.kind).toBe('transient');
    expect(r).toMatchObject({ errorName: name });
  });

  it('caps the error message at 500 characters', async () => {
    const { mock, sfn } = setup();
    mock.on(RedriveExecutionCommand).rejects(new ExecutionNotRedrivable({ message: 'x'.repeat(5000), ...meta }));
    const r = await sfn.redrive(EXECUTION_ARN, token);
    expect(r.kind === 'rejected' && r.message.length).toBe(500);
  });

  it('a thrown non-Error is transient, named Error', async () => {
    const { mock, sfn } = setup();
    mock.on(RedriveExecutionCommand).callsFake(() => {
      throw 'weird';
    });
    const r = await sfn.redrive(EXECUTION_ARN, token);
    expect(r).toMatchObject({ kind: 'transient', errorName: 'Error' });
  });
});

describe('SdkStepFunctions.describe', () => {
  it('maps every field (dates to epoch ms)', async () => {
    const { mock, sfn } = setup();
    mock.on(DescribeExecutionCommand, { executionArn: EXECUTION_ARN }).resolves({
      executionArn: EXECUTION_ARN,
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'n',
      status: 'FAILED',
      startDate: new Date(1700116674994),
      stopDate: new Date(1700116751634),
      redriveCount: 1,
      redriveDate: new Date(1700116743721),
      redriveStatus: 'REDRIVABLE',
      error: 'Lambda.AWSLambdaException',
      cause: 'denied',
      input: '{"secret":"s"}',
      output: undefined,
    });
    const d = await sfn.describe(EXECUTION_ARN);
    expect(d).toEqual({
      executionArn: EXECUTION_ARN,
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'n',
      status: 'FAILED',
      startDate: 1700116674994,
      stopDate: 1700116751634,
      redriveCount: 1,
      redriveDate: 1700116743721,
      redriveStatus: 'REDRIVABLE',
      redriveStatusReason: null,
      error: 'Lambda.AWSLambdaException',
      cause: 'denied',
    });
    expect(JSON.stringify(d)).not.toContain('secret');
  });

  it('missing optional fields become null (never redriven, running)', async () => {
    const { mock, sfn } = setup();
    mock.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION_ARN,
      stateMachineArn: STATE_MACHINE_ARN,
      status: 'RUNNING',
      startDate: new Date(5),
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'Execution is RUNNING and cannot be redriven',
    });
    expect(await sfn.describe(EXECUTION_ARN)).toMatchObject({
      status: 'RUNNING',
      startDate: 5,
      stopDate: null,
      redriveDate: null,
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'Execution is RUNNING and cannot be redriven',
      error: null,
      cause: null,
    });
  });

  it('ExecutionDoesNotExist -> undefined', async () => {
    const { mock, sfn } = setup();
    mock.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'gone', ...meta }));
    await expect(sfn.describe(EXECUTION_ARN)).resolves.toBeUndefined();
  });

  it.each([
    ['InvalidArn', () => new InvalidArn({ message: 'bad arn', ...meta })],
    ['ThrottlingException', () => serviceError('ThrottlingException')],
    ['KmsAccessDeniedException', () => serviceError('KmsAccessDeniedException')],
  ])('%s is rethrown', async (name, make) => {
    const { mock, sfn } = setup();
    mock.on(DescribeExecutionCommand).rejects(make());
    await expect(sfn.describe(EXECUTION_ARN)).rejects.toMatchObject({ name });
  });
});

describe('SdkStepFunctions.listStopped', () => {
  const since = 1_700_000_000_000;
  const exec = (id: string, stopOffset: number | null, extra: Record<string, unknown> = {}) => ({
    executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${id}`,
    stateMachineArn: STATE_MACHINE_ARN,
    name: id,
    status: 'FAILED' as const,
    startDate: new Date(since - 10_000),
    stopDate: stopOffset === null ? undefined : new Date(since + stopOffset),
    redriveCount: 0,
    ...extra,
  });

  it('pages with nextToken, filters by stopDate (>= since), on every page', async () => {
    const { mock, sfn } = setup();
    mock
      .on(ListExecutionsCommand)
      .resolvesOnce({ executions: [exec('a', 5), exec('old1', -1), exec('b', 0, { redriveCount: 2 })], nextToken: 't1' })
      .resolvesOnce({ executions: [exec('old2', -100_000)], nextToken: 't2' })
      .resolvesOnce({ executions: [exec('c', 1_000_000)] });
    const out = await collect(sfn.listStopped(STATE_MACHINE_ARN, 'FAILED', since));
    expect(out.map((e) => e.executionArn.split(':').pop())).toEqual(['a', 'b', 'c']);
    expect(out[1]).toEqual({
      executionArn: exec('b', 0).executionArn,
      stateMachineArn: STATE_MACHINE_ARN,
      status: 'FAILED',
      startDate: since - 10_000,
      stopDate: since,
      redriveCount: 2,
    });
    const inputs = mock.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { stateMachineArn: STATE_MACHINE_ARN, statusFilter: 'FAILED', maxResults: 1000, nextToken: undefined },
      { stateMachineArn: STATE_MACHINE_ARN, statusFilter: 'FAILED', maxResults: 1000, nextToken: 't1' },
      { stateMachineArn: STATE_MACHINE_ARN, statusFilter: 'FAILED', maxResults: 1000, nextToken: 't2' },
    ]);
  });

  it('stops paging at the first execution that started before startedAfter (newest start first)', async () => {
    const { mock, sfn } = setup();
    mock
      .on(ListExecutionsCommand)
      .resolvesOnce({ executions: [exec('a', 5), exec('ancient', 10, { startDate: new Date(since - 3 * 86_400_000) }), exec('never', 5)], nextToken: 't1' })
      .resolvesOnce({ executions: [exec('never-either', 5)] });
    const out = await collect(sfn.listStopped(STATE_MACHINE_ARN, 'FAILED', since, since - 86_400_000));
    expect(out.map((e) => e.executionArn.split(':').pop())).toEqual(['a']);
    expect(mock.commandCalls(ListExecutionsCommand)).toHaveLength(1);
  });

  it('an execution without stopDate is listed (null), missing fields get defaults', async () => {
    const { mock, sfn } = setup();
    mock.on(ListExecutionsCommand).resolves({
      executions: [{ executionArn: 'arn:aws:states:us-east-1:123456789012:execution:SM:x', stateMachineArn: undefined as never, name: 'x', status: undefined as never, startDate: undefined as never }],
    });
    const out = await collect(sfn.listStopped(STATE_MACHINE_ARN, 'TIMED_OUT', since));
    expect(out).toEqual([
      { executionArn: 'arn:aws:states:us-east-1:123456789012:execution:SM:x', stateMachineArn: STATE_MACHINE_ARN, status: 'TIMED_OUT', startDate: 0, stopDate: null, redriveCount: 0 },
    ]);
  });

  it('empty pages and a missing executions list are fine', async () => {
    const { mock, sfn } = setup();
    mock.on(ListExecutionsCommand).resolvesOnce({ executions: [], nextToken: 'n' }).resolvesOnce({} as never);
    expect(await collect(sfn.listStopped(STATE_MACHINE_ARN, 'ABORTED', since))).toEqual([]);
    expect(mock.commandCalls(ListExecutionsCommand)).toHaveLength(2);
  });

  it('errors propagate to the caller', async () => {
    const { mock, sfn } = setup();
    mock.on(ListExecutionsCommand).rejects(serviceError('InvalidToken'));
    await expect(collect(sfn.listStopped(STATE_MACHINE_ARN, 'FAILED', since))).rejects.toMatchObject({ name: 'InvalidToken' });
  });

  it('is lazy: stopping early fetches no further pages', async () => {
    const { mock, sfn } = setup();
    mock.on(ListExecutionsCommand).resolves({ executions: [exec('a', 1)], nextToken: 'more' });
    for await (const e of sfn.listStopped(STATE_MACHINE_ARN, 'FAILED', since)) {
      expect(e.executionArn).toContain(':a');
      break;
    }
    expect(mock.commandCalls(ListExecutionsCommand)).toHaveLength(1);
  });
});

describe('SdkStepFunctions.newestStartIn', () => {
  it('asks for one execution in the status (newest start first) and returns its start; undefined when there is none', async () => {
    const { mock, sfn } = setup();
    const startDate = new Date(1_700_000_000_000);
    mock.on(ListExecutionsCommand).resolvesOnce({ executions: [{ executionArn: 'x', stateMachineArn: STATE_MACHINE_ARN, name: 'x', status: 'SUCCEEDED', startDate }] }).resolvesOnce({ executions: [] });
    expect(await sfn.newestStartIn(STATE_MACHINE_ARN, 'SUCCEEDED')).toBe(startDate.getTime());
    expect(await sfn.newestStartIn(STATE_MACHINE_ARN, 'SUCCEEDED')).toBeUndefined();
    expect(mock.commandCalls(ListExecutionsCommand)[0].args[0].input).toEqual({ stateMachineArn: STATE_MACHINE_ARN, statusFilter: 'SUCCEEDED', maxResults: 1 });
  });

  it('rethrows what the SDK could not retry away', async () => {
    const { mock, sfn } = setup();
    mock.on(ListExecutionsCommand).rejects(serviceError('AccessDeniedException'));
    await expect(sfn.newestStartIn(STATE_MACHINE_ARN, 'SUCCEEDED')).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});

describe('SdkStepFunctions.listStateMachines', () => {
  // EXPRESS machines cannot be redriven and ListExecutions rejects them
  // (StateMachineTypeNotSupported), which would abort a reconciliation sweep.
  it('pages, skips entries without an ARN and EXPRESS machines', async () => {
    const { mock, sfn } = setup();
    mock
      .on(ListStateMachinesCommand)
      .resolvesOnce({ stateMachines: [{ stateMachineArn: 'a', name: 'a', type: 'STANDARD', creationDate: new Date(0) }], nextToken: 'x' })
      .resolvesOnce({
        stateMachines: [
          { stateMachineArn: undefined as never, name: 'b', type: 'STANDARD', creationDate: new Date(0) },
          { stateMachineArn: 'e', name: 'e', type: 'EXPRESS', creationDate: new Date(0) },
          { stateMachineArn: 'c', name: 'c', type: 'STANDARD', creationDate: new Date(0) },
        ],
      });
    expect(await collect(sfn.listStateMachines())).toEqual(['a', 'c']);
    expect(mock.commandCalls(ListStateMachinesCommand).map((c) => c.args[0].input.nextToken)).toEqual([undefined, 'x']);
  });
});
