import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createTable, startDynalite } from '../local/dynamodb';
import { LEDGER_TABLE } from '../lib/table-definitions';
async function main() {
  process.env.AWS_REGION = 'us-east-1'; process.env.AWS_ACCESS_KEY_ID = 'x'; process.env.AWS_SECRET_ACCESS_KEY = 'x';
  const d = await startDynalite();
  const c = new DynamoDBClient({ endpoint: d.endpoint });
  await createTable(c, 'LLL', LEDGER_TABLE);
  const doc = DynamoDBDocumentClient.from(c);
  for (const conc of [1, 1, 4, 20, 50]) {
    const t = performance.now(); const cpu0 = process.cpuUsage(); const n = 1000;
    let k = 0;
    await Promise.all(Array.from({ length: conc }, async () => { while (k < n) { k++; await doc.send(new UpdateCommand({ TableName: 'LLL', Key: { pk: `K${Math.random()}`, sk: 'x' }, UpdateExpression: 'ADD c :one', ExpressionAttributeValues: { ':one': 1 } })); } }));
    const cpu = process.cpuUsage(cpu0);
    console.log('conc', conc, 'ops/s', (n / (performance.now() - t) * 1000).toFixed(0), 'cpu ms/op', ((cpu.user + cpu.system) / 1000 / n).toFixed(2), 'wall ms/op', ((performance.now() - t) / n).toFixed(2));
  }
  c.destroy(); await d.close();
}
main();
