/** The sweep schedule on dynalite: one conditional write decides which drain runs the sweep. */
import { SweepSchedule } from '../../../lambda/record/sweep-schedule';
import { useLedgerTable } from '../../support/dynalite';

const T0 = 1_700_000_000_000;
const EVERY = 15 * 60_000;
const KEY = { pk: 'CONTROL', sk: 'SWEEP' };

const table = useLedgerTable();
const schedule = () => new SweepSchedule(table().doc, table().name);

it('the first run is claimed, with no previous run', async () => {
  await expect(schedule().claimRun(T0, EVERY)).resolves.toEqual({ claimed: true, previousRunAt: undefined });
  expect(await table().item(KEY)).toEqual({ ...KEY, lastRunAt: T0 });
});

it('refused until the interval has passed; then claimed, reporting the previous run', async () => {
  await schedule().claimRun(T0, EVERY);
  await expect(schedule().claimRun(T0 + EVERY - 1, EVERY)).resolves.toEqual({ claimed: false });
  expect(await table().item(KEY)).toEqual({ ...KEY, lastRunAt: T0 });
  await expect(schedule().claimRun(T0 + EVERY, EVERY)).resolves.toEqual({ claimed: true, previousRunAt: T0 });
  expect(await table().item(KEY)).toEqual({ ...KEY, lastRunAt: T0 + EVERY });
});

it('of several drains due at once, exactly one runs the sweep', async () => {
  const results = await Promise.all(Array.from({ length: 4 }, () => schedule().claimRun(T0, EVERY)));
  expect(results.filter((r) => r.claimed)).toHaveLength(1);
});

it('passes on errors other than a failed condition', async () => {
  await expect(new SweepSchedule(table().doc, 'no-such-table').claimRun(T0, EVERY)).rejects.toThrow();
});
