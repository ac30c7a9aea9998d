/** What diagnose reports: one problem or risk, how bad, the figures behind it and what to run. */
export type FindingSeverity = 'critical' | 'warning' | 'info';

export interface Finding {
  /** Stable, for scripts. */
  code: string;
  severity: FindingSeverity;
  message: string;
  /** The figures the finding rests on. */
  evidence: Record<string, unknown>;
  /** The command that fixes it, or shows more. */
  fix: string;
}
