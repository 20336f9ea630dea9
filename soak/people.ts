/**
 * What people do during the soak's traffic (issue 18): pause the controller with the kill
 * switch and resume it (`redrivectl pause` / `resume`), and release a state machine's
 * held failures by hand (`redrivectl release --state-machine`) while failures are held or
 * pending. The soak's invariants then cover what they touched: nothing lost, nothing
 * redriven twice, nothing left `paused` after the resume.
 */
import { heldOfStateMachine, releaseStateMachineByHand } from '../lambda/breaker/release';
import type { Wired } from '../lambda/wiring';
import type { MachineName } from './world';

/** When each action happens, in ms from the soak's start. */
export interface PeoplePlan {
  readonly pauseAtMs: number;
  readonly resumeAtMs: number;
  readonly releaseAtMs: number;
}

export class People {
  /** Executions whose failure the release by hand redrove (a person's release may go past maxRedrives). */
  readonly releasedByHand = new Set<string>();
  /** Epoch ms of the resume (0 before it): a sweep must start after it for paused failures to be reconsidered. */
  resumedAt = 0;
  private readonly rows: Array<[string, string | number]> = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly work: Array<Promise<void>> = [];
  private errors = 0;

  constructor(
    private readonly deps: Wired,
    private readonly machines: Record<MachineName, string>,
  ) {}

  start(t0: number, plan: PeoplePlan): void {
    const at = (ms: number, action: () => Promise<void>) =>
      this.timers.push(
        setTimeout(() => {
          this.work.push(
            action().catch((e: unknown) => {
              this.errors++;
              this.rows.push(['people: action failed', `${(e as Error).name}: ${(e as Error).message}`]);
            }),
          );
        }, Math.max(0, t0 + ms - Date.now())),
      );
    let pausedAt = 0;
    at(plan.pauseAtMs, async () => {
      pausedAt = Date.now();
      await this.deps.killSwitch.pause('soak: paused mid-traffic', 'soak', pausedAt);
    });
    at(plan.resumeAtMs, async () => {
      await this.deps.killSwitch.resume();
      this.resumedAt = Date.now();
      this.rows.push(['people: paused at / resumed at (s)', `${seconds(t0, pausedAt)} / ${seconds(t0, this.resumedAt)}`]);
    });
    at(plan.releaseAtMs, () => this.releaseMostHeld(t0));
  }

  /** Waits for the actions in flight; true if every planned one has run. */
  async finished(): Promise<boolean> {
    await Promise.all(this.work);
    return this.work.length === this.timers.length;
  }

  stop(): void {
    this.timers.forEach(clearTimeout);
  }

  /** The figures for the soak's table. */
  figures(): Array<[string, string | number]> {
    return [...this.rows, ['people: actions failed or not run', this.errors + (this.timers.length - this.work.length)]];
  }

  /** Releases the state machine with the most held failures now (with none held, the long-running one, whose failures are then pending or in flight). */
  private async releaseMostHeld(t0: number): Promise<void> {
    let chosen: { name: MachineName; held: number } = { name: 'etl-long', held: 0 };
    for (const [name, arn] of Object.entries(this.machines) as Array<[MachineName, string]>) {
      const plan = await heldOfStateMachine(arn, this.deps);
      const held = plan.groups.reduce((n, g) => n + g.held, 0) + plan.exhausted;
      if (held > chosen.held) chosen = { name, held };
    }
    const startedAt = Date.now();
    const outcomes = await releaseStateMachineByHand(this.machines[chosen.name], this.deps, { concurrency: 8 });
    for (const o of outcomes) if (o.action === 'redriven' && o.executionArn) this.releasedByHand.add(o.executionArn);
    const actions = new Map<string, number>();
    for (const o of outcomes) actions.set(o.action, (actions.get(o.action) ?? 0) + 1);
    this.rows.push([
      `people: released ${chosen.name} by hand at ${seconds(t0, startedAt)} s`,
      `${chosen.held} held; ${[...actions].map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing released'}`,
    ]);
  }
}

const seconds = (t0: number, at: number) => Math.round((at - t0) / 1000);
