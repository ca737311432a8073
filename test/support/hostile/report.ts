/** One row of the corpus table: what a case expected, what it got, and whether that counts. */
export interface ReportRow {
  id: string;
  via: string;
  expected: string;
  observed: string;
  /** 'ok', or 'MISMATCH: ' and what differs. */
  verdict: string;
  note?: string;
}

export interface ReportSummary {
  cases: number;
  codes: Map<string, number>;
  mismatches: number;
  wrongful: number;
  stalls: number;
  rounds: {
    name: string;
    messages: number;
    syncs: number;
    deliverMs: number;
    syncMs: number;
    stalled?: string;
    /** Where the sync results and the worker's log disagree. */
    problems: string[];
  }[];
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** The table as lines (TAP diagnostics); every value is our own or a case id, never message text. */
export function formatReport(rows: ReportRow[], s: ReportSummary): string[] {
  const widths = [
    Math.max(4, ...rows.map((r) => r.id.length)),
    Math.max(3, ...rows.map((r) => r.via.length)),
    Math.max(8, ...rows.map((r) => r.expected.length)),
    Math.max(8, ...rows.map((r) => r.observed.length)),
  ] as const;
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < widths.length ? pad(c, widths[i]!) : c))
      .join('  ')
      .trimEnd();
  const codes = [...s.codes.entries()].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`);
  return [
    line(['case', 'via', 'expected', 'observed', 'verdict']),
    ...rows.map((r) =>
      line([r.id, r.via, r.expected, r.observed, r.verdict + (r.note ? `  (${r.note})` : '')]),
    ),
    '',
    `cases: ${s.cases}`,
    `outcome codes: ${codes.join(', ')}`,
    `mismatches: ${s.mismatches} (must be 0)`,
    `wrongful decisions: ${s.wrongful} (must be 0)`,
    `stalls: ${s.stalls} (must be 0)`,
    ...s.rounds.map(
      (r) =>
        `round ${r.name}: ${r.messages} messages (+1 chaser) delivered in ${(r.deliverMs / 1000).toFixed(1)} s, ` +
        `${r.syncs} sync run(s) and checks in ${(r.syncMs / 1000).toFixed(1)} s` +
        (r.stalled ? `, STALLED: ${r.stalled}` : '') +
        (r.problems.length ? `, PROBLEMS: ${r.problems.join('; ')}` : ''),
    ),
  ];
}
