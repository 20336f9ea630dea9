/**
 * bench/sim-worker.ts: a worker runs every thread at the lowest CPU priority, so that the
 * simulated-time jobs leave the CPU to the real-clock sections beside them (bench/run.ts). Checked in a child process: lowering cannot be undone here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/** Runs `code` in a fresh Node with the tsx loader (as the bench runs), from the repo root. */
function node(code: string): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

const niceOfEveryThread = `
  const { readdirSync, readFileSync } = require('node:fs');
  const nice = (tid) => Number(readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[16]);
  console.log(JSON.stringify(readdirSync('/proc/self/task').map(nice)));`;

const linux = process.platform === 'linux' && existsSync('/proc/self/task');
(linux ? describe : describe.skip)('sim-worker lowerOwnPriority (Linux: niceness per thread, read from /proc)', () => {
  it('a process that did not lower itself runs at the priority it was started with (the check can fail)', () => {
    const nices = JSON.parse(node(niceOfEveryThread)) as number[];
    expect(nices.length).toBeGreaterThan(1);
    expect(new Set(nices)).toEqual(new Set([getPriority()]));
  });

  it('lowers every thread of the process, V8 helper threads included, to nice 19', () => {
    const nices = JSON.parse(node(`require('./bench/sim-worker').lowerOwnPriority();${niceOfEveryThread}`)) as number[];
    expect(nices.length).toBeGreaterThan(1);
    expect(new Set(nices)).toEqual(new Set([19]));
  });
});
