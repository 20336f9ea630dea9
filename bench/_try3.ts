import { runOutage, OUTAGE_SCENARIO } from './outage';
async function main() {
  const n = Number(process.argv[2] ?? 100);
  const which = process.argv[3];
  const dynamo = (process.argv[4] ?? 'process') as any;
  const s = { ...OUTAGE_SCENARIO, executions: n };
  const specs: any = {
    naive: { kind: 'naive' as const, label: 'naive' },
    default: { kind: 'auto-redrive' as const, label: 'default', policy: { stateMachine: '*' }, note: '' },
    tuned: { kind: 'auto-redrive' as const, label: 'tuned', policy: { stateMachine: '*', maxRedrives: 6, intervalSeconds: 120, jitter: 'NONE' }, note: '' },
  };
  const cpu0 = process.cpuUsage();
  const r = await runOutage(specs[which], s, { dynamo });
  const cpu = process.cpuUsage(cpu0);
  const { timeline, ...rest } = r;
  console.log(JSON.stringify(rest), 'cpu', (cpu.user + cpu.system) / 1000);
}
main();
