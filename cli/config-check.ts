import { accessSync, constants } from 'node:fs';
import pino, { type Logger } from 'pino';
import { connectTemporal } from '../client/connect';
import type { Config } from '../config/schema';
import { closeImap, ImapError, openImap } from '../mail/imap';
import { createSmtpTransport } from '../mail/smtp';
import {
  createSearchAttributeCommand,
  ensureSearchAttributes,
  missingSearchAttributes,
} from '../worker/search-attributes';

/** One line of `remote-completion check`: a problem when `ok` is false; a warning never fails. */
export interface CheckResult {
  name: string;
  ok: boolean;
  warning?: boolean;
  detail: string;
  fix?: string;
}

export interface CheckOptions {
  /** Register missing search attributes instead of only reporting them. */
  fix?: boolean;
  log?: Logger;
}

const CHECK_TIMEOUT_MS = 10_000;

const ok = (name: string, detail: string): CheckResult => ({ name, ok: true, detail });
const warning = (name: string, detail: string, fix?: string): CheckResult => ({
  name,
  ok: true,
  warning: true,
  detail,
  fix,
});
const problem = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  ok: false,
  detail,
  fix,
});
const firstLine = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

/** Checks the configuration and the three services it names, independently and in parallel. */
export async function runChecks(
  config: Config,
  { fix = false, log = pino({ level: 'silent' }) }: CheckOptions = {},
): Promise<CheckResult[]> {
  const parts = await Promise.all([
    guarded('temporal', 'check temporal.address and that the Temporal server runs', () =>
      checkTemporal(config.temporal, fix, log),
    ),
    guarded(
      'smtp',
      'check smtp.host/smtp.port (and smtp.secure: true only for implicit TLS, usually 465)',
      () => checkSmtp(config, log),
    ),
    guarded('imap', 'check imap.host/imap.port/imap.tls', () => checkImap(config, log)),
  ]);
  return [...configFacts(config), ...parts.flat()];
}

/** The SMTP and IMAP checks alone: what the worker confirms before it starts. */
export async function checkMailServers(config: Config, log: Logger): Promise<CheckResult[]> {
  const parts = await Promise.all([
    guarded('smtp', 'check smtp.host/smtp.port', () => checkSmtp(config, log)),
    guarded('imap', 'check imap.host/imap.port/imap.tls', () => checkImap(config, log)),
  ]);
  return parts.flat();
}

/** A check never throws and answers within CHECK_TIMEOUT_MS; a late one still cleans up after itself. */
async function guarded(
  name: string,
  fallbackFix: string,
  check: () => Promise<CheckResult[]>,
): Promise<CheckResult[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult[]>((resolve) => {
    timer = setTimeout(
      () => resolve([problem(name, `no answer within ${CHECK_TIMEOUT_MS / 1000} s`, fallbackFix)]),
      CHECK_TIMEOUT_MS,
    );
  });
  const work = check().catch((err: unknown) => [problem(name, firstLine(err), fallbackFix)]);
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

/** Where passwords travel without TLS (loopback, or allowed by allowInsecureAuth) and how replies are authenticated. */
function securityFacts({ smtp, imap, senderAuthentication: auth }: Config): CheckResult[] {
  const results: CheckResult[] = [];
  const clear = (section: 'smtp' | 'imap', host: string) =>
    LOOPBACK.test(host)
      ? ok(section, `the ${section.toUpperCase()} password may travel without TLS, to loopback ${host} only`)
      : warning(
          section,
          `${section}.allowInsecureAuth: the ${section.toUpperCase()} password travels without TLS to ${host}`,
          section === 'smtp' ? 'set smtp.requireTLS: true (or smtp.secure: true)' : 'set imap.tls: true',
        );
  if (smtp.user && !smtp.secure && !smtp.requireTLS) results.push(clear('smtp', smtp.host));
  if (!imap.tls) results.push(clear('imap', imap.host));
  if (auth.mode === 'off') {
    results.push(
      warning(
        'config',
        'sender authentication off: a reply counts as sent by whatever its From header says',
        'set senderAuthentication.mode: verify (DKIM/DMARC here) or authentication-results (your inbound server checks)',
      ),
    );
  } else {
    results.push(
      ok(
        'config',
        auth.mode === 'verify'
          ? `sender authentication: DKIM/DMARC checked here, DNS from ${auth.dnsServers.length > 0 ? auth.dnsServers.join(', ') : 'the system resolver'}`
          : `sender authentication: the topmost Authentication-Results header of ${auth.authservId ?? '?'} decides`,
      ),
    );
  }
  return results;
}

function configFacts(config: Config): CheckResult[] {
  const { whitelist, signature, imap, smtp } = config;
  const secrets = signature.secrets.length;
  return [
    ok(
      'config',
      `completion mailbox ${imap.fromAddress}, requests sent from ${smtp.from ?? imap.fromAddress}`,
    ),
    ok(
      'config',
      whitelist.enabled
        ? `whitelist on: senders and recipients of decisions must be in ${whitelist.domains.join(', ')}`
        : 'whitelist off: a valid signed reply is accepted from any domain',
    ),
    ok(
      'config',
      secrets === 1
        ? '1 signature secret'
        : `${secrets} signature secrets: signing with the first, accepting all`,
    ),
    ...securityFacts(config),
  ];
}

async function checkTemporal(
  temporal: Config['temporal'],
  fix: boolean,
  log: Logger,
): Promise<CheckResult[]> {
  const name = 'temporal';
  let connection;
  try {
    ({ connection } = await connectTemporal(temporal));
  } catch (err) {
    const message = firstLine(err);
    return [
      message.startsWith('temporal.namespace')
        ? problem(
            name,
            message,
            `create it (temporal operator namespace create --namespace ${temporal.namespace}) or fix temporal.namespace`,
          )
        : message.startsWith('temporal.address')
          ? problem(name, message, 'check temporal.address and that the Temporal server runs')
          : problem(name, message, `check ${message.split(':')[0]}`),
    ];
  }
  try {
    const results = [ok(name, `connected to ${temporal.address}, namespace ${temporal.namespace}`)];
    const missing = await missingSearchAttributes(connection, temporal.namespace);
    const commands = missing.map((a) => createSearchAttributeCommand(temporal.namespace, a)).join(' && ');
    if (missing.length === 0) {
      results.push(ok(name, 'search attributes registered'));
    } else if (fix) {
      try {
        await ensureSearchAttributes(connection, temporal.namespace, log);
        results.push(ok(name, `registered search attributes ${missing.join(', ')}`));
      } catch (err) {
        results.push(problem(name, firstLine(err), commands));
      }
    } else {
      results.push(
        problem(
          name,
          `search attributes ${missing.join(', ')} are not registered in namespace ${temporal.namespace}`,
          `${commands} (or run check --fix)`,
        ),
      );
    }
    return results;
  } finally {
    await connection.close();
  }
}

async function checkSmtp(config: Config, log: Logger): Promise<CheckResult[]> {
  const { smtp } = config;
  const where = `${smtp.host}:${smtp.port}`;
  const badCa = unreadableCa('smtp', smtp.ca);
  if (badCa) return [badCa];
  const transport = createSmtpTransport(smtp, log, { mailDebug: config.log.mailDebug, check: true });
  try {
    await transport.verify();
  } catch (err) {
    return [describeSmtpError(err, smtp)];
  } finally {
    transport.close();
  }
  const tls = smtp.secure
    ? 'implicit TLS'
    : smtp.requireTLS
      ? 'STARTTLS (required)'
      : 'STARTTLS when offered (smtp.requireTLS off)';
  const auth = smtp.user ? `AUTH as ${smtp.user} accepted` : 'no AUTH (smtp.user not set)';
  return [ok('smtp', `connected to ${where}, ${tls}, ${auth}`)];
}

function unreadableCa(section: 'smtp' | 'imap', file: string | undefined): CheckResult | undefined {
  if (!file) return undefined;
  try {
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (err) {
    return problem(
      section,
      `${section}.ca: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? firstLine(err)})`,
      `point ${section}.ca at a readable PEM file`,
    );
  }
}

const TLS_ERROR = /cert|ssl|tls|self[-_ ]signed|wrong version/i;

function describeSmtpError(err: unknown, smtp: Config['smtp']): CheckResult {
  const where = `${smtp.host}:${smtp.port}`;
  const e = err as { code?: string; originalCode?: string; reason?: string; response?: string };
  const cause = e.originalCode ?? e.code ?? 'error';
  const message = firstLine(err);
  if (e.code === 'ETLS' || TLS_ERROR.test(`${e.originalCode ?? ''} ${message}`)) {
    // OpenSSL errors carry a library-internal message; `reason` is the readable part.
    return problem(
      'smtp',
      `TLS with SMTP at ${where} failed: ${e.reason ?? message}`,
      'check smtp.secure/requireTLS/ca',
    );
  }
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH') {
    const response = e.response ? ` (${e.response.split('\n')[0]})` : '';
    return problem(
      'smtp',
      `AUTH as ${smtp.user ?? '(no user)'} at ${where} refused: wrong smtp.user or smtp.password${response}`,
      'set the right smtp.user and smtp.password',
    );
  }
  if (['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS'].includes(e.code ?? '')) {
    return problem('smtp', `cannot connect to SMTP at ${where}: ${cause}`, 'check smtp.host/smtp.port');
  }
  return problem('smtp', `SMTP at ${where}: ${message}`, 'check the smtp settings');
}

async function checkImap(config: Config, log: Logger): Promise<CheckResult[]> {
  const { imap } = config;
  const name = 'imap';
  const badCa = unreadableCa('imap', imap.ca);
  if (badCa) return [badCa];
  let client;
  try {
    client = await openImap(imap, { log, mailDebug: config.log.mailDebug });
  } catch (err) {
    const message = firstLine(err);
    if (err instanceof ImapError && err.kind === 'authentication') {
      return [problem(name, message, 'set the right imap.user and imap.password')];
    }
    return [
      problem(
        name,
        message,
        TLS_ERROR.test(message)
          ? 'check imap.tls and imap.ca'
          : 'check imap.host/imap.port/imap.tls and that the IMAP server runs',
      ),
    ];
  }
  try {
    const loggedIn = `logged in as ${imap.user} at ${imap.host}:${imap.port}${imap.tls ? ' (TLS)' : ''}`;
    let exists: number;
    try {
      ({ exists } = await client.mailboxOpen('INBOX', { readOnly: true }));
    } catch (err) {
      return [
        problem(
          name,
          `${loggedIn} but INBOX cannot be opened: ${firstLine(err)}`,
          'check the account behind imap.user',
        ),
      ];
    }
    const results = [ok(name, `${loggedIn}, INBOX selectable`)];
    if (exists > 0) {
      const removal = imap.auditFolder ? `moved to imap.auditFolder "${imap.auditFolder}"` : 'deleted';
      results.push(
        warning(
          name,
          `INBOX holds ${exists} message${exists === 1 ? '' : 's'}: every message in INBOX, unrecognised ones too, is ${removal} after processing`,
          'the completion mailbox must be dedicated: use an account nothing else reads or receives mail for',
        ),
      );
    }
    return results;
  } finally {
    await closeImap(client);
  }
}
