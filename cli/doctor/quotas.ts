/**
 * Step Functions' documented API quotas (token bucket per account and Region; soft
 * limits AWS may raise): refill per second, in us-east-1, us-west-2 and eu-west-1, and in
 * every other Region. https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
 * The doctor prefers the account's own values from Service Quotas and uses these when it
 * cannot read them.
 */

export type QuotaApi = 'RedriveExecution' | 'DescribeExecution' | 'ListExecutions';

const LARGE_REGIONS = new Set(['us-east-1', 'us-west-2', 'eu-west-1']);

const REFILL_PER_SECOND: Record<QuotaApi, { readonly large: number; readonly other: number }> = {
  RedriveExecution: { large: 300, other: 150 },
  DescribeExecution: { large: 15, other: 10 },
  ListExecutions: { large: 5, other: 2 },
};

/** The documented default refill rate of `api` in `region`. */
export function documentedRefill(api: QuotaApi, region: string): number {
  const q = REFILL_PER_SECOND[api];
  return LARGE_REGIONS.has(region) ? q.large : q.other;
}

/**
 * The account's refill rate of `api` among Service Quotas' Step Functions quotas, matched
 * by name (the quota's name holds the API name and "refill"), or undefined.
 */
export function listedRefill(quotas: ReadonlyMap<string, number>, api: QuotaApi): number | undefined {
  for (const [name, value] of quotas) {
    if (name.toLowerCase().includes(api.toLowerCase()) && /refill/i.test(name)) return value;
  }
  return undefined;
}

/**
 * How many ListExecutions / DescribeStateMachine calls per second the doctor makes: half
 * of ListExecutions' documented refill, so it leaves room for the controller's sweep and
 * for people using the console meanwhile.
 */
export function doctorCallsPerSecond(region: string): number {
  return documentedRefill('ListExecutions', region) / 2;
}
