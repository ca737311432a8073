import type { TaskState } from '../../../workflows/definitions';
import { DECISIONS, USERS, type CorpusCase } from './case-file';
import type { ReportRow, ReportSummary } from './report';
import type { TokenTarget } from './tokens';

/** A task the corpus started. */
export interface TaskRef extends TokenTarget {
  taskId: string;
  title: string;
}

/** One case's run: where its message went, what happened to it, and what is wrong with that. */
export interface CaseRun {
  c: CorpusCase;
  task?: TaskRef;
  messageId: string;
  uids: number[];
  sizes: number[];
  /** Outcomes seen; 'refused' when Postfix refused the submission. */
  observed: string[];
  leftInInbox: boolean;
  before?: TaskState;
  after?: TaskState;
  note?: string;
  problems: string[];
}

/** Fills `run.problems` with every way the case's outcome differs from what it expects. */
export function judge(run: CaseRun): void {
  const c = run.c;
  if (c.kind === 'task-start') {
    if (run.observed[0] !== c.expect) run.problems.push(`expected ${c.expect}, got ${run.observed[0]}`);
    return;
  }
  if (c.kind === 'flood') {
    const wrong = run.observed.filter((o) => !c.junkExpect.includes(o as never));
    if (wrong.length > 0)
      run.problems.push(`junk outcomes outside ${c.junkExpect.join('|')}: ${[...new Set(wrong)].join(', ')}`);
    if (run.observed.length < run.uids.length)
      run.problems.push(`${run.uids.length - run.observed.length} junk messages without an outcome`);
    if (run.leftInInbox) run.problems.push('junk left in INBOX');
    return;
  }
  const observed = [...run.observed].sort();
  const expected = [...c.expect].sort();
  if (observed.join() !== expected.join())
    run.problems.push(`expected ${c.expect.join('+')}, observed ${run.observed.join('+') || 'nothing'}`);
  if (run.leftInInbox) run.problems.push('the message is still in INBOX');
  const was = run.before?.result;
  const now = run.after?.result;
  if (c.decides) {
    const outcome = c.expect.find((e) => DECISIONS.includes(e));
    const sender = c.deliver === 'lmtp' ? undefined : USERS[c.deliver.slice(5) as keyof typeof USERS];
    if (now?.outcome !== outcome || now?.channel !== 'email' || (sender && now?.decidedBy !== sender))
      run.problems.push(
        `expected the task ${outcome} by email, it is ${now?.outcome ?? run.after?.status} by ${now?.decidedBy ?? 'nobody'}`,
      );
    if (c.comment !== undefined && now?.comment !== c.comment)
      run.problems.push(
        `expected the comment ${JSON.stringify(c.comment)}, stored ${JSON.stringify(now?.comment)}`,
      );
    if (/[^\P{Cc}\t\n]/u.test(now?.comment ?? ''))
      run.problems.push('the stored comment has control characters');
  } else if (JSON.stringify(now) !== JSON.stringify(was) || run.after?.status !== run.before?.status) {
    run.problems.push(
      `the task changed: ${run.before?.status} -> ${run.after?.status} (${now?.outcome ?? ''} by ${now?.decidedBy ?? ''})`,
    );
  }
}

/** A message that must not decide anything decided its task. */
export function wrongfulDecision(run: CaseRun): boolean {
  if (run.c.kind !== 'mail' || run.c.decides) return false;
  const decidedByMail = run.after?.result?.channel === 'email' && run.before?.result === undefined;
  return decidedByMail || run.observed.some((o) => (DECISIONS as readonly string[]).includes(o));
}

export function reportRows(runs: readonly CaseRun[]): ReportRow[] {
  return runs.map((run) => {
    const c = run.c;
    const expected =
      c.kind === 'mail'
        ? c.expect.join('+')
        : c.kind === 'flood'
          ? `junk: ${c.junkExpect.join('|')}`
          : c.expect;
    const counts = new Map<string, number>();
    for (const o of run.observed) counts.set(o, (counts.get(o) ?? 0) + 1);
    const observed =
      c.kind === 'flood'
        ? [...counts].map(([o, n]) => `${o} x${n}`).join(', ')
        : run.observed.join('+') || 'nothing';
    const verdict = run.problems.length ? `MISMATCH: ${run.problems.join('; ')}` : 'ok';
    const via = c.kind === 'mail' ? c.deliver : c.kind === 'flood' ? 'lmtp+smtp' : 'task start';
    return { id: c.id, via, expected, observed, verdict, note: run.note };
  });
}

export function summary(runs: readonly CaseRun[], rounds: ReportSummary['rounds']): ReportSummary {
  const codes = new Map<string, number>();
  for (const run of runs) for (const o of run.observed) codes.set(o, (codes.get(o) ?? 0) + 1);
  return {
    cases: runs.length,
    codes,
    mismatches: runs.filter((r) => r.problems.length > 0).length,
    wrongful: runs.filter(wrongfulDecision).length,
    stalls: rounds.filter((r) => r.stalled).length,
    rounds,
  };
}
