/** The rest of the API surface through the real SDK: listing, paging, validation, throttling, faults, wire format. */
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  type ExecutionListItem,
  type ListExecutionsCommandInput,
} from '@aws-sdk/client-sfn';
import { AWS_DEFAULT_THROTTLES, type SfnOperation } from '../../../local/sfn';
import {
  CREDENTIALS,
  ROLE_ARN,
  createMachine,
  errorOf,
  manualClock,
  startHarness,
  taskChain,
  without,
  type Harness,
} from './helpers';

const OK = 'arn:aws:lambda:us-east-1:123456789012:function:ok';
const CHECK = 'arn:aws:lambda:us-east-1:123456789012:function:check';
const START = Date.UTC(2024, 2, 1);

describe('ListExecutions', () => {
  let h: Harness;
  let clock: ReturnType<typeof manualClock>;
  let stateMachineArn: string;
  const arns: Record<string, string> = {};

  /** Follows nextToken to the end. */
  async function listAll(input: Omit<ListExecutionsCommandInput, 'nextToken'>): Promise<ExecutionListItem[]> {
    const all: ExecutionListItem[] = [];
    let nextToken: string | undefined;
    do {
      const page = await h.sfn.send(new ListExecutionsCommand({ ...input, nextToken }));
      all.push(...(page.executions ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return all;
  }

  beforeAll(async () => {
    clock = manualClock(START);
    h = await startHarness({ clock: clock.fn });
    h.standIn.setBehaviour(CHECK, { kind: 'fail-if-input', field: 'bad', error: 'Bad' });
    stateMachineArn = await createMachine(h.sfn, 'Listed', taskChain(CHECK));
    // ok1 ok2 bad1 bad2 bad3 ok3, one second apart; bad1 and bad2 get redriven (and fail again).
    for (const name of ['ok1', 'ok2', 'bad1', 'bad2', 'bad3', 'ok3']) {
      clock.advance(1000);
      const input = JSON.stringify({ bad: name.startsWith('bad') });
      arns[name] = (await h.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input }))).executionArn as string;
    }
    await h.standIn.idle();
    for (const name of ['bad1', 'bad2']) await h.sfn.send(new RedriveExecutionCommand({ executionArn: arns[name] }));
    await h.standIn.idle();
  });
  afterAll(() => h.close());

  test('newest first, ExecutionListItem fields only (no redriveStatus)', async () => {
    const out = await h.sfn.send(new ListExecutionsCommand({ stateMachineArn }));
    expect(out.executions?.map((e) => e.name)).toEqual(['ok3', 'bad3', 'bad2', 'bad1', 'ok2', 'ok1']);
    expect(out.nextToken).toBeUndefined();
    const bad1 = out.executions?.find((e) => e.name === 'bad1') as ExecutionListItem;
    expect(Object.keys(bad1).sort()).toEqual(
      ['executionArn', 'name', 'redriveCount', 'redriveDate', 'startDate', 'stateMachineArn', 'status', 'stopDate'].sort(),
    );
    expect(bad1.startDate?.getTime()).toBe(START + 3000);
    expect(bad1).not.toHaveProperty('redriveStatus');
  });

  test('statusFilter and redriveFilter', async () => {
    const names = async (input: Partial<ListExecutionsCommandInput>) =>
      (await listAll({ stateMachineArn, ...input })).map((e) => e.name);
    expect(await names({ statusFilter: 'FAILED' })).toEqual(['bad3', 'bad2', 'bad1']);
    expect(await names({ statusFilter: 'SUCCEEDED' })).toEqual(['ok3', 'ok2', 'ok1']);
    expect(await names({ statusFilter: 'FAILED', redriveFilter: 'REDRIVEN' })).toEqual(['bad2', 'bad1']);
    expect(await names({ statusFilter: 'FAILED', redriveFilter: 'NOT_REDRIVEN' })).toEqual(['bad3']);
    expect(await names({ redriveFilter: 'NOT_REDRIVEN' })).toEqual(['ok3', 'bad3', 'ok2', 'ok1']);
    expect(await names({ statusFilter: 'RUNNING' })).toEqual([]);
  });

  test('paging with maxResults returns everything once, in order', async () => {
    const first = await h.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 4 }));
    expect(first.executions).toHaveLength(4);
    expect(first.nextToken).toEqual(expect.any(String));
    const all = await listAll({ stateMachineArn, maxResults: 4 });
    expect(all.map((e) => e.name)).toEqual(['ok3', 'bad3', 'bad2', 'bad1', 'ok2', 'ok1']);
    expect((await listAll({ stateMachineArn, maxResults: 1 })).map((e) => e.name)).toEqual(all.map((e) => e.name));
  });

  test('executions started between two pages neither repeat nor shift the next page', async () => {
    const other = await createMachine(h.sfn, 'Paged', taskChain(OK));
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      await h.sfn.send(new StartExecutionCommand({ stateMachineArn: other, name: `p${i}` }));
    }
    const first = await h.sfn.send(new ListExecutionsCommand({ stateMachineArn: other, maxResults: 2 }));
    clock.advance(1000);
    await h.sfn.send(new StartExecutionCommand({ stateMachineArn: other, name: 'late' }));
    const second = await h.sfn.send(new ListExecutionsCommand({ stateMachineArn: other, maxResults: 2, nextToken: first.nextToken }));
    expect([...(first.executions ?? []), ...(second.executions ?? [])].map((e) => e.name)).toEqual(['p2', 'p1', 'p0']);
    await h.standIn.idle();
  });

  test('errors: StateMachineDoesNotExist, InvalidArn, InvalidToken, ValidationException', async () => {
    const list = (input: Partial<ListExecutionsCommandInput>) => errorOf(() => h.sfn.send(new ListExecutionsCommand(input)));
    expect((await list({ stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Ghost' })).name).toBe(
      'StateMachineDoesNotExist',
    );
    expect((await list({ stateMachineArn: 'Listed' })).name).toBe('InvalidArn');
    expect((await list({ stateMachineArn, nextToken: 'garbage' })).name).toBe('InvalidToken');
    const token = (await h.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1 }))).nextToken;
    expect((await list({ stateMachineArn, statusFilter: 'FAILED', nextToken: token })).name).toBe('InvalidToken');
    expect((await list({ stateMachineArn, maxResults: 1001 })).name).toBe('ValidationException');
    expect((await list({ stateMachineArn, statusFilter: 'PENDING_REDRIVE' })).name).toBe('ValidationException');
    const express = await createMachine(h.sfn, 'ExpressList', taskChain(OK), 'EXPRESS');
    expect((await list({ stateMachineArn: express })).name).toBe('StateMachineTypeNotSupported');
  });
});

describe('state machines and StartExecution', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ clock: manualClock(START + 123).fn }); // fractional seconds on the wire
  });
  afterEach(() => h.close());

  test('CreateStateMachine: ARN, idempotent for the same definition, StateMachineAlreadyExists otherwise', async () => {
    const definition = taskChain(OK);
    const out = await h.sfn.send(new CreateStateMachineCommand({ name: 'Same', definition, roleArn: ROLE_ARN }));
    expect(out.stateMachineArn).toBe('arn:aws:states:us-east-1:123456789012:stateMachine:Same');
    expect(out.creationDate?.getTime()).toBe(START + 123);
    const again = await h.sfn.send(new CreateStateMachineCommand({ name: 'Same', definition, roleArn: ROLE_ARN }));
    expect(again.stateMachineArn).toBe(out.stateMachineArn);
    const err = await errorOf(() =>
      h.sfn.send(new CreateStateMachineCommand({ name: 'Same', definition: taskChain(OK, OK), roleArn: ROLE_ARN })),
    );
    expect(err.name).toBe('StateMachineAlreadyExists');
  });

  test('unsupported definitions are rejected with InvalidDefinition naming the state', async () => {
    const create = (definition: object) =>
      errorOf(() => h.sfn.send(new CreateStateMachineCommand({ name: 'Bad', definition: JSON.stringify(definition), roleArn: ROLE_ARN })));
    const choice = await create({ StartAt: 'Decide', States: { Decide: { Type: 'Choice', Choices: [], Default: 'Decide' } } });
    expect(choice.name).toBe('InvalidDefinition');
    expect(choice.message).toContain('Decide');
    const retry = await create({ StartAt: 'Call', States: { Call: { Type: 'Task', Resource: OK, End: true, Retry: [] } } });
    expect(retry.message).toMatch(/Retry.*Call/);
    const dangling = await create({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Nowhere' } } });
    expect(dangling.message).toContain('Nowhere');
    const loop = await create({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', Next: 'A' } } });
    expect(loop.name).toBe('InvalidDefinition');
    expect((await errorOf(() => h.sfn.send(new CreateStateMachineCommand({ name: 'X', definition: '{', roleArn: ROLE_ARN })))).name).toBe(
      'InvalidDefinition',
    );
  });

  test('DeleteStateMachine marks it DELETING; it refuses new executions', async () => {
    const stateMachineArn = await createMachine(h.sfn, 'Doomed', taskChain(OK));
    await h.sfn.send(new DeleteStateMachineCommand({ stateMachineArn }));
    expect((await h.sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).status).toBe('DELETING');
    expect((await errorOf(() => h.sfn.send(new StartExecutionCommand({ stateMachineArn })))).name).toBe('StateMachineDeleting');
  });

  test('ListStateMachines pages', async () => {
    for (const name of ['A', 'B', 'C']) await createMachine(h.sfn, name, taskChain(OK));
    const first = await h.sfn.send(new ListStateMachinesCommand({ maxResults: 2 }));
    const second = await h.sfn.send(new ListStateMachinesCommand({ maxResults: 2, nextToken: first.nextToken }));
    expect([...(first.stateMachines ?? []), ...(second.stateMachines ?? [])].map((m) => m.name)).toEqual(['A', 'B', 'C']);
    expect(second.nextToken).toBeUndefined();
    expect(first.stateMachines?.[0]).toMatchObject({ type: 'STANDARD', creationDate: new Date(START + 123) });
  });

  test('StartExecution: uuid names, ExecutionAlreadyExists, idempotent same-input retry while RUNNING, input validation', async () => {
    const releases: Array<() => void> = [];
    h.standIn.setBehaviour(OK, () => new Promise((resolve) => releases.push(() => resolve({ ok: true }))));
    const stateMachineArn = await createMachine(h.sfn, 'Starts', taskChain(OK));
    const anon = await h.sfn.send(new StartExecutionCommand({ stateMachineArn }));
    expect(anon.executionArn).toMatch(/:execution:Starts:[0-9a-f-]{36}$/);
    expect(anon.startDate?.getTime()).toBe(START + 123);

    const named = await h.sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'n1', input: '{"a":1}' }));
    const retry = await h.sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'n1', input: '{"a":1}' }));
    expect(retry.executionArn).toBe(named.executionArn);
    const clash = await errorOf(() => h.sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'n1', input: '{"a":2}' })));
    expect(clash.name).toBe('ExecutionAlreadyExists');
    h.standIn.setBehaviour(OK, { kind: 'succeed' });
    releases.forEach((release) => release());
    await h.standIn.idle();
    // Once closed, even the same input is a clash (as on AWS).
    const closed = await errorOf(() => h.sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'n1', input: '{"a":1}' })));
    expect(closed.name).toBe('ExecutionAlreadyExists');

    expect((await errorOf(() => h.sfn.send(new StartExecutionCommand({ stateMachineArn, input: 'not json' })))).name).toBe(
      'InvalidExecutionInput',
    );
    expect((await errorOf(() => h.sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'has space' })))).name).toBe(
      'InvalidName',
    );
  });

  test('DescribeExecution returns the model fields, omitting absent ones, with millisecond timestamps', async () => {
    const stateMachineArn = await createMachine(h.sfn, 'Described', taskChain(OK));
    const { executionArn } = await h.sfn.send(new StartExecutionCommand({ stateMachineArn, name: 'd', input: '{"x":1}' }));
    await h.standIn.idle();
    const d = await h.sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(without(d, '$metadata')).toEqual({
      executionArn,
      stateMachineArn,
      name: 'd',
      status: 'SUCCEEDED',
      startDate: new Date(START + 123),
      stopDate: new Date(START + 123),
      input: '{"x":1}',
      inputDetails: { included: true },
      output: '{"x":1}',
      outputDetails: { included: true },
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven',
    });
  });
});

describe('throttling and injected faults', () => {
  test('an empty token bucket gives ThrottlingException; it refills on the stand-in clock', async () => {
    const clock = manualClock(START);
    const h = await startHarness({ clock: clock.fn, throttle: { DescribeStateMachine: { bucketSize: 2, refillPerSecond: 1 } } });
    try {
      const stateMachineArn = await createMachine(h.sfn, 'Throttled', taskChain(OK));
      const describe = () => h.sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
      await describe();
      await describe();
      const err = await errorOf(describe);
      expect(err.name).toBe('ThrottlingException');
      expect(err.message).toBe('Rate exceeded');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      clock.advance(1000);
      await describe();
      expect(h.standIn.calls.filter((c) => c.op === 'DescribeStateMachine').map((c) => c.outcome)).toEqual([
        'ok',
        'ok',
        'ThrottlingException',
        'ok',
      ]);
      expect(h.standIn.calls[0].op).toBe('CreateStateMachine'); // not throttled: no bucket configured
    } finally {
      await h.close();
    }
  });

  test('fault hook: throttle, server-error (503 the SDK surfaces) and timeout (no response)', async () => {
    const faults: Partial<Record<SfnOperation, 'throttle' | 'server-error' | 'timeout'>> = {};
    const seen: Array<[SfnOperation, unknown]> = [];
    const h = await startHarness({
      fault: (op, params) => {
        seen.push([op, params]);
        return faults[op];
      },
    });
    try {
      const stateMachineArn = await createMachine(h.sfn, 'Faulty', taskChain(OK));
      const describe = (signal?: AbortSignal) =>
        h.sfn.send(new DescribeStateMachineCommand({ stateMachineArn }), signal ? { abortSignal: signal } : {});

      faults.DescribeStateMachine = 'throttle';
      expect((await errorOf(() => describe())).name).toBe('ThrottlingException');

      faults.DescribeStateMachine = 'server-error';
      const err = await errorOf(() => describe());
      expect(err.name).toBe('ServiceUnavailable');
      expect(err.$metadata?.httpStatusCode).toBe(503);
      expect(err.$fault).toBe('server');

      faults.DescribeStateMachine = 'timeout';
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 200);
      const hung = await errorOf(() => describe(abort.signal));
      clearTimeout(timer);
      expect(hung.name).toBe('AbortError');

      expect(seen.at(-1)).toEqual(['DescribeStateMachine', { stateMachineArn }]);
      expect(h.standIn.calls.map((c) => c.outcome)).toEqual(['ok', 'ThrottlingException', 'ServiceUnavailable', 'timeout']);
    } finally {
      await h.close();
    }
  });

  test('close() does not wait for a request held by the timeout fault', async () => {
    const h = await startHarness({ fault: () => 'timeout' });
    const pending = h.sfn.send(new ListStateMachinesCommand({})).catch((e: Error) => e);
    while (h.standIn.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
    await h.close();
    expect(await pending).toBeInstanceOf(Error);
  });

  test('the SDK retries a throttle by itself when allowed to', async () => {
    let throttled = 0;
    const h = await startHarness({ fault: (op) => (op === 'ListStateMachines' && throttled++ < 1 ? 'throttle' : undefined) }, 3);
    try {
      const out = await h.sfn.send(new ListStateMachinesCommand({}));
      expect(out.$metadata.attempts).toBe(2);
      expect(h.standIn.calls.map((c) => c.outcome)).toEqual(['ThrottlingException', 'ok']);
    } finally {
      await h.close();
    }
  });

  test('AWS default quotas are available as a preset', () => {
    expect(AWS_DEFAULT_THROTTLES.RedriveExecution).toEqual({ bucketSize: 1300, refillPerSecond: 300 });
  });
});

describe('wire protocol', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const post = (target: string | undefined, body: string) =>
    fetch(`${h.endpoint}/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.0', ...(target ? { 'X-Amz-Target': target } : {}) },
      body,
    });

  test('success responses: JSON 1.0 content type, request id, epoch-second timestamps', async () => {
    const res = await post('AWSStepFunctions.ListStateMachines', '{}');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    await createMachine(h.sfn, 'Wire', taskChain(OK));
    const body = (await (await post('AWSStepFunctions.ListStateMachines', '{}')).json()) as {
      stateMachines: Array<{ creationDate: number }>;
    };
    expect(Math.abs(body.stateMachines[0].creationDate - Date.now() / 1000)).toBeLessThan(60);
  });

  test('unknown operation and malformed JSON', async () => {
    const unknown = await post('AWSStepFunctions.DoSomethingElse', '{}');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ __type: 'UnknownOperationException' });
    expect((await post(undefined, '{}')).status).toBe(400);

    const malformed = await post('AWSStepFunctions.DescribeExecution', '{not json');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ __type: 'SerializationException' });
    expect(h.standIn.calls.at(-1)).toMatchObject({ op: 'DescribeExecution', outcome: 'SerializationException' });
  });

  test('modelled errors use the namespaced __type the SDK strips', async () => {
    const res = await post('AWSStepFunctions.DescribeExecution', JSON.stringify({ executionArn: 'bad' }));
    expect(await res.json()).toEqual({ __type: expect.stringMatching(/#InvalidArn$/), message: "Invalid Arn: 'bad'" });
  });

  test('AWS_ENDPOINT_URL_SFN points an unconfigured client at the stand-in', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_SFN;
    process.env.AWS_ENDPOINT_URL_SFN = h.endpoint;
    const sfn = new SFNClient({ region: 'us-east-1', credentials: CREDENTIALS });
    try {
      const out = await sfn.send(new ListStateMachinesCommand({}));
      expect(out.stateMachines?.map((m) => m.name)).toContain('Wire');
    } finally {
      sfn.destroy();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SFN;
      else process.env.AWS_ENDPOINT_URL_SFN = saved;
    }
  });
});
