/**
 * The kill switch: one item in the ledger table. When it is on, no path redrives
 * (the event path records `paused` skips, the drain leaves pending redrives in place).
 * Instances see a change within the policy cache TTL.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

export interface PauseState {
  readonly paused: boolean;
  readonly reason?: string;
  readonly by?: string;
  readonly at?: number;
}

const KEY = { pk: 'CONTROL', sk: 'PAUSE' };

export class KillSwitch {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async read(): Promise<PauseState> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: KEY, ConsistentRead: true }));
    if (!out.Item) return { paused: false };
    return { paused: true, reason: out.Item.reason, by: out.Item.by, at: out.Item.at };
  }

  async pause(reason: string, by: string, at: number): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...KEY, reason, by, at } }));
  }

  async resume(): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: KEY }));
  }
}
