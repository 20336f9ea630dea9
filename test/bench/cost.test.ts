/** The cost model turns measured calls per redrive into dollars per day (bench/cost.ts). */
import { controllerCost, PRICES, SWEEP_READS_PER_DAY } from '../../bench/cost';
import { LAMBDA_MEMORY_MB } from '../../contract/lambda-bundles';

test('writes, reads, requests and duration are billed per redrive at 1,000,000 a day', () => {
  const c = controllerCost({
    redriven: 1000,
    dynamoCallsByCommand: { UpdateItem: 1500, PutItem: 500, TransactWriteItems: 10, GetItem: 40, Query: 10, Scan: 2 },
    invocationsPerRedrive: 1,
    handlerMs: 100,
  });
  expect(c.writeUnitsPerRedrive).toBe(2.02); // a transaction bills each item twice
  expect(c.readUnitsPerRedrive).toBe(0.05);
  const byItem = Object.fromEntries(c.lines.map((l) => [l.item.split(' (')[0], l.usdPerDay]));
  expect(byItem['Lambda requests']).toBe(0.2);
  expect(byItem['Lambda duration']).toBeCloseTo(1e6 * 0.1 * (LAMBDA_MEMORY_MB / 1024) * PRICES.lambdaArmGbSecond, 2);
  expect(byItem['DynamoDB writes']).toBeCloseTo(2.02 * 0.625, 2);
  expect(byItem['Reconciliation sweep reads']).toBeCloseTo(SWEEP_READS_PER_DAY * PRICES.dynamoReadUnit, 1);
  expect(c.usdPerDayAtMillionRedrives).toBeCloseTo(c.lines.reduce((s, l) => s + l.usdPerDay, 0), 1);
  expect(c.organizationForwardingUsdPerDay).toBe(1);
});

test('the old event path (about 5.6 writes and 1 read per redrive, 201 ms) comes to the $6.1 table less forwarding', () => {
  const c = controllerCost({ redriven: 10, dynamoCallsByCommand: { UpdateItem: 46, PutItem: 10, Query: 10 }, invocationsPerRedrive: 1, handlerMs: 201 });
  expect(c.usdPerDayAtMillionRedrives).toBeCloseTo(6.1 - 1, 1);
});
