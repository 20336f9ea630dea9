/**
 * dynalite for the record/ unit tests: one server per test file, a fresh ledger table
 * (created from contract/table-definitions.ts, as the stack and `npm start` create it)
 * per test, because the due index and the daily counters are table-wide.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { LEDGER_TABLE } from '../../contract/table-definitions';
import { createTable, type LocalDynamo, startDynalite } from '../../local/dynamodb';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface LedgerTable {
  /** The low-level client (for a document client configured otherwise). */
  readonly client: DynamoDBClient;
  /** The document client, configured as lambda/wiring.ts configures it. */
  readonly doc: DynamoDBDocumentClient;
  /** This test's table. */
  readonly name: string;
  /** The raw stored item, as DynamoDB holds it (undefined: no item). */
  item(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined>;
}

/** Registers the jest hooks; call at the top of a test file, use the result inside tests. */
export function useLedgerTable(): () => LedgerTable {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  let current: LedgerTable | undefined;
  let n = 0;
  beforeAll(async () => {
    dynamo = await startDynalite();
    client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  });
  beforeEach(async () => {
    const name = `ledger-${++n}`;
    await createTable(client, name, LEDGER_TABLE);
    current = {
      client,
      doc,
      name,
      item: async (key) => (await doc.send(new GetCommand({ TableName: name, Key: key, ConsistentRead: true }))).Item,
    };
  });
  afterAll(async () => {
    client?.destroy();
    await dynamo?.close();
  });
  return () => {
    if (!current) throw new Error('useLedgerTable(): the table exists only inside a test');
    return current;
  };
}
