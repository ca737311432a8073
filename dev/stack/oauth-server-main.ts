/**
 * The stack's OAuth2 authorization server (oidc-provider), run as its own process by
 * dev/stack/oauth-server.ts: `node --require tsx/cjs oauth-server-main.ts <settings.json>`.
 *
 * - Tokens by the client credentials grant (an app granted one mailbox, as Microsoft 365 app-only
 *   access) and by the refresh token grant (a person's consent, as Gmail or delegated Microsoft).
 * - Opaque access tokens that Dovecot checks at the introspection endpoint (RFC 7662); the
 *   `mailbox` claim names the mailbox a token opens. Only the `dovecot` client may introspect, and
 *   the tokens of a deleted client read as inactive.
 * - Test administration under /test-admin (Bearer <adminToken>): create, change or delete a client;
 *   issue a refresh token for a person (what consenting in a browser would give). Per-client test
 *   knobs: `token_ttl` (seconds), `rotate_refresh_token`, `reported_ttl` (an `expires_in` longer
 *   than the token's real life, as a server that revokes tokens early).
 * - Every secret and token it issues is appended to `ledger`, for the test run's secrets scan.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type * as OidcProvider from 'oidc-provider' with { 'resolution-mode': 'import' };

export interface OAuthServerSettings {
  port: number;
  issuer: string;
  /** Introspection credentials Dovecot uses. */
  dovecotSecret: string;
  adminToken: string;
  /** File every issued secret and token is appended to (not a log: the secrets scan reads it). */
  ledger: string;
}

type Metadata = Record<string, unknown> & { client_id: string };

async function main(): Promise<void> {
  const settingsFile = process.argv[2];
  if (!settingsFile) throw new Error('usage: oauth-server-main.ts <settings.json>');
  const settings = JSON.parse(readFileSync(settingsFile, 'utf8')) as OAuthServerSettings;
  const { default: Provider } = await import('oidc-provider');
  const remember = (value: unknown) => {
    if (typeof value === 'string' && value) appendFileSync(settings.ledger, `${value}\n`, { mode: 0o600 });
  };

  const clientProperty = async (clientId: string | undefined, name: string): Promise<unknown> => {
    const client = clientId ? await provider.Client.find(clientId) : undefined;
    return client ? (client as unknown as Record<string, unknown>)[name] : undefined;
  };
  const tokenTtl = (_ctx: unknown, _token: unknown, client: OidcProvider.Client) => {
    // Extra metadata keeps its own (snake_case) name on the client.
    const ttl = (client as unknown as { token_ttl?: unknown }).token_ttl;
    return typeof ttl === 'number' && ttl > 0 ? ttl : 600;
  };

  const provider: OidcProvider.default = new Provider(settings.issuer, {
    clients: [
      {
        client_id: 'dovecot',
        client_secret: settings.dovecotSecret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
      },
    ],
    extraClientMetadata: { properties: ['mailbox', 'token_ttl', 'rotate_refresh_token', 'reported_ttl'] },
    async extraTokenClaims(_ctx, token) {
      if (token.kind === 'ClientCredentials') {
        const mailbox = await clientProperty(token.clientId, 'mailbox');
        return typeof mailbox === 'string' ? { mailbox } : undefined;
      }
      const accountId = (token as { accountId?: string }).accountId;
      return accountId ? { mailbox: accountId } : undefined;
    },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    scopes: ['openid', 'offline_access', 'mail'],
    clientDefaults: { grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    cookies: { keys: [settings.adminToken] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) =>
          client.clientId === 'dovecot' && !!token.clientId && !!(await provider.Client.find(token.clientId)),
      },
    },
    rotateRefreshToken: async (ctx) =>
      (await clientProperty(ctx.oidc.client?.clientId, 'rotate_refresh_token')) === true,
    ttl: {
      ClientCredentials: tokenTtl,
      AccessToken: tokenTtl,
      IdToken: 600,
      RefreshToken: 14 * 86_400,
      Grant: 14 * 86_400,
    },
  });
  provider.on('access_token.saved', (token) => remember(token.jti));
  provider.on('client_credentials.saved', (token) => remember(token.jti));
  provider.on('refresh_token.saved', (token) => remember(token.jti));
  provider.on('server_error', (_ctx, err) => log(`server error: ${err.message}`));

  // A server that says its tokens live longer than they do (or revokes them early).
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token' || ctx.status !== 200) return;
    const { oidc } = ctx as unknown as { oidc?: { client?: { clientId: string } } };
    const reported = await clientProperty(oidc?.client?.clientId, 'reported_ttl');
    const body = ctx.body as { expires_in?: number } | undefined;
    if (typeof reported === 'number' && body?.expires_in) body.expires_in = reported;
  });

  const handler = provider.callback();
  const admin = adminRoutes(provider, settings, remember);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', settings.issuer);
    log(`${req.method} ${url.pathname}`);
    if (url.pathname.startsWith('/test-admin/')) {
      admin(req, res, url).catch((err: Error) => reply(res, 500, { error: err.message }));
      return;
    }
    void handler(req, res);
  });
  server.listen(settings.port, '127.0.0.1', () => log(`listening on ${settings.issuer}`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

function adminRoutes(
  provider: OidcProvider.default,
  settings: OAuthServerSettings,
  remember: (value: unknown) => void,
) {
  return async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> => {
    if (req.headers.authorization !== `Bearer ${settings.adminToken}`)
      return reply(res, 401, { error: 'unauthorized' });
    const [, , resource, id] = url.pathname.split('/');
    // The Client model's storage (public in oidc-provider 9, not in its types).
    const adapter = (provider.Client as unknown as { adapter: unknown }).adapter as {
      upsert(id: string, payload: Metadata, expiresIn?: number): Promise<void>;
      destroy(id: string): Promise<void>;
    };
    if (resource === 'clients' && id && req.method === 'PUT') {
      const metadata: Metadata = { ...((await readJson(req)) as Record<string, unknown>), client_id: id };
      remember(metadata.client_secret);
      await adapter.upsert(id, metadata);
      if (!(await provider.Client.find(id))) return reply(res, 400, { error: 'invalid client metadata' });
      return reply(res, 200, { client_id: id });
    }
    if (resource === 'clients' && id && req.method === 'DELETE') {
      await adapter.destroy(id);
      return reply(res, 200, { deleted: id });
    }
    if (resource === 'refresh-tokens' && req.method === 'POST') {
      // What a person's consent in a browser gives the app: a grant and a refresh token.
      const { client_id: clientId, account, scope } = (await readJson(req)) as Record<string, string>;
      const client = await provider.Client.find(clientId ?? '');
      if (!client || !account) return reply(res, 400, { error: 'client_id and account needed' });
      const grant = new provider.Grant({ accountId: account, clientId: client.clientId });
      grant.addOIDCScope(scope ?? 'openid offline_access mail');
      const grantId = await grant.save();
      const token = new provider.RefreshToken({
        client,
        accountId: account,
        grantId,
        scope: scope ?? 'openid offline_access mail',
        gty: 'authorization_code',
      });
      const value = await token.save();
      remember(value);
      return reply(res, 200, { refresh_token: value });
    }
    return reply(res, 404, { error: 'not found' });
  };
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Request lines only: no bodies, headers or tokens. */
function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
