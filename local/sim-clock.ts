/**
 * Simulated time for local runs: the controller, the rate limiters and the Step Functions
 * stand-in all read this clock, and "sleeping" moves it forward. Minutes of backoff then
 * take milliseconds, with every timestamp still consistent.
 */
export class SimClock {
  constructor(private current: number) {}

  readonly now = (): number => this.current;

  readonly sleep = async (ms: number): Promise<void> => {
    this.advanceTo(this.current + Math.max(0, ms));
  };

  advanceTo(t: number): void {
    if (t > this.current) this.current = Math.ceil(t);
  }
}
