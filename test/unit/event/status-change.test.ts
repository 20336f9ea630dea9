import { MalformedEventError, parseStatusChange, type StatusChange } from '../../../lambda/event/status-change';
import { EXECUTION_ARN, FIXTURES, rawFixture, STATE_MACHINE_ARN, type FixtureName } from '../helpers';

const SECRET = 'sk_live_SUPERSECRET_do_not_log_42';

function ok(raw: unknown): StatusChange {
  const r = parseStatusChange(raw);
  if (!r.ok) throw new Error(`expected to parse, got: ${r.error.message}`);
  return r.event;
}
function bad(raw: unknown): MalformedEventError {
  const r = parseStatusChange(raw);
  if (r.ok) throw new Error('expected a malformed event, but it parsed');
  expect(r.error).toBeInstanceOf(MalformedEventError);
  expect(r.error.name).toBe('MalformedEventError');
  expect(r.error.problems.length).toBeGreaterThan(0);
  return r.error;
}
 
function mutated(mut: (e: any) => void, name: FixtureName = 'failed0'): unknown {
  const e = rawFixture(name);
  mut(e);
  return e;
}

describe('parseStatusChange: the five real events', () => {
  const expected: Record<FixtureName, Partial<StatusChange>> = {
    failed0: {
      eventId: '10887a14-cee9-1902-2b23-2cb76b7a2f0f',
      status: 'FAILED',
      redriveCount: 0,
      redriveDate: null,
      redriveStatus: 'REDRIVABLE',
      redriveStatusReason: null,
      error: 'Lambda.AWSLambdaException',
      stopDate: 1700116682923,
      eventTime: Date.UTC(2023, 10, 16, 6, 38, 3),
    },
    running1: {
      eventId: 'f5d42225-8653-04b9-c835-53923f3949d6',
      status: 'RUNNING',
      redriveCount: 1,
      redriveDate: 1700116743721,
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'Execution is RUNNING and cannot be redriven',
      error: null,
      cause: null,
      stopDate: null,
    },
    failed1: {
      status: 'FAILED',
      redriveCount: 1,
      redriveDate: 1700116743721,
      redriveStatus: 'REDRIVABLE',
      error: 'Lambda.AWSLambdaException',
      stopDate: 1700116751634,
    },
    failed2: {
      status: 'FAILED',
      redriveCount: 2,
      redriveDate: 1700116848681,
      redriveStatus: 'REDRIVABLE',
      error: 'Lambda.AWSLambdaException',
      stopDate: 1700116856509,
    },
    succeeded3: {
      status: 'SUCCEEDED',
      redriveCount: 3,
      redriveDate: 1700116948644,
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven',
      error: null,
      cause: null,
      stopDate: 1700116949150,
    },
  };

  it.each(Object.keys(FIXTURES) as FixtureName[])('%s parses with the recorded values', (name) => {
    const event = ok(rawFixture(name));
    expect(event).toMatchObject(expected[name]);
    expect(event.executionArn).toBe(EXECUTION_ARN);
    expect(event.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(event.account).toBe('123456789012');
    expect(event.region).toBe('us-east-1');
    expect(event.name).toBe('0e3a7824-7ec2-4ced-9aef-61f71fbef1b5');
    expect(event.startDate).toBe(1700116674994);
    expect(event.eventTime).toBe(Date.parse(rawFixture(name).time));
  });

  it.each(Object.keys(FIXTURES) as FixtureName[])('%s: input, output and other unlisted fields are not in the parsed value', (name) => {
    const event = ok(rawFixture(name));
    const json = JSON.stringify(event);
    for (const k of ['input', 'output', 'inputDetails', 'outputDetails', 'stateMachineVersionArn', 'stateMachineAliasArn', 'version', 'resources', 'detail']) {
      expect(event).not.toHaveProperty(k);
    }
    expect(json).not.toContain('FunctionName');
    expect(json).not.toContain('Hello from Lambda');
    expect(Object.keys(event).sort()).toEqual(
      [
        'eventId', 'eventTime', 'account', 'region', 'executionArn', 'stateMachineArn', 'name', 'status', 'startDate', 'stopDate',
        'redriveCount', 'redriveDate', 'redriveStatus', 'redriveStatusReason', 'error', 'cause',
      ].sort(),
    );
  });

  it('keeps the long cause verbatim', () => {
    const raw = rawFixture('failed0');
    expect(ok(raw).cause).toBe(raw.detail.cause);
  });

  it('does not mutate its input', () => {
    const raw = rawFixture('failed0');
    const copy = JSON.parse(JSON.stringify(raw));
    ok(raw);
    expect(raw).toEqual(copy);
  });

  it('parses an event with extra unknown fields (envelope and detail)', () => {
    const event = ok(
      mutated((e) => {
        e.newEnvelopeField = { nested: true };
        e.detail.someFutureField = 'x';
        e.detail.mapRunArn = null;
      }),
    );
    expect(event.status).toBe('FAILED');
    expect(event).not.toHaveProperty('someFutureField');
    expect(event).not.toHaveProperty('newEnvelopeField');
  });

  it('parses the older event shape without any redrive fields, error or cause (as nulls)', () => {
    const event = ok(
      mutated((e) => {
        for (const k of ['redriveCount', 'redriveDate', 'redriveStatus', 'redriveStatusReason', 'error', 'cause', 'stopDate']) delete e.detail[k];
      }),
    );
    expect(event).toMatchObject({
      redriveCount: null,
      redriveDate: null,
      redriveStatus: null,
      redriveStatusReason: null,
      error: null,
      cause: null,
      stopDate: null,
    });
  });

  it('accepts explicit nulls for optional fields', () => {
    const event = ok(mutated((e) => Object.assign(e.detail, { redriveCount: null, redriveStatus: null, stopDate: null })));
    expect(event.redriveCount).toBeNull();
    expect(event.redriveStatus).toBeNull();
  });

  it.each(['TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE', 'SUCCEEDED', 'RUNNING'])('accepts status %s', (status) => {
    expect(ok(mutated((e) => (e.detail.status = status))).status).toBe(status);
  });

  it.each(['REDRIVABLE', 'NOT_REDRIVABLE', 'REDRIVABLE_BY_MAP_RUN'])('accepts redriveStatus %s', (rs) => {
    expect(ok(mutated((e) => (e.detail.redriveStatus = rs))).redriveStatus).toBe(rs);
  });

  it('accepts a time with a numeric offset', () => {
    const event = ok(mutated((e) => (e.time = '2023-11-16T08:38:03+02:00')));
    expect(event.eventTime).toBe(Date.UTC(2023, 10, 16, 6, 38, 3));
  });

  it('accepts other partitions when every ARN agrees', () => {
    const event = ok(
      mutated((e) => {
        e.detail.executionArn = e.detail.executionArn.replace('arn:aws:', 'arn:aws-us-gov:').replaceAll('us-east-1', 'us-gov-west-1');
        e.detail.stateMachineArn = e.detail.stateMachineArn.replace('arn:aws:', 'arn:aws-us-gov:').replaceAll('us-east-1', 'us-gov-west-1');
        e.region = 'us-gov-west-1';
      }),
    );
    expect(event.region).toBe('us-gov-west-1');
  });

  it('accepts a Distributed Map child execution ARN of the same state machine', () => {
    const event = ok(
      mutated((e) => (e.detail.executionArn = `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}/MapRunLabel:child-1`)),
    );
    expect(event.executionArn).toContain('/MapRunLabel:');
  });

  it('accepts redriveCount 0 and the upper bound, stopDate == startDate', () => {
    expect(ok(mutated((e) => (e.detail.redriveCount = 1_000_000))).redriveCount).toBe(1_000_000);
    expect(ok(mutated((e) => (e.detail.stopDate = e.detail.startDate))).stopDate).toBe(1700116674994);
  });
});

describe('parseStatusChange: malformed events', () => {
  it.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'FAILED'],
    ['a number', 42],
    ['an array', [rawFixture('failed0')]],
    ['an empty object', {}],
  ])('rejects %s', (_label, raw) => {
    const err = bad(raw);
    expect(err.eventId).toBeUndefined();
    expect(err.message).toContain('(no id)');
  });

  it('rejects an event without detail, naming the path', () => {
    const err = bad(mutated((e) => delete e.detail));
    expect(err.eventId).toBe('10887a14-cee9-1902-2b23-2cb76b7a2f0f');
    expect(err.problems.some((p) => p.startsWith('detail:'))).toBe(true);
    expect(err.message).toContain('10887a14-cee9-1902-2b23-2cb76b7a2f0f');
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['an array', []],
    ['a string', 'x'],
  ])('rejects detail that is %s', (_label, detail) => {
    const err = bad(mutated((e) => (e.detail = detail)));
    expect(err.problems.some((p) => p.startsWith('detail'))).toBe(true);
  });

  // Each case: mutation, the field path that must be named.
  const cases: Array<[string, (e: any) => void, string]> = [  
    ['wrong detail-type', (e) => (e['detail-type'] = SECRET), 'detail-type'],
    ['missing detail-type', (e) => delete e['detail-type'], 'detail-type'],
    ['wrong source', (e) => (e.source = SECRET), 'source'],
    ['source aws.lambda', (e) => (e.source = 'aws.lambda'), 'source'],
    ['non-string id', (e) => (e.id = 7), 'id'],
    ['empty id', (e) => (e.id = ''), 'id'],
    ['bad account', (e) => (e.account = SECRET), 'account'],
    ['11-digit account', (e) => (e.account = '12345678901'), 'account'],
    ['bad region', (e) => (e.region = SECRET), 'region'],
    ['bad time', (e) => (e.time = SECRET), 'time'],
    ['time without zone', (e) => (e.time = '2023-11-16T06:38:03'), 'time'],
    ['time as epoch number', (e) => (e.time = 1700116683000), 'time'],
    ['redriveCount as string "1"', (e) => (e.detail.redriveCount = '1'), 'detail.redriveCount'],
    ['redriveCount secret string', (e) => (e.detail.redriveCount = SECRET), 'detail.redriveCount'],
    ['redriveCount negative', (e) => (e.detail.redriveCount = -1), 'detail.redriveCount'],
    ['redriveCount float', (e) => (e.detail.redriveCount = 1.5), 'detail.redriveCount'],
    ['redriveCount huge', (e) => (e.detail.redriveCount = 1e30), 'detail.redriveCount'],
    ['redriveCount above bound', (e) => (e.detail.redriveCount = 1_000_001), 'detail.redriveCount'],
    ['redriveCount NaN', (e) => (e.detail.redriveCount = NaN), 'detail.redriveCount'],
    ['redriveCount Infinity', (e) => (e.detail.redriveCount = Infinity), 'detail.redriveCount'],
    ['redriveCount boolean', (e) => (e.detail.redriveCount = true), 'detail.redriveCount'],
    ['unknown status', (e) => (e.detail.status = SECRET), 'detail.status'],
    ['lower-case status', (e) => (e.detail.status = 'failed'), 'detail.status'],
    ['missing status', (e) => delete e.detail.status, 'detail.status'],
    ['unknown redriveStatus', (e) => (e.detail.redriveStatus = SECRET), 'detail.redriveStatus'],
    ['non-ARN executionArn', (e) => (e.detail.executionArn = SECRET), 'detail.executionArn'],
    ['missing executionArn', (e) => delete e.detail.executionArn, 'detail.executionArn'],
    ['state machine ARN as executionArn', (e) => (e.detail.executionArn = STATE_MACHINE_ARN), 'detail.executionArn'],
    ['express execution ARN', (e) => (e.detail.executionArn = EXECUTION_ARN.replace(':execution:', ':express:') + ':x'), 'detail.executionArn'],
    ['executionArn with spaces', (e) => (e.detail.executionArn = EXECUTION_ARN + ' '), 'detail.executionArn'],
    ['non-ARN stateMachineArn', (e) => (e.detail.stateMachineArn = SECRET), 'detail.stateMachineArn'],
    ['version-qualified stateMachineArn', (e) => (e.detail.stateMachineArn = `${STATE_MACHINE_ARN}:1`), 'detail.stateMachineArn'],
    ['startDate as string', (e) => (e.detail.startDate = '1700116674994'), 'detail.startDate'],
    ['startDate as ISO string', (e) => (e.detail.startDate = '2023-11-16T06:37:54Z'), 'detail.startDate'],
    ['startDate negative', (e) => (e.detail.startDate = -1), 'detail.startDate'],
    ['missing startDate', (e) => delete e.detail.startDate, 'detail.startDate'],
    ['stopDate float', (e) => (e.detail.stopDate = 1700116682923.5), 'detail.stopDate'],
    ['redriveDate string', (e) => (e.detail.redriveDate = 'yesterday'), 'detail.redriveDate'],
    ['error not a string', (e) => (e.detail.error = { name: SECRET }), 'detail.error'],
    ['error over 256 chars', (e) => (e.detail.error = SECRET.repeat(20)), 'detail.error'],
    ['cause over 32768 chars', (e) => (e.detail.cause = SECRET.repeat(2000)), 'detail.cause'],
    ['redriveStatusReason over 1024 chars', (e) => (e.detail.redriveStatusReason = SECRET.repeat(50)), 'detail.redriveStatusReason'],
    ['empty name', (e) => (e.detail.name = ''), 'detail.name'],
    ['name over 256 chars', (e) => (e.detail.name = SECRET.repeat(20)), 'detail.name'],
  ];

  it.each(cases)('rejects %s, naming the field path and not the value', (_label, mut, path) => {
    const err = bad(
      mutated((e) => {
        e.detail.input = JSON.stringify({ apiKey: SECRET });
        mut(e);
      }),
    );
    expect(err.problems.some((p) => p.startsWith(`${path}:`))).toBe(true);
    expect(err.message).not.toContain(SECRET);
    expect(err.message).not.toContain('SUPERSECRET');
    for (const p of err.problems) expect(p).not.toContain('SUPERSECRET');
  });

  it('does not leak the input even when the input itself is malformed', () => {
    const err = bad(mutated((e) => ((e.detail.input = { secret: SECRET }), (e.detail.status = 'NOPE'))));
    expect(JSON.stringify(err.problems)).not.toContain('SUPERSECRET');
  });

  it('reports every problem at once', () => {
    const err = bad(
      mutated((e) => {
        e.source = 'x';
        e.detail.redriveCount = '1';
        e.detail.status = 'x';
      }),
    );
    const paths = err.problems.map((p) => p.split(':')[0]);
    expect(paths).toEqual(expect.arrayContaining(['source', 'detail.redriveCount', 'detail.status']));
  });

  describe('forged or mangled ARNs', () => {
    const forged: Array<[string, (e: any) => void, string]> = [  
      ['executionArn of another state machine', (e) => (e.detail.executionArn = EXECUTION_ARN.replace('MyStateMachine-gddoyum7f', 'Other')), 'detail.stateMachineArn'],
      ['stateMachineArn of another state machine', (e) => (e.detail.stateMachineArn = STATE_MACHINE_ARN.replace('MyStateMachine-gddoyum7f', 'Other')), 'detail.stateMachineArn'],
      ['executionArn in another account', (e) => (e.detail.executionArn = EXECUTION_ARN.replace('123456789012', '999999999999')), 'account'],
      ['executionArn in another region', (e) => (e.detail.executionArn = EXECUTION_ARN.replace('us-east-1', 'eu-west-1')), 'region'],
      ['envelope account differs', (e) => (e.account = '999999999999'), 'account'],
      ['envelope region differs', (e) => (e.region = 'eu-west-1'), 'region'],
      ['executionArn in another partition', (e) => (e.detail.executionArn = EXECUTION_ARN.replace('arn:aws:', 'arn:aws-cn:')), 'detail.stateMachineArn'],
      ['stateMachine name only a prefix', (e) => (e.detail.executionArn = EXECUTION_ARN.replace('MyStateMachine-gddoyum7f', 'MyStateMachine-gddoyum7f-2')), 'detail.stateMachineArn'],
    ];
    it.each(forged)('rejects %s', (_label, mut, path) => {
      const err = bad(mutated(mut));
      expect(err.problems.some((p) => p.startsWith(`${path}:`))).toBe(true);
      expect(err.message).not.toContain('999999999999');
    });

    it('names every mismatch at once', () => {
      const err = bad(mutated((e) => (e.detail.executionArn = 'arn:aws:states:eu-west-1:999999999999:execution:Other:x')));
      expect(err.problems).toEqual([
        'detail.stateMachineArn: does not match detail.executionArn',
        'account: does not match detail.executionArn',
        'region: does not match detail.executionArn',
      ]);
    });
  });

  it('rejects stopDate before startDate', () => {
    const err = bad(mutated((e) => (e.detail.stopDate = e.detail.startDate - 1)));
    expect(err.problems).toEqual(['detail.stopDate: before detail.startDate']);
  });

  // A date JavaScript cannot represent passes as a "safe integer" but later makes
  // `new Date(dueAt).toISOString()` throw (event-path.ts, decide.ts): reject it here.
  it.each(['startDate', 'stopDate', 'redriveDate'])('rejects %s beyond the year 9999', (field) => {
    const err = bad(
      mutated((e) => {
        e.detail.startDate = 0;
        e.detail[field] = 9_000_000_000_000_000;
      }),
    );
    expect(err.problems.some((p) => p.startsWith(`detail.${field}:`))).toBe(true);
  });

  it('caps a huge event id in the error', () => {
    const err = bad(mutated((e) => ((e.id = 'i'.repeat(10_000)), (e.source = 'x'))));
    expect(err.eventId).toHaveLength(256);
  });
});
