import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { OAuth2Auth } from '../config/mail-auth';
import { printableText } from '../domain/printable';

/**
 * Why no token came: `unreachable` (network, DNS, TLS, timeout, a 5xx), `invalid_client` (client id
 * or secret wrong, expired or revoked), `invalid_grant` (refresh token expired or revoked, or
 * consent withdrawn), `refused` (any other OAuth2 error: scope, permissions).
 */
export type OAuth2ErrorKind = 'unreachable' | 'invalid_client' | 'invalid_grant' | 'refused';

/** A failed token request, explained for the person who must fix it; never holds a secret. */
export class OAuth2TokenError extends Error {
  override name = 'OAuth2TokenError';
  constructor(
    message: string,
    readonly kind: OAuth2ErrorKind,
    /** The fix, naming the setting. */
    readonly fix: string,
  ) {
    super(message);
  }
}

interface CachedToken {
  value: string;
  /** Epoch ms after which the token is not handed out any more (a margin before its expiry). */
  useUntil: number;
}

const REQUEST_TIMEOUT_MS = 10_000;
/** Refresh this long before expiry at most (a quarter of the lifetime for short-lived tokens). */
const MAX_EXPIRY_MARGIN_MS = 5 * 60_000;
/** A token response without expires_in is used this long. */
const DEFAULT_LIFETIME_MS = 10 * 60_000;

/**
 * Access tokens for one OAuth2 definition: fetched on demand, cached until shortly before they
 * expire, fetched anew after a login refused one. A refresh token the server rotates replaces the
 * configured one for the rest of the process. Nothing here logs: tokens and secrets stay inside.
 */
export class OAuth2TokenSource {
  private cached: CachedToken | undefined;
  private pending: Promise<CachedToken> | undefined;
  private refreshToken: string | undefined;
  /** Called when the server first rotates the refresh token (never with the token itself in a log). */
  onRotation: (() => void) | undefined;

  constructor(
    private readonly auth: OAuth2Auth,
    /** The setting the definition came from, e.g. `imap.auth`, for messages. */
    readonly setting: string,
    private readonly now: () => number = Date.now,
  ) {
    this.refreshToken = auth.refreshToken;
  }

  /** A token valid for a while yet. */
  async token(): Promise<string> {
    if (this.cached && this.now() < this.cached.useUntil) return this.cached.value;
    return (await this.fetchOnce()).value;
  }

  /**
   * After a server refused `rejected`: drops it and fetches another, unless a newer one came
   * meanwhile (several connections failing at once fetch one new token, not one each).
   */
  async renew(rejected?: string): Promise<string> {
    if (this.cached && rejected !== undefined && this.cached.value !== rejected) return this.cached.value;
    this.cached = undefined;
    return (await this.fetchOnce()).value;
  }

  /** Whether the server rotated the refresh token in this process. */
  get rotated(): boolean {
    return this.refreshToken !== this.auth.refreshToken;
  }

  private fetchOnce(): Promise<CachedToken> {
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchToken(): Promise<CachedToken> {
    const { tokenUrl, clientId, clientSecret, scope, grant } = this.auth;
    const body = new URLSearchParams({ grant_type: grant, client_id: clientId });
    if (clientSecret) body.set('client_secret', clientSecret);
    if (grant === 'refresh_token' && this.refreshToken) body.set('refresh_token', this.refreshToken);
    if (scope) body.set('scope', scope);
    const requested = this.now();
    let response: Response;
    try {
      response = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (err) {
      throw this.unreachable(networkCause(err));
    }
    const payload = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (!response.ok || typeof payload?.access_token !== 'string') {
      throw this.refusal(response.status, payload);
    }
    const next = payload.refresh_token;
    if (grant === 'refresh_token' && typeof next === 'string' && next !== this.refreshToken) {
      const first = !this.rotated;
      this.refreshToken = next;
      if (first) this.onRotation?.();
    }
    const expiresIn = Number(payload.expires_in);
    const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : DEFAULT_LIFETIME_MS;
    const margin = Math.min(MAX_EXPIRY_MARGIN_MS, lifetime / 4);
    this.cached = { value: payload.access_token, useUntil: requested + lifetime - margin };
    return this.cached;
  }

  private unreachable(cause: string): OAuth2TokenError {
    return new OAuth2TokenError(
      `OAuth2 token endpoint ${this.auth.tokenUrl} unreachable (${cause})`,
      'unreachable',
      `check ${this.setting}.tokenUrl (or provider/tenant) and that this host reaches it (DNS, firewall, proxy)`,
    );
  }

  private refusal(status: number, payload: Record<string, unknown> | undefined): OAuth2TokenError {
    const code = typeof payload?.error === 'string' ? printableText(payload.error).slice(0, 60) : undefined;
    const described =
      typeof payload?.error_description === 'string'
        ? `: ${printableText(payload.error_description).slice(0, 200)}`
        : '';
    const what = `OAuth2 token request for client ${this.auth.clientId} at ${this.auth.tokenUrl}`;
    if (!code) {
      return status >= 500 || status === 429 || status < 400
        ? this.unreachable(`HTTP ${status}`)
        : new OAuth2TokenError(
            `${what} failed: HTTP ${status} without an OAuth2 error`,
            'refused',
            `check ${this.setting}.tokenUrl: it must be the provider's token endpoint`,
          );
    }
    if (code === 'invalid_client') {
      return new OAuth2TokenError(
        `${what} refused: ${code} (the client id or secret is wrong, expired or revoked)${described}`,
        'invalid_client',
        `set ${this.setting}.clientId and a current ${this.setting}.clientSecret (create a new secret where the app is registered)`,
      );
    }
    if (code === 'invalid_grant') {
      return new OAuth2TokenError(
        this.auth.grant === 'refresh_token'
          ? `${what} refused: invalid_grant (the refresh token expired, was revoked or was replaced)${described}`
          : `${what} refused: invalid_grant${described}`,
        'invalid_grant',
        this.auth.grant === 'refresh_token'
          ? `get a new refresh token (consent again) and set ${this.setting}.refreshToken`
          : `check the grant the app may use where it is registered`,
      );
    }
    return new OAuth2TokenError(
      `${what} refused: ${code}${described}`,
      'refused',
      code === 'invalid_scope'
        ? `check ${this.setting}.scope and the API permissions granted to the app`
        : `check ${this.setting} against the app's registration`,
    );
  }
}

function networkCause(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
  if (e.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** Logs, once per source, that the server rotated the refresh token (the token itself never). */
export function warnOnRotation(source: OAuth2TokenSource, log: Logger): void {
  source.onRotation ??= () =>
    log.warn(
      { setting: `${source.setting}.refreshToken` },
      `the OAuth2 server replaced the refresh token of ${source.setting}: this process uses the new one; after a restart it starts again from ${source.setting}.refreshToken (admin guide: "Refresh token rotation")`,
    );
}

const sources = new Map<string, OAuth2TokenSource>();

/**
 * The process's token source for a definition: IMAP, SMTP, the IDLE watcher and every activity
 * share one token (and one rotated refresh token) per definition.
 */
export function oauth2TokenSource(auth: OAuth2Auth, key: string): OAuth2TokenSource {
  const id = createHash('sha256')
    .update(JSON.stringify([auth.tokenUrl, auth.clientId, auth.clientSecret, auth.refreshToken, auth.scope]))
    .digest('hex');
  let source = sources.get(id);
  if (!source) {
    source = new OAuth2TokenSource(auth, key);
    sources.set(id, source);
  }
  return source;
}
