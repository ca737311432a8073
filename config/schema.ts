import addressparser from 'nodemailer/lib/addressparser';
import { z } from 'zod';
import { parseAssignees } from '../domain/assignees';
import { parseDuration } from '../domain/duration';
import { SENDER_AUTHENTICATION_MODES } from '../domain/sender-authentication';
import { mailAuth, type MailAuth } from './mail-auth';
import { secretWeakness } from './secret-strength';
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

/** A duration (see domain/duration.ts): a string such as `30s`, or a number of milliseconds. */
const duration = (min: number | string) =>
  z.unknown().transform((value, ctx) => {
    try {
      return parseDuration(value, { min });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
    'expected a domain such as example.com or *.example.com',
  );

/** A list; a single string is a list of one (only environment variables are split on commas, in load.ts). */
const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(item));

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;
/** Passwords may travel without TLS only to this machine, or where the admin says so. */
const clearPasswordRefused = (host: string, allowInsecureAuth: boolean) =>
  !allowInsecureAuth && !LOOPBACK.test(host.trim());

/** host:port of a DNS server, e.g. 127.0.0.1:53 or [2001:db8::1]:53. */
const dnsServer = z
  .string()
  .trim()
  .regex(
    /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$/,
    'expected an IP address and port, e.g. 127.0.0.1:53 or [::1]:53',
  )
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'expected a port 1-65535');

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
    /**
     * Workflows the worker keeps in memory (the SDK's sticky cache); others are replayed from
     * their history when they next have work. Bounds the worker's memory however many tasks wait.
     */
    maxCachedWorkflows: z
      .preprocess(numeric, z.number().int().min(2, 'expected a whole number of at least 2'))
      .default(200),
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
    requireTLS: bool.default(true),
    /** Allow the password over a connection without TLS to a host other than loopback. */
    allowInsecureAuth: bool.default(false),
    user: z.string().optional(),
    password: z.string().optional(),
    /** type: password (user, password), type: oauth2, or `imap`: the IMAP login and its tokens. */
    auth: z.union([z.literal('imap'), mailAuth]).default({ type: 'password' }),
    /** From header of request emails, with or without a display name; defaults to imap.fromAddress. */
    from: mailbox.optional(),
    /** PEM file with extra trusted CA certificates (self-signed test servers). */
    ca: z.string().optional(),
  })
    .refine(
      (s) =>
        (!s.user && s.auth !== 'imap') ||
        s.secure ||
        s.requireTLS ||
        !clearPasswordRefused(s.host, s.allowInsecureAuth),
      {
        message:
          'requireTLS is false, so the SMTP password could travel without TLS: set smtp.requireTLS: true (or smtp.secure: true for port 465), or smtp.allowInsecureAuth: true if you accept that',
        path: ['requireTLS'],
      },
    )
    .refine((s) => s.auth === 'imap' || s.auth.type === 'password' || s.user, {
      message: 'smtp.auth is oauth2: set smtp.user to the mailbox the token is for',
      path: ['user'],
    }),
  imap: section({
    host,
    port: port.default(993),
    tls: bool.default(true),
    /** The completion mailbox: replies go here; mail from it is never a decision. */
    fromAddress: email,
    /** The login, for a password and for OAuth2 alike. */
    user: z.string().min(1, 'expected the IMAP login'),
    password: z.string().min(1, 'expected the IMAP password').optional(),
    auth: mailAuth,
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
    /** Time to parse and classify one message; slower mail is rejected as too-complex. */
    messageBudget: duration('1s')
      .refine((ms) => ms <= 30_000, 'expected at most 30s (a batch must fit in its 2-minute activity)')
      .default(10_000),
    /** Watch INBOX with IMAP IDLE and trigger a sync when mail lands. */
    idle: bool.default(true),
    /** Allow the password over a connection without TLS to a host other than loopback. */
    allowInsecureAuth: bool.default(false),
  })
    .refine((i) => i.tls || !clearPasswordRefused(i.host, i.allowInsecureAuth), {
      message:
        'tls is false, so the IMAP password would travel without TLS: set imap.tls: true (port 993), or imap.allowInsecureAuth: true if you accept that',
      path: ['tls'],
    })
    .refine((i) => i.auth.type === 'oauth2' || i.password !== undefined, {
      message:
        'missing: set it in the config file or REMOTE_COMPLETION_IMAP_PASSWORD, or use imap.auth.type: oauth2',
      path: ['password'],
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
    secrets: listOf(
      z.string().superRefine((secret, ctx) => {
        const weakness = secretWeakness(secret);
        if (weakness) ctx.addIssue({ code: 'custom', message: `too weak: ${weakness}` });
      }),
    ).refine((s) => s.length > 0, {
      message: 'expected at least one secret (newest first)',
    }),
  }),
  senderAuthentication: section({
    /** verify: DKIM/DMARC in process; authentication-results: trust the inbound server's header; off. */
    mode: z
      .enum(SENDER_AUTHENTICATION_MODES, {
        error: (issue) =>
          `expected verify, authentication-results or off, got ${JSON.stringify(issue.input)}`,
      })
      .default('verify'),
    /** DNS servers for verify (host:port); the system resolver when empty. */
    dnsServers: listOf(dnsServer).default([]),
    /** The authserv-id of the trusted inbound server's Authentication-Results header. */
    authservId: z.string().trim().min(1, 'expected the authserv-id, e.g. mx.example.com').optional(),
    /** A reply whose check met a DNS temporary error stays in INBOX and is tried again for this long. */
    retryTemporaryErrorsFor: duration('1m').default(6 * 3_600_000),
  })
    .prefault({})
    .refine((a) => a.mode !== 'authentication-results' || a.authservId !== undefined, {
      message:
        'mode authentication-results needs senderAuthentication.authservId: the authserv-id your inbound server writes first in its Authentication-Results header',
      path: ['authservId'],
    }),
  remoteCompletion: section({
    syncInterval: duration('1s').default(30_000),
    /** The safety-net sync's interval while IMAP IDLE is connected; syncInterval applies otherwise. */
    idleSyncInterval: duration('1s').default(5 * 60_000),
    startupDelay: duration(0).default(30_000),
    /** How long each request stays answerable when the task has no timeout. */
    tokenLifetime: duration('1m').default(30 * 86_400_000),
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
})
  .refine((c) => c.smtp.auth !== 'imap' || !c.smtp.user || c.smtp.user === c.imap.user, {
    message: 'smtp.auth is imap, the IMAP login: leave smtp.user out or set it to imap.user',
    path: ['smtp', 'user'],
  })
  .transform(({ smtp, ...rest }) => ({ ...rest, smtp: withSharedLogin(smtp, rest.imap) }));

/** `smtp.auth: imap` sends with the IMAP login: its user, its password or its OAuth2 definition (and tokens). */
function withSharedLogin<S extends { auth: 'imap' | MailAuth; user?: string; password?: string }>(
  smtp: S,
  imap: { user: string; password?: string; auth: MailAuth },
): Omit<S, 'auth'> & { auth: MailAuth } {
  if (smtp.auth !== 'imap')
    return {
      ...smtp,
      auth: smtp.auth.type === 'oauth2' ? { ...smtp.auth, setting: 'smtp.auth' } : smtp.auth,
    };
  return {
    ...smtp,
    user: imap.user,
    password: imap.password,
    auth: imap.auth.type === 'oauth2' ? { ...imap.auth, setting: 'imap.auth' } : imap.auth,
  };
}

export type Config = z.infer<typeof configSchema>;
