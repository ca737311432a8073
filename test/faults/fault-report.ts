/** The numbers the fault suite ends with; the ones marked "must be 0" are asserted. */
export interface FaultReport {
  faults: Map<string, number>;
  tasks: number;
  decidedOnce: number;
  /** Never decided by the end. */
  lost: number;
  /** Two different decisions seen (confirmations that differ, or a second reply accepted). */
  decidedTwice: number;
  /** Decided, but not as the reply said (outcome, comment or sender). */
  decidedWrongly: number;
  inboxLeft: number;
  handRestarts: number;
}

/** The report as a Markdown table, the faults spelled out in its first row. */
export function formatReport(report: FaultReport): string {
  const total = [...report.faults.values()].reduce((a, b) => a + b, 0);
  const kinds = [...report.faults].map(([kind, n]) => (n === 1 ? kind : `${n}× ${kind}`)).join(', ');
  const rows: [string, string][] = [
    ['faults injected', `${total} (${kinds})`],
    ['tasks', String(report.tasks)],
    ['decided exactly once', String(report.decidedOnce)],
    ['lost (must be 0)', String(report.lost)],
    ['decided twice (must be 0)', String(report.decidedTwice)],
    ['decided otherwise than replied (must be 0)', String(report.decidedWrongly)],
    ['INBOX left (must be 0)', String(report.inboxLeft)],
    ['worker restarts needed by hand (must be 0)', String(report.handRestarts)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    `| ${'what'.padEnd(width)} | count |`,
    `| ${'-'.repeat(width)} | ----- |`,
    ...rows.map(([label, value]) => `| ${label.padEnd(width)} | ${value} |`),
  ].join('\n');
}
