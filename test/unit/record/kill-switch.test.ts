/** The kill switch on dynalite: one item, CONTROL/PAUSE, present while paused. */
import { KillSwitch } from '../../../lambda/record/kill-switch';
import { useLedgerTable } from '../../support/dynalite';

const T0 = 1_700_000_000_000;
const KEY = { pk: 'CONTROL', sk: 'PAUSE' };

const table = useLedgerTable();
const killSwitch = () => new KillSwitch(table().doc, table().name);

it('is off when nothing was ever written', async () => {
  await expect(killSwitch().read()).resolves.toEqual({ paused: false });
});

it('pause stores who, why and when in the CONTROL/PAUSE item; read reports it', async () => {
  await killSwitch().pause('incident 42', 'alice', T0);
  expect(await table().item(KEY)).toEqual({ ...KEY, reason: 'incident 42', by: 'alice', at: T0 });
  await expect(killSwitch().read()).resolves.toEqual({ paused: true, reason: 'incident 42', by: 'alice', at: T0 });
});

it('pausing again replaces the earlier reason', async () => {
  await killSwitch().pause('incident 42', 'alice', T0);
  await killSwitch().pause('deploy freeze', 'bob', T0 + 1_000);
  await expect(killSwitch().read()).resolves.toEqual({ paused: true, reason: 'deploy freeze', by: 'bob', at: T0 + 1_000 });
});

it('resume removes the item; resuming when not paused is harmless', async () => {
  await killSwitch().pause('incident 42', 'alice', T0);
  await killSwitch().resume();
  expect(await table().item(KEY)).toBeUndefined();
  await expect(killSwitch().read()).resolves.toEqual({ paused: false });
  await expect(killSwitch().resume()).resolves.toBeUndefined();
});
