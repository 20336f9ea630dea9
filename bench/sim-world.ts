/**
 * A small discrete-event loop on a SimClock. Everything that waits for simulated time
 * (execution starts, running Task states, event deliveries, drain ticks and the
 * controller's own rate-limit sleeps) is a timer here. The loop moves the clock only when
 * the system is idle: no SDK request in flight and the stand-in has no state to run. So
 * concurrent sleepers overlap as they would in real time, instead of each sleep pushing
 * one shared clock forward.
 *
 * Timers are fired in windows (everything due before the end of the window fires at the
 * latest due time in it), one second unless told otherwise, which bounds the number of
 * idle checks. A window is also the finest step of a sleeper: a worker that sleeps for its
 * rate-limit slot wakes at most once per window, so a run that measures a release rate
 * (the storm) uses short windows.
 */
import type { SimClock } from '../local/sim-clock';
import { TimerHeap } from './timer-heap';

export type TimerKind = 'start' | 'run' | 'delivery' | 'tick' | 'sleep';

interface Timer {
  readonly at: number;
  readonly kind: TimerKind;
  readonly fn: () => unknown;
}

export interface RunOptions {
  /** True when nothing is in flight (no SDK request, no stand-in state running). */
  readonly idle: () => boolean;
  /** Asked whenever the system is idle; true ends the run. */
  readonly done: () => Promise<boolean>;
  /** Throw if the next timer is later than this. */
  readonly hardStop: number;
  readonly onWindow?: () => void;
}

export class SimWorld {
  private readonly heap = new TimerHeap<Timer>();
  private readonly kinds = new Map<TimerKind, number>();
  readonly errors: unknown[] = [];
  windows = 0;

  constructor(
    readonly clock: SimClock,
    private readonly windowMs = 1000,
  ) {}

  at(at: number, kind: TimerKind, fn: () => unknown): void {
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    this.heap.push(at, { at, kind, fn });
  }

  /** A sleep on simulated time, for the controller's `sleep` dependency. */
  readonly sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => this.at(this.clock.now() + Math.max(0, ms), 'sleep', resolve));

  get size(): number {
    return this.heap.size;
  }

  pending(kind: TimerKind): number {
    return this.kinds.get(kind) ?? 0;
  }

  private pop(): Timer {
    const top = this.heap.pop()!.item;
    this.kinds.set(top.kind, (this.kinds.get(top.kind) ?? 1) - 1);
    return top;
  }

  private async settle(idle: () => boolean): Promise<void> {
    for (let turn = 0; ; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (idle()) {
        // One more turn: a continuation may be about to send the next request.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (idle()) return;
      }
      if (turn > 10_000_000) throw new Error('simulation never became idle');
    }
  }

  async run(options: RunOptions): Promise<void> {
    for (;;) {
      await this.settle(options.idle);
      if (this.errors.length > 0) throw this.errors[0];
      if (await options.done()) return;
      const nextAt = this.heap.nextAt();
      if (nextAt === undefined) throw new Error('simulation idle with nothing scheduled, but not done');
      if (nextAt > options.hardStop) throw new Error(`simulation still busy at ${new Date(nextAt).toISOString()}`);
      const windowEnd = (Math.floor(Math.max(nextAt, this.clock.now()) / this.windowMs) + 1) * this.windowMs;
      const batch: Timer[] = [];
      while (this.heap.size > 0 && this.heap.nextAt()! < windowEnd) batch.push(this.pop());
      this.clock.advanceTo(batch[batch.length - 1].at);
      this.windows++;
      for (const timer of batch) {
        try {
          const out = timer.fn();
          if (out instanceof Promise) out.catch((e: unknown) => this.errors.push(e));
        } catch (e) {
          this.errors.push(e);
        }
      }
      options.onWindow?.();
    }
  }
}
