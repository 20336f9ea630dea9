/**
 * The RedrivePolicy custom resource through the code path it runs in AWS: the bundle the
 * package ships (dist/assets/policy-resource, built by the jest global setup) loaded in a
 * fresh Node process per request, a CloudFormation request with its properties as
 * strings (as CloudFormation sends them), DynamoDB (dynalite), and the response PUT to
 * the request's ResponseURL (a local HTTP server standing in for the pre-signed S3 URL).
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { POLICY_TABLE } from '../../contract/table-definitions';
import { createTable, type LocalDynamo, startDynalite } from '../../local/dynamodb';

const run = promisify(execFile);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const BUNDLE = join(__dirname, '..', '..', 'dist', 'assets', 'policy-resource', 'index.js');
const TABLE = 'policies';
const STACK_ID = 'arn:aws:cloudformation:us-east-1:123456789012:stack/Orders/1f2e3d4c-0000-0000-0000-000000000000';
const ORDERS = 'arn:aws:states:us-east-1:123456789012:stateMachine:orders';
const ORDERS_V2 = 'arn:aws:states:us-east-1:123456789012:stateMachine:orders-v2';
const MANAGED_BY = 'Orders/OrdersRedrive';

let dynamo: LocalDynamo;
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let server: Server;
let responseBase: string;
const responses = new Map<string, any>();
let requestCount = 0;

beforeAll(async () => {
  dynamo = await startDynalite();
  client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  doc = DynamoDBDocumentClient.from(client);
  await createTable(client, TABLE, POLICY_TABLE);
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      // What S3 checks on a pre-signed PUT: the method and the (empty) content type it was signed for.
      if (req.method !== 'PUT' || req.headers['content-type'] !== '') res.statusCode = 403;
      else responses.set(req.url!, JSON.parse(body));
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  responseBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  client?.destroy();
  await new Promise((resolve) => server?.close(resolve));
  await dynamo?.close();
});

interface Invocation {
  /** The response CloudFormation received. */
  readonly response: any;
  /** The handler's log lines (JSON) and EMF documents. */
  readonly lines: any[];
}

/** One request, as CloudFormation makes it, to the bundled handler in a fresh process. */
async function request(
  type: 'Create' | 'Update' | 'Delete',
  policy: Record<string, unknown>,
  extra: { physicalId?: string; oldPolicy?: Record<string, unknown> } = {},
): Promise<Invocation> {
  const requestId = `request-${++requestCount}`;
  const path = `/response/${requestId}?X-Amz-Signature=abc`;
  const event = {
    RequestType: type,
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:writer',
    ResponseURL: `${responseBase}${path}`,
    StackId: STACK_ID,
    RequestId: requestId,
    LogicalResourceId: 'OrdersRedrive1A2B3C4D',
    ResourceType: 'Custom::AutoRedrivePolicy',
    PhysicalResourceId: extra.physicalId,
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:writer', TableName: TABLE, Policy: policy },
    OldResourceProperties: extra.oldPolicy ? { ServiceToken: 'x', TableName: TABLE, Policy: extra.oldPolicy } : undefined,
  };
  const context = `{ awsRequestId: 'lambda-1', logStreamName: '2026/01/01/[$LATEST]abc', getRemainingTimeInMillis: () => 120000 }`;
  const script = `require(${JSON.stringify(BUNDLE)}).handler(JSON.parse(process.argv[1]), ${context}).catch((e) => { console.error(e); process.exit(1); });`;
  const { stdout, stderr } = await run(process.execPath, ['-e', script, JSON.stringify(event)], {
    env: {
      PATH: process.env.PATH,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_METRICS_NAMESPACE: 'AutoRedrive',
    },
  });
  // Powertools writes warnings and errors to stderr, the rest and EMF to stdout.
  const lines = `${stdout}\n${stderr}`.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const response = responses.get(path);
  expect(response).toBeDefined();
  return { response, lines };
}

const item = async (key: string) => (await doc.send(new GetCommand({ TableName: TABLE, Key: { stateMachine: key }, ConsistentRead: true }))).Item;
const allKeys = async () => ((await doc.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }))).Items ?? []).map((i) => i.stateMachine).sort();
const overwrittenMetric = (lines: any[]) => lines.filter((l) => l._aws && 'ManagedPolicyOverwritten' in l).length;

// CloudFormation passes every scalar property as a string.
const ordersPolicy = { stateMachine: ORDERS, maxRedrives: '5', intervalSeconds: '120', errorEquals: ['Lambda.*'], managedBy: MANAGED_BY };

describe('one policy through its lifecycle', () => {
  afterAll(async () => {
    for (const k of await allKeys()) await doc.send(new DeleteCommand({ TableName: TABLE, Key: { stateMachine: k } }));
  });

  test('create writes the item, typed by the schema, marked as managed', async () => {
    const { response } = await request('Create', ordersPolicy);
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: ORDERS, StackId: STACK_ID, LogicalResourceId: 'OrdersRedrive1A2B3C4D', Data: { Key: ORDERS } });
    expect(await item(ORDERS)).toEqual({
      stateMachine: ORDERS,
      maxRedrives: 5,
      intervalSeconds: 120,
      errorEquals: ['Lambda.*'],
      managedBy: MANAGED_BY,
      updatedBy: 'cloudformation',
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  test('update with a changed field rewrites the item; nothing to report', async () => {
    const next = { ...ordersPolicy, maxRedrives: '7', dryRun: 'true' };
    const { response, lines } = await request('Update', next, { physicalId: ORDERS, oldPolicy: ordersPolicy });
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: ORDERS, Data: { Key: ORDERS } });
    expect(response.Data.OverwrittenFields).toBeUndefined();
    expect(await item(ORDERS)).toMatchObject({ maxRedrives: 7, dryRun: true, intervalSeconds: 120 });
    expect(overwrittenMetric(lines)).toBe(0);
  });

  test('a hand edit of the managed item is overwritten by the next update, and reported', async () => {
    const before = { ...ordersPolicy, maxRedrives: '7', dryRun: 'true' };
    // An operator changes it in the console (or with redrivectl --force).
    await doc.send(new PutCommand({ TableName: TABLE, Item: { ...(await item(ORDERS)), maxRedrives: 50, jitter: 'NONE', updatedBy: 'alice@laptop', updatedAt: '2026-01-01T00:00:00.000Z' } }));
    const next = { ...before, description: 'orders: Lambda errors only' };
    const { response, lines } = await request('Update', next, { physicalId: ORDERS, oldPolicy: before });
    expect(response.Status).toBe('SUCCESS');
    expect(response.Data).toEqual({ Key: ORDERS, OverwrittenFields: 'jitter,maxRedrives' });
    const stored = await item(ORDERS);
    expect(stored).toMatchObject({ maxRedrives: 7, description: 'orders: Lambda errors only', updatedBy: 'cloudformation' });
    expect(stored!.jitter).toBeUndefined();
    const warning = lines.find((l) => l.level === 'WARN');
    expect(warning).toMatchObject({ policyKey: ORDERS, fields: ['jitter', 'maxRedrives'], editedBy: 'alice@laptop', editedAt: '2026-01-01T00:00:00.000Z' });
    expect(warning.message).toMatch(/changed outside CloudFormation/);
    expect(overwrittenMetric(lines)).toBe(1);
  });

  test('a changed key writes the new item first; the cleanup Delete of the old key removes the old one', async () => {
    const old = { ...ordersPolicy, maxRedrives: '7', dryRun: 'true', description: 'orders: Lambda errors only' };
    const next = { ...old, stateMachine: ORDERS_V2 };
    const { response } = await request('Update', next, { physicalId: ORDERS, oldPolicy: old });
    // A new physical id: CloudFormation deletes the old resource once the update is through.
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: ORDERS_V2 });
    expect(await allKeys()).toEqual([ORDERS, ORDERS_V2]);
    expect(await item(ORDERS_V2)).toMatchObject({ maxRedrives: 7, managedBy: MANAGED_BY });

    const cleanup = await request('Delete', old, { physicalId: ORDERS });
    expect(cleanup.response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: ORDERS });
    expect(await allKeys()).toEqual([ORDERS_V2]);
  });

  test('delete removes the item; a repeated delete succeeds with nothing to do', async () => {
    const current = { ...ordersPolicy, stateMachine: ORDERS_V2, maxRedrives: '7', dryRun: 'true', description: 'orders: Lambda errors only' };
    expect((await request('Delete', current, { physicalId: ORDERS_V2 })).response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: ORDERS_V2 });
    expect(await allKeys()).toEqual([]);
    expect((await request('Delete', current, { physicalId: ORDERS_V2 })).response.Status).toBe('SUCCESS');
  });
});

describe('refusals', () => {
  afterEach(async () => {
    for (const k of await allKeys()) await doc.send(new DeleteCommand({ TableName: TABLE, Key: { stateMachine: k } }));
  });

  test("an invalid item fails the deploy with the schema's message; nothing is written, and the rollback deletes nothing", async () => {
    await doc.send(new PutCommand({ TableName: TABLE, Item: { stateMachine: '*', maxRedrives: 1 } }));
    const invalid = { ...ordersPolicy, maxRedrives: '5000', jitter: 'SOMETIMES' };
    const { response } = await request('Create', invalid);
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toBe(
      `policy '${ORDERS}' is invalid: maxRedrives: must be from 0 to 1000; jitter: must be FULL or NONE (log stream 2026/01/01/[$LATEST]abc)`,
    );
    expect(await allKeys()).toEqual(['*']);
    // CloudFormation rolls the failed Create back with a Delete of the same properties.
    const rollback = await request('Delete', invalid, { physicalId: response.PhysicalResourceId });
    expect(rollback.response.Status).toBe('SUCCESS');
    expect(await allKeys()).toEqual(['*']);
  });

  test('an invalid update fails and leaves the deployed item as it was', async () => {
    await request('Create', ordersPolicy);
    const before = await item(ORDERS);
    const { response } = await request('Update', { ...ordersPolicy, errorEquals: ['States.ALL', 'Lambda.*'] }, { physicalId: ORDERS, oldPolicy: ordersPolicy });
    expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: ORDERS });
    expect(response.Reason).toContain('errorEquals: States.ALL must appear alone, as in the States Language');
    expect(await item(ORDERS)).toEqual(before);
  });

  test('an invalid key fails the create, and its rollback Delete does not touch the table', async () => {
    const bad = { ...ordersPolicy, stateMachine: 'arn:aws:states:us-east-1:123456789012:execution:orders:run-1' };
    const { response } = await request('Create', bad);
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/^policy 'arn:aws:states:us-east-1:123456789012:execution:orders:run-1' is invalid: stateMachine: /);
    expect((await request('Delete', bad, { physicalId: response.PhysicalResourceId })).response.Status).toBe('SUCCESS');
    expect(await allKeys()).toEqual([]);
  });

  test('a key another stack manages is refused; the rollback leaves that stack its item', async () => {
    await doc.send(new PutCommand({ TableName: TABLE, Item: { stateMachine: ORDERS, maxRedrives: 2, managedBy: 'Billing/OrdersPolicy' } }));
    const { response } = await request('Create', ordersPolicy);
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/^policy '.*:orders' is already managed by Billing\/OrdersPolicy: one policy item per key/);
    await request('Delete', ordersPolicy, { physicalId: response.PhysicalResourceId });
    expect(await item(ORDERS)).toEqual({ stateMachine: ORDERS, maxRedrives: 2, managedBy: 'Billing/OrdersPolicy' });
  });

  test('a hand-written item with the same key is taken over, and what changed is reported', async () => {
    await doc.send(new PutCommand({ TableName: TABLE, Item: { stateMachine: ORDERS, maxRedrives: 2, intervalSeconds: 120, updatedBy: 'bob' } }));
    const { response, lines } = await request('Create', ordersPolicy);
    expect(response).toMatchObject({ Status: 'SUCCESS', Data: { Key: ORDERS, OverwrittenFields: 'errorEquals,managedBy,maxRedrives' } });
    expect(await item(ORDERS)).toMatchObject({ maxRedrives: 5, managedBy: MANAGED_BY });
    expect(overwrittenMetric(lines)).toBe(1);
  });

  test('a construct moved within its stack takes its item over; the old resource then deletes nothing', async () => {
    await request('Create', ordersPolicy);
    const moved = { ...ordersPolicy, managedBy: 'Orders/Policies/OrdersRedrive' };
    expect((await request('Create', moved)).response.Status).toBe('SUCCESS');
    // The old logical resource is deleted in the cleanup phase: the item is no longer its own.
    expect((await request('Delete', ordersPolicy, { physicalId: ORDERS })).response.Status).toBe('SUCCESS');
    expect(await item(ORDERS)).toMatchObject({ managedBy: 'Orders/Policies/OrdersRedrive' });
  });
});
