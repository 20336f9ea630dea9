/**
 * Reading the byDue index against dynalite: one partition value (only it, in due order,
 * every page), several merged into one dueAt-ordered stream, and the recorded shard count.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { dueShardPages, INDEX_SHARDS_KEY, IndexShards, type MergedQuery, mergedShards } from '../../../lambda/record/due-index';
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

/** Everything a merged read yields. */
async function merged(shards: readonly string[], query?: MergedQuery) {
  const items: Record<string, unknown>[] = [];
  for await (const item of mergedShards(ledger().doc, ledger().name, shards, query)) items.push(item);
  return items;
}

describe('mergedShards: several partition values as one stream in dueAt order', () => {
  test('interleaves the shards by dueAt, across pages of any size; other values are not read', async () => {
    const dues = { A: [1, 4, 7, 10], B: [2, 5, 8], C: [3, 6, 9, 11, 12] } as const;
    for (const [shard, list] of Object.entries(dues)) for (const d of list) await put(`${shard}${d}`, shard, d);
    await put('other', 'D', 0);
    for (const pageSize of [1, 2, 100]) {
      expect((await merged(['A', 'B', 'C'], { pageSize })).map((i) => i.dueAt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    }
    expect(await merged([])).toEqual([]);
  });

  test('due bounds: dueAtMost includes the bound, dueBefore excludes it', async () => {
    for (const d of [1, 2, 3]) await put(`a${d}`, 'A', d);
    for (const d of [2, 4]) await put(`b${d}`, 'B', d);
    const upTo2 = await merged(['A', 'B'], { dueAtMost: 2 });
    expect(upTo2.map((i) => i.dueAt)).toEqual([1, 2, 2]);
    expect(upTo2.map((i) => i.pk).sort()).toEqual(['a1', 'a2', 'b2']);
    expect((await merged(['A', 'B'], { dueBefore: 2 })).map((i) => i.pk)).toEqual(['a1']);
  });

  test('the state machine filter reads on past pages the filter emptied', async () => {
    for (let d = 0; d < 6; d++) await ledger().doc.send(new PutCommand({ TableName: ledger().name, Item: { pk: `x${d}`, sk: 'X', dueShard: 'A', dueAt: d, stateMachineArn: d === 5 ? 'wanted' : 'other' } }));
    expect((await merged(['A'], { stateMachineArn: 'wanted', pageSize: 2 })).map((i) => i.pk)).toEqual(['x5']);
  });

  test('lazy: a reader that stops early reads one page per value, not the whole family', async () => {
    for (let d = 0; d < 30; d++) await put(`a${d}`, 'A', d);
    for (let d = 0; d < 30; d++) await put(`b${d}`, 'B', 100 + d);
    const send = jest.spyOn(ledger().doc, 'send');
    try {
      const first: unknown[] = [];
      for await (const item of mergedShards(ledger().doc, ledger().name, ['A', 'B'], { pageSize: 5 })) {
        first.push(item);
        if (first.length === 3) break;
      }
      expect(first.map((i) => (i as { pk: string }).pk)).toEqual(['a0', 'a1', 'a2']);
      expect(send).toHaveBeenCalledTimes(2);
    } finally {
      send.mockRestore();
    }
  });
});

describe('IndexShards: the shard count readers read', () => {
  const ARN = 'arn:aws:states:us-east-1:123456789012:execution:orders:run-1';

  test('one shard records nothing; more raise the recorded count before the first write; it never goes down', async () => {
    const one = new IndexShards(ledger().doc, ledger().name, 1);
    expect(await one.valueFor('DUE', ARN)).toBe('DUE#0');
    expect(await ledger().item(INDEX_SHARDS_KEY)).toBeUndefined();
    expect(await one.readValues('DUE')).toEqual(['DUE', 'DUE#0']);

    const eight = new IndexShards(ledger().doc, ledger().name, 8);
    expect(await eight.valueFor('DUE', ARN)).toMatch(/^DUE#[0-7]$/);
    expect(await ledger().item(INDEX_SHARDS_KEY)).toMatchObject({ shards: 8 });

    // A later deploy with fewer shards still reads the 8 an earlier one wrote.
    const two = new IndexShards(ledger().doc, ledger().name, 2);
    await two.valueFor('DUE', ARN);
    expect(await ledger().item(INDEX_SHARDS_KEY)).toMatchObject({ shards: 8 });
    expect(await two.readValues('HELD-EXHAUSTED')).toEqual(['HELD-EXHAUSTED', ...Array.from({ length: 8 }, (_, k) => `HELD-EXHAUSTED#${k}`)]);
    // A reader keeps the count it read for up to a minute (the next test): a deploy changes it.
    expect(await one.readValues('DUE')).toHaveLength(2);
  });

  test('a reader re-reads the recorded count after a minute', async () => {
    let now = 1_000;
    const reader = new IndexShards(ledger().doc, ledger().name, 1, () => now);
    expect(await reader.recordedCount()).toBe(0);
    await new IndexShards(ledger().doc, ledger().name, 4).valueFor('DUE', ARN);
    expect(await reader.recordedCount()).toBe(0);
    now += 60_000;
    expect(await reader.recordedCount()).toBe(4);
    expect(await reader.readValues('DUE')).toEqual(['DUE', 'DUE#0', 'DUE#1', 'DUE#2', 'DUE#3']);
  });

  test('a count that is not a positive integer is refused', () => {
    expect(() => new IndexShards(ledger().doc, ledger().name, 0)).toThrow(/index shard count must be a positive integer, got 0/);
  });
});
