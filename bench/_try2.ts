import { runOutage, OUTAGE_SCENARIO } from './outage';
async function main() {
  const n = Number(process.argv[2] ?? 100);
  const s = { ...OUTAGE_SCENARIO, executions: n };
  for (const spec of [
    { kind: 'naive' as const, label: 'naive' },
    { kind: 'auto-redrive' as const, label: 'default', policy: { stateMachine: '*' }, note: '' },
    { kind: 'auto-redrive' as const, label: 'tuned', policy: { stateMachine: '*', maxRedrives: 6, intervalSeconds: 120, jitter: 'NONE' }, note: '' },
  ]) {
    const r = await runOutage(spec, s, { progress: console.log });
    const { timeline, ...rest } = r;
    console.log(JSON.stringify(rest), timeline.length);
  }
}
main();
