import { fork } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createTable, startDynalite } from '../local/dynamodb';
import { LEDGER_TABLE } from '../lib/table-definitions';

async function bench(endpoint: string, label: string) {
  process.env.AWS_REGION = 'us-east-1'; process.env.AWS_ACCESS_KEY_ID = 'x'; process.env.AWS_SECRET_ACCESS_KEY = 'x';
  const c = new DynamoDBClient({ endpoint });
  await createTable(c, 'LLL', LEDGER_TABLE);
  const doc = DynamoDBDocumentClient.from(c);
  for (const hot of [false, true]) {
    const t = Date.now(); const cpu0 = process.cpuUsage();
    let n = 0;
    await Promise.all(Array.from({ length: 20 }, async (_, w) => { for (let i = 0; i < 150; i++) { await doc.send(new UpdateCommand({ TableName: 'LLL', Key: { pk: hot ? 'HOT' : `K${w}-${i}`, sk: 'x' }, UpdateExpression: 'ADD c :one', ExpressionAttributeValues: { ':one': 1 } })); n++; } }));
    const cpu = process.cpuUsage(cpu0);
    console.log(label, hot ? 'hot' : 'distinct', n, 'ops', Date.now() - t, 'ms', 'main cpu', (cpu.user + cpu.system) / 1000);
  }
  c.destroy();
}
async function main() {
  const d = await startDynalite();
  await bench(d.endpoint, 'in-process');
  await d.close();
  const child = fork(__dirname + '/_dyn.cjs');
  const port = await new Promise<number>((r) => child.once('message', (m: any) => r(m.port)));
  await bench(`http://127.0.0.1:${port}`, 'child');
  child.kill();
}
main();
