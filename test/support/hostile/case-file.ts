import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { OUTCOME_CODES, type OutcomeCode } from '../../../domain/mail-outcome';

/**
 * The hostile-mail corpus: one file per case in test/fixtures/hostile (see its README.md).
 * `<id>.eml` is a message template under a YAML front matter; `<id>.yaml` is a case built by
 * code alone (a task start, the flood).
 */
export const CORPUS_DIR = path.join(__dirname, '..', '..', 'fixtures', 'hostile');

/**
 * What a message may come to: a sync's outcome code (but `signalled`, which the task's verdict
 * replaces), a task's verdict on a decision, or `refused` at submission by the stack's Postfix
 * (or its milter).
 */
export type Outcome =
  Exclude<OutcomeCode, 'signalled'> | 'completed' | 'failed' | 'duplicate' | 'not-assigned' | 'refused';
export const OUTCOMES: readonly Outcome[] = [
  ...OUTCOME_CODES.filter((c): c is Exclude<OutcomeCode, 'signalled'> => c !== 'signalled'),
  'completed',
  'failed',
  'duplicate',
  'not-assigned',
  'refused',
];
export const DECISIONS: readonly Outcome[] = ['completed', 'failed'];

export const USERS = { alice: 'alice@example.test', carol: 'carol@example.test', bob: 'bob@other.test' };
export type User = keyof typeof USERS;
const user = z.enum(['alice', 'carol', 'bob']);

export const GENERATORS = [
  'poison-html',
  'oversized-attachment',
  'nested-multipart',
  'many-parts',
  'many-headers',
  'many-bad-tokens',
  'dkim-body-lengths',
  'dkim-signed-field-list',
] as const;

const outcome = z.enum(OUTCOMES as [Outcome, ...Outcome[]]);

const common = { description: z.string().min(10) };

const mailCase = z
  .object({
    ...common,
    /** The outcome; with `copies`, one per copy in any order. */
    expect: z.union([outcome, z.array(outcome).min(1)]).transform((e) => (Array.isArray(e) ? e : [e])),
    decides: z.boolean(),
    /** `smtp <user>`: submitted to Postfix as that stack user; `lmtp`: written straight into Dovecot. */
    deliver: z
      .string()
      .regex(/^(smtp (alice|carol|bob|completion)|lmtp)$/, 'smtp <alice|carol|bob|completion> or lmtp'),
    /** SMTP/LMTP MAIL FROM; '' is the null sender `<>`. Default: the submitting user (smtp), a corpus address (lmtp). */
    envelopeFrom: z.string().optional(),
    round: z.union([z.literal(1), z.literal(2)]).default(1),
    /** In a sync of its own (big or dangerous messages), so a stall is pinned on it. */
    alone: z.boolean().default(false),
    copies: z.number().int().min(1).max(2).default(1),
    task: z
      .object({
        assignees: z.array(user).min(1).default(['alice']),
        /** What happens to the task before the message is delivered. */
        before: z.enum(['reassign-to-carol', 'cancel', 'complete-by-api']).optional(),
        /** Use the task of another case (a later round) instead of a task of its own. */
        shareWith: z.string().optional(),
      })
      .strict()
      .default({ assignees: ['alice'] }),
    /** The comment the decided task must store. */
    comment: z.string().optional(),
    generate: z
      .object({ kind: z.enum(GENERATORS), size: z.number().int().positive().optional() })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.decides !== c.expect.some((e) => DECISIONS.includes(e)))
      ctx.addIssue({
        code: 'custom',
        message: '`decides` must be true exactly when `expect` has a decision',
      });
    if (c.expect.length !== c.copies)
      ctx.addIssue({ code: 'custom', message: `\`expect\` needs one outcome per copy (${c.copies})` });
  });

const taskStartCase = z
  .object({
    ...common,
    kind: z.literal('task-start'),
    /** The request is sent, or the client refuses the task with a clear error and starts nothing. */
    expect: z.enum(['request-sent', 'input-error']),
    /** The task description: `unit` repeated to `bytes`. */
    descriptionRepeat: z.object({ unit: z.string().min(1), bytes: z.number().int().positive() }).strict(),
  })
  .strict();

const floodCase = z
  .object({
    ...common,
    kind: z.literal('flood'),
    /** Junk delivered over LMTP in bulk. */
    junk: z.number().int().positive(),
    /** Valid replies submitted over SMTP among the junk; each must decide its task. */
    valid: z.number().int().positive(),
    junkExpect: z.array(outcome).min(1),
  })
  .strict();

export type MailCase = z.infer<typeof mailCase> & { id: string; kind: 'mail'; template: string };
export type TaskStartCase = z.infer<typeof taskStartCase> & { id: string };
export type FloodCase = z.infer<typeof floodCase> & { id: string };
export type CorpusCase = MailCase | TaskStartCase | FloodCase;

/** Splits `---\n<yaml>\n---\n<message>`; the message keeps its bytes but gets CRLF line ends at render. */
function splitFrontMatter(file: string, text: string): { meta: unknown; body: string } {
  const match = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (!match) throw new Error(`${file}: expected a front matter between two "---" lines at the top`);
  return { meta: parseYaml(file, match[1]!), body: text.slice(match[0].length) };
}

function parseYaml(file: string, text: string): unknown {
  try {
    return parse(text);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
}

function fail(file: string, error: z.ZodError): never {
  const issues = error.issues.map((i) => `${i.path.join('.') || '(case)'}: ${i.message}`).join('; ');
  throw new Error(`${file}: ${issues}`);
}

export function loadCorpus(dir = CORPUS_DIR): CorpusCase[] {
  const cases: CorpusCase[] = [];
  for (const name of readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    const id = path.basename(name, path.extname(name));
    if (!/\.(eml|yaml)$/.test(name)) continue;
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(id))
      throw new Error(`${name}: a case id is lower-case words and dashes`);
    if (name.endsWith('.eml')) {
      const { meta, body } = splitFrontMatter(name, readFileSync(file, 'utf8'));
      const parsed = mailCase.safeParse(meta);
      if (!parsed.success) fail(name, parsed.error);
      cases.push({ ...parsed.data, id, kind: 'mail', template: body });
    } else {
      const meta = parseYaml(name, readFileSync(file, 'utf8'));
      const parsed = z.discriminatedUnion('kind', [taskStartCase, floodCase]).safeParse(meta);
      if (!parsed.success) fail(name, parsed.error);
      cases.push({ ...parsed.data, id });
    }
  }
  const ids = new Set(cases.map((c) => c.id));
  for (const c of cases) {
    const shared = c.kind === 'mail' ? c.task.shareWith : undefined;
    if (shared !== undefined && !ids.has(shared))
      throw new Error(`${c.id}: task.shareWith names no case: ${shared}`);
  }
  return cases;
}
