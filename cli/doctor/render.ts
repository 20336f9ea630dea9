/**
 * The doctor's output: one line per check (status, what was checked, what was found, and
 * for warn and fail the fix), then a summary line; or, with `-o json`, one document.
 * Exit status 1 when any check failed.
 */
import { cell } from '../output';
import { EXIT } from '../errors';
import type { CheckStatus } from './check';
import type { CheckReport } from './runner';

const LABEL: Record<CheckStatus, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', 'not-checked': 'not checked' };

export interface DoctorSummary {
  readonly ok: number;
  readonly warn: number;
  readonly fail: number;
  readonly notChecked: number;
}

export function summarize(reports: readonly CheckReport[]): DoctorSummary {
  const count = (s: CheckStatus) => reports.filter((r) => r.status === s).length;
  return { ok: count('ok'), warn: count('warn'), fail: count('fail'), notChecked: count('not-checked') };
}

export function exitCode(reports: readonly CheckReport[]): number {
  return reports.some((r) => r.status === 'fail') ? EXIT.failed : EXIT.ok;
}

/** The `-o json` document. */
export function doctorDocument(target: string, reports: readonly CheckReport[]): Record<string, unknown> {
  const summary = summarize(reports);
  return {
    target,
    healthy: summary.fail === 0,
    summary,
    checks: reports.map((r) => ({ id: r.id, title: r.title, status: r.status, detail: r.detail, fix: r.fix ?? null, data: r.data ?? null })),
  };
}

/** The human rendering: aligned columns, one line per check. */
export function doctorText(target: string, reports: readonly CheckReport[]): string {
  const statusWidth = Math.max(...Object.values(LABEL).map((l) => l.length));
  const titleWidth = Math.max(...reports.map((r) => r.title.length));
  const lines = reports.map((r) => {
    const fix = r.fix ? `; fix: ${cell(r.fix)}` : '';
    return `${LABEL[r.status].padEnd(statusWidth)}  ${r.title.padEnd(titleWidth)}  ${cell(r.detail)}${fix}`;
  });
  const s = summarize(reports);
  const verdict = s.fail > 0 ? 'auto-redrive is NOT healthy' : s.warn > 0 ? 'auto-redrive works; see the warnings' : 'auto-redrive is healthy';
  return [`doctor: ${target}`, '', ...lines, '', `${reports.length} checks: ${s.ok} ok, ${s.warn} warn, ${s.fail} fail, ${s.notChecked} not checked: ${verdict}`].join('\n');
}
