import { Resolver } from 'node:dns/promises';
import { dkimVerify, dmarc } from 'mailauth';
import {
  headerFields,
  singleFromMailbox,
  trustedAuthenticationResults,
  verdictFromAuthenticationResults,
  verdictFromMailauth,
  type DkimSignatureCheck,
  type MailauthReport,
  type SenderAuthenticationMode,
  type SenderVerdict,
  withBoundedSignatures,
  withHeaderEnd,
} from '../domain/sender-authentication';

/** Plain data, so that the check can run in a worker thread. */
export interface SenderAuthenticationSettings {
  mode: SenderAuthenticationMode;
  /** host:port; the system resolver when empty. */
  dnsServers: string[];
  /** Required for mode authentication-results. */
  authservId?: string;
}

/** One message's whole check: DNS that has not answered by then is a temporary error. */
const CHECK_BUDGET_MS = 5_000;
/** Per DNS query; the resolver tries each server twice. */
const DNS_TIMEOUT_MS = 1_500;

/**
 * Is the `From` of this raw message its real sender? Applies the one-From rule, then the
 * configured mode. Never throws: a failure is a verdict.
 *
 * `verify` checks DKIM and DMARC, not SPF: SPF needs the IP of the client that handed the
 * message to the receiving organisation, and that is written only in a Received header, which
 * cannot be told from the ones an attacker writes below it without knowing every relay of the
 * receiving side. DKIM signatures survive relaying and carry DMARC on their own.
 */
export async function authenticateSender(
  raw: Buffer,
  settings: SenderAuthenticationSettings,
): Promise<SenderVerdict> {
  const started = performance.now();
  const fields = headerFields(raw);
  const from = singleFromMailbox(fields);
  const { mode } = settings;
  if ('problem' in from)
    return { mode, fromProblem: from.problem, status: 'fail', summary: `From refused: ${from.problem}` };
  const verdict = (result: Pick<SenderVerdict, 'status' | 'summary'>): SenderVerdict => ({
    mode,
    from: from.address,
    ...result,
    checkMs: Math.round(performance.now() - started),
  });
  switch (mode) {
    case 'off':
      return verdict({ status: 'off', summary: 'sender authentication is off' });
    case 'authentication-results': {
      const authservId = settings.authservId ?? '';
      return verdict(
        verdictFromAuthenticationResults(
          trustedAuthenticationResults(fields, authservId),
          authservId,
          from.address,
        ),
      );
    }
    case 'verify':
      try {
        return verdict(
          verdictFromMailauth(await withBudget(mailauthReport(raw, from.address, settings)), from.address),
        );
      } catch (err) {
        return verdict({ status: 'temperror', summary: `DKIM/DMARC check: ${(err as Error).message}` });
      }
  }
}

async function mailauthReport(
  message: Buffer,
  from: string,
  settings: SenderAuthenticationSettings,
): Promise<MailauthReport> {
  // mailauth verifies every signature it is given and has no option to limit them.
  const { raw, notChecked } = withBoundedSignatures(withHeaderEnd(message), from);
  const dns = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: 2 });
  if (settings.dnsServers.length > 0) dns.setServers(settings.dnsServers);
  const resolver = (name: string, rrtype: string) => dns.resolve(name, rrtype) as Promise<string[][]>;
  const dkim = await dkimVerify(raw, { resolver, minBitLength: 1024 });
  const headerFrom = (dkim as { headerFrom?: string[] }).headerFrom ?? [];
  const results = dkim.results ?? [];
  const signatures: DkimSignatureCheck[] = results.map((r) => {
    const status = r.status as {
      result?: string;
      comment?: unknown;
      aligned?: unknown;
      underSized?: unknown;
    };
    return {
      signingDomain: String(r.signingDomain ?? ''),
      result: String(status.result ?? 'none'),
      aligned: Boolean(status.aligned),
      partialBody: Number(status.underSized ?? 0) > 0,
      ...(typeof status.comment === 'string' ? { comment: status.comment } : {}),
    };
  });
  if (headerFrom.length !== 1) return { headerFrom, notChecked, dkim: signatures, dmarc: false };
  const passed = results.filter((r) => (r.status as { result?: string }).result === 'pass');
  const report = await dmarc({
    headerFrom,
    spfDomains: [],
    dkimDomains: passed.map((r) => {
      const status = r.status as { aligned?: unknown; underSized?: unknown };
      return {
        id: r.id,
        domain: r.signingDomain,
        aligned: Boolean(status.aligned),
        underSized: Boolean(status.underSized),
      };
    }),
    resolver,
  });
  if (!report) return { headerFrom, notChecked, dkim: signatures, dmarc: false };
  const details = report as unknown as {
    status: { result: string };
    policy?: string;
    error?: string;
    alignment?: { dkim?: { underSized?: unknown } };
  };
  return {
    headerFrom,
    notChecked,
    dkim: signatures,
    dmarc: {
      result: details.status.result,
      ...(details.policy ? { policy: details.policy } : {}),
      ...(details.error ? { error: details.error } : {}),
      alignedPartialBody: Number(details.alignment?.dkim?.underSized ?? 0) > 0,
    },
  };
}

async function withBudget<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no DNS answer within ${CHECK_BUDGET_MS / 1000} s`)),
      CHECK_BUDGET_MS,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
