/** Reading one shard of the byDue index against dynalite: only that shard, in due order, every page. */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { dueShardPages } from '../../../lambda/record/due-index';
import { useLedgerTable } from '../../support/dynalite';

const ledger = useLedgerTable();

async function put(pk: string, dueShard: string | undefined, dueAt?: number): Promise<void> {
  await ledger().doc.send(new PutCommand({ TableName: ledger().name, Item: { pk, sk: 'X', ...(dueShard ? { dueShard, dueAt } : {}) } }));
}

async function all(shard: string, options?: Parameters<typeof dueShardPages>[3]) {
  const items: Record<string, unknown>[] = [];
  let count = 0;
  for await (const page of dueShardPages(ledger().doc, ledger().name, shard, options)) {
    items.push(...page.items);
    count += page.count;
  }
  return { items, count };
}

test('returns the items of its shard only, in due order; items outside the index are not there', async () => {
  await put('c', 'A', 30);
  await put('a', 'A', 10);
  await put('b', 'B', 20);
  await put('d', undefined);
  const { items, count } = await all('A');
  expect(items.map((i) => i.pk)).toEqual(['a', 'c']);
  expect(count).toBe(2);
  expect((await all('B')).items.map((i) => i.pk)).toEqual(['b']);
  expect(await all('none')).toEqual({ items: [], count: 0 });
});

test('passes Select and ProjectionExpression through: a count alone, or only the projected attribute', async () => {
  await put('a', 'A', 10);
  await put('c', 'A', 30);
  expect(await all('A', { Select: 'COUNT' })).toEqual({ items: [], count: 2 });
  expect((await all('A', { ProjectionExpression: 'dueAt' })).items).toEqual([{ dueAt: 10 }, { dueAt: 30 }]);
});

test('reads past the first page (1 MB per Query page): every item of a large shard', async () => {
  const blob = 'x'.repeat(100_000);
  for (let i = 0; i < 14; i++) {
    await ledger().doc.send(new PutCommand({ TableName: ledger().name, Item: { pk: `big-${i}`, sk: 'X', dueShard: 'BIG', dueAt: i, blob } }));
  }
  let pages = 0;
  let n = 0;
  for await (const page of dueShardPages(ledger().doc, ledger().name, 'BIG')) {
    pages++;
    n += page.items.length;
  }
  expect(n).toBe(14);
  expect(pages).toBeGreaterThan(1);
});
