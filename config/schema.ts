import addressparser from 'nodemailer/lib/addressparser';
import { z } from 'zod';
import { parseAssignees } from '../domain/assignees';
import { parseDuration } from '../domain/duration';
import { TEAM_NAME } from '../domain/teams';

const numeric = (v: unknown) =>
  typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v;

const port = z.preprocess(
  numeric,
  z
    .number({ error: (issue) => `expected a number 1-65535, got ${JSON.stringify(issue.input)}` })
    .int('expected a whole number 1-65535')
    .min(1, 'expected a number 1-65535')
    .max(65535, 'expected a number 1-65535'),
);

const bool = z.preprocess(
  (v) => (v === 'true' ? true : v === 'false' ? false : v),
  z.boolean({ error: (issue) => `expected true or false, got ${JSON.stringify(issue.input)}` }),
);

const host = z.string().trim().min(1, 'expected a host name or address');
const email = z.email({ error: (issue) => `expected an email address, got ${JSON.stringify(issue.input)}` });

/**
 * `bot@example.com` or `Release Bot <bot@example.com>` (read by nodemailer's address parser), or
 * its parts `{ address, name }`; read as its parts.
 */
const mailbox = z
  .union([z.string(), z.strictObject({ address: z.string(), name: z.string().optional() })], {
    error: (issue) =>
      `expected an email address such as "Release Bot <bot@example.com>", got ${JSON.stringify(issue.input)}`,
  })
  .transform((value, ctx) => {
    const entries = typeof value === 'string' ? addressparser(value, { flatten: true }) : [value];
    const [entry] = entries;
    if (entries.length === 1 && entry && email.safeParse(entry.address).success) {
      const name = entry.name?.trim();
      return name ? { address: entry.address, name } : { address: entry.address };
    }
    ctx.addIssue({
      code: 'custom',
      message: `expected one email address, optionally with a name: bot@example.com or "Release Bot <bot@example.com>", got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  });

/** A duration string such as `30s`, or a number of milliseconds. */
const duration = z.union(
  [
    z.number().int().nonnegative(),
    z.string().transform((value, ctx) => {
      try {
        return parseDuration(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  ],
  { error: (issue) => `expected a duration such as 30s, 5m, 2h or 1d, got ${JSON.stringify(issue.input)}` },
);

const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
    'expected a domain such as example.com or *.example.com',
  );

const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(item),
  );

/** `teams:` name -> members, each `alice@example.com` or `Alice <alice@example.com>` (or `{ address, name }`). */
const teams = z
  .record(
    z.string().regex(TEAM_NAME),
    z
      .array(z.union([z.string(), z.strictObject({ address: z.string(), name: z.string().optional() })]), {
        error: (issue) => `expected a list of member addresses, got ${JSON.stringify(issue.input)}`,
      })
      .min(1, 'expected at least one member')
      .transform((members, ctx) => {
        try {
          return parseAssignees(members);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      }),
    {
      error: (issue) =>
        issue.code === 'invalid_key'
          ? 'expected team names of letters, digits, ".", "_", "-" (at most 64)'
          : `expected team names, each with a list of member addresses, got ${JSON.stringify(issue.input)}`,
    },
  )
  .default({});

const section = z.strictObject;

export const configSchema = section({
  temporal: section({
    address: host.default('127.0.0.1:7233'),
    namespace: z.string().min(1).default('default'),
    taskQueue: z.string().min(1).default('remote-completion'),
    /** TLS to the Temporal frontend (Temporal Cloud, a production cluster). */
    tls: bool.default(false),
    /** mTLS client certificate and key files (PEM), e.g. for Temporal Cloud. */
    clientCert: z.string().optional(),
    clientKey: z.string().optional(),
    /** API key authentication (Temporal Cloud); implies TLS. */
    apiKey: z.string().optional(),
  })
    .refine((t) => !t.clientCert === !t.clientKey, {
      message: 'set both clientCert and clientKey, or neither',
    })
    .prefault({}),
  smtp: section({
    host,
    port: port.default(587),
    /** Implicit TLS (port 465). */
    secure: bool.default(false),
    /** Refuse to send unless STARTTLS succeeds. */
    requireTLS: bool.default(false),
    user: z.string().optional(),
    password: z.string().optional(),
    /** From header of request emails, with or without a display name; defaults to imap.fromAddress. */
    from: mailbox.optional(),
    /** PEM file with extra trusted CA certificates (self-signed test servers). */
    ca: z.string().optional(),
  }),
  imap: section({
    host,
    port: port.default(993),
    tls: bool.default(true),
    /** The completion mailbox: replies go here; mail from it is never a decision. */
    fromAddress: email,
    user: z.string().min(1, 'expected the IMAP login'),
    password: z.string().min(1, 'expected the IMAP password'),
    ca: z.string().optional(),
    /** Move processed mail here instead of deleting it. */
    auditFolder: z
      .string()
      .min(1)
      .refine((f) => f.toUpperCase() !== 'INBOX', 'must be another folder than INBOX')
      .optional(),
    /** Messages larger than this are not downloaded (bytes). */
    maxMessageBytes: z
      .preprocess(
        numeric,
        z.number().int().min(10_000, 'expected at least 10000 bytes (it counts bytes, not kilobytes)'),
      )
      .default(1_000_000),
    /** Watch INBOX with IMAP IDLE and trigger a sync when mail lands. */
    idle: bool.default(true),
  }),
  whitelist: section({
    enabled: bool.default(false),
    domains: listOf(domainName).default([]),
  })
    .prefault({})
    .refine((w) => !w.enabled || w.domains.length > 0, {
      message:
        'whitelisting is enabled but no domains are listed: add domains or set whitelist.enabled=false',
    }),
  signature: section({
    secrets: listOf(z.string().min(16, 'each secret needs at least 16 characters')).refine(
      (s) => s.length > 0,
      {
        message: 'expected at least one secret (newest first)',
      },
    ),
  }),
  remoteCompletion: section({
    syncInterval: duration.refine((ms) => ms >= 1000, 'expected at least 1s').default(30_000),
    startupDelay: duration.default(30_000),
    /** How long each request stays answerable when the task has no timeout. */
    tokenLifetime: duration.refine((ms) => ms >= 60_000, 'expected at least 1m').default(30 * 86_400_000),
  }).prefault({}),
  metrics: section({
    /** Serve the SDK's Prometheus metrics on this host:port, e.g. 127.0.0.1:9464; off when unset. */
    prometheus: z
      .string()
      .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9464')
      .refine((a) => Number(a.split(':')[1]) <= 65535, 'expected a port 1-65535')
      .optional(),
  }).prefault({}),
  /** Named groups of assignees: `--to team:<name>` assigns every member. */
  teams,
  log: section({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    mailDebug: bool.default(false),
    file: z.string().optional(),
  }).prefault({}),
});

export type Config = z.infer<typeof configSchema>;
