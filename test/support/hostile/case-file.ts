import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

/**
 * The hostile-mail corpus: one file per case in test/fixtures/hostile (see its README.md).
 * `<id>.eml` is a message template under a YAML front matter; `<id>.yaml` is a case built by
 * code alone (a task start, the flood).
 */
export const CORPUS_DIR = path.join(__dirname, '..', '..', 'fixtures', 'hostile');

/** What a message may come to: a sync's reject code, a task's ignore reason, or a decision. */
export const OUTCOMES = [
  'completed',
  'failed',
  'no-token',
  'ambiguous',
  'bad-signature',
  'expired',
  'sender-mismatch',
  'not-whitelisted',
  'auto-reply',
  'oversized',
  'unparseable',
  'too-complex',
  'unauthenticated',
  'duplicate',
  'not-assigned',
  'task-closed',
] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const DECISIONS: readonly Outcome[] = ['completed', 'failed'];

/** Branches whose features a case checks; its assertions are skipped until the lead enables them. */
export const NEEDS = ['auth', 'intake', 'parsers'] as const;
export type Need = (typeof NEEDS)[number];

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
] as const;

const outcome = z.enum(OUTCOMES);
const needs = z
  .union([z.enum(NEEDS), z.array(z.enum(NEEDS))])
  .optional()
  .transform((n) => (n === undefined ? [] : Array.isArray(n) ? n : [n]));

const common = {
  description: z.string().min(10),
  needs,
  /** Not even delivered while its `needs` are missing: today's code would block the worker. */
  blocksWorkerToday: z.boolean().default(false),
};

const mailCase = z
  .object({
    ...common,
    /** The outcome; with `copies`, one per copy in any order. */
    expect: z.union([outcome, z.array(outcome).min(1)]).transform((e) => (Array.isArray(e) ? e : [e])),
    /** Codes that are just as right, e.g. when a budget or the order of checks decides between them. */
    acceptAlso: z.array(outcome).default([]),
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
    expect: z.literal('request-sent'),
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
