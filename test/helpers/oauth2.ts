import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { mailAuth } from '../../config/mail-auth';
import type { Config } from '../../config/schema';
import { oauthIssuer } from '../../dev/stack/oauth-server';
import type { StackState } from '../../dev/stack/state';
import { scratchDir, stackDir, unique } from './env';

/**
 * The test stack's OAuth2 authorization server (dev/stack/oauth-server-main.ts): every test
 * registers clients of its own there, so no test changes another's.
 */
const state = JSON.parse(readFileSync(path.join(stackDir, 'stack.json'), 'utf8')) as StackState;
if (!state.oauth2) throw new Error('the test stack runs without OAuth2: start it through test/run-all.ts');

export const issuer = oauthIssuer(state.ports);
export const tokenUrl = `${issuer}/token`;

async function admin(method: string, route: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${issuer}/test-admin/${route}`, {
    method,
    headers: { authorization: `Bearer ${state.oauthSecrets.admin}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`OAuth2 test admin ${method} ${route}: ${JSON.stringify(answer)}`);
  return answer;
}

export interface ClientOptions {
  /** The mailbox a client credentials token opens (its `mailbox` claim); none for a delegated app. */
  mailbox?: string;
  /** Real lifetime of its access tokens, seconds (default 600). */
  tokenTtl?: number;
  /** The `expires_in` the server states instead (a server that revokes tokens early). */
  reportedTtl?: number;
  /** The refresh token grant answers with a new refresh token and refuses the used one from then on. */
  rotateRefreshToken?: boolean;
}

export interface TestClient {
  clientId: string;
  clientSecret: string;
  /** Replaces the client's secret on the server, as an admin revoking the secret would. */
  setSecret(secret: string): Promise<void>;
  remove(): Promise<void>;
}

const newSecret = () => randomBytes(24).toString('base64url');

/** Registers an app: client credentials for `mailbox`, or the refresh token grant without one. */
export async function registerClient(options: ClientOptions = {}): Promise<TestClient> {
  const clientId = unique('app');
  const metadata = {
    grant_types: options.mailbox ? ['client_credentials'] : ['authorization_code', 'refresh_token'],
    response_types: options.mailbox ? [] : ['code'],
    redirect_uris: options.mailbox ? [] : ['http://127.0.0.1/callback'],
    token_endpoint_auth_method: 'client_secret_post',
    mailbox: options.mailbox,
    token_ttl: options.tokenTtl,
    reported_ttl: options.reportedTtl,
    rotate_refresh_token: options.rotateRefreshToken,
  };
  const put = (secret: string) => admin('PUT', `clients/${clientId}`, { ...metadata, client_secret: secret });
  const client: TestClient = {
    clientId,
    clientSecret: newSecret(),
    async setSecret(secret) {
      await put(secret);
    },
    async remove() {
      await admin('DELETE', `clients/${clientId}`);
    },
  };
  await put(client.clientSecret);
  return client;
}

/** The refresh token a person's consent gives `client` for their mailbox `account`. */
export async function issueRefreshToken(client: TestClient, account: string): Promise<string> {
  const { refresh_token } = await admin('POST', 'refresh-tokens', { client_id: client.clientId, account });
  return refresh_token as string;
}

/** `imap.auth` as an admin writes it for this client (the file form). */
export function oauth2Settings(client: TestClient, refreshToken?: string): Record<string, unknown> {
  return {
    type: 'oauth2',
    tokenUrl,
    clientId: client.clientId,
    ...(refreshToken ? { refreshToken } : {}),
    clientSecret: client.clientSecret,
    scope: 'mail',
  };
}

/**
 * The config with the completion mailbox on OAuth2 for IMAP and SMTP (`smtp.auth: imap`), its
 * passwords removed so nothing can log in with them.
 */
export function withOAuth2(config: Config, settings: Record<string, unknown>): Config {
  const auth = mailAuth.parse(settings);
  config.imap.auth = auth;
  config.imap.password = undefined;
  config.smtp.auth = auth.type === 'oauth2' ? { ...auth, setting: 'imap.auth' } : auth;
  config.smtp.user = config.imap.user;
  config.smtp.password = undefined;
  return config;
}

/** A config file for a process of its own, in the form an admin writes (`smtp.auth: imap`). */
export function writeOAuth2ConfigFile(config: Config, settings: Record<string, unknown>): string {
  const { imap, smtp, ...rest } = config;
  const file = path.join(scratchDir, `${unique('config')}.yaml`);
  const smtpRest: Partial<Config['smtp']> = { ...smtp };
  delete smtpRest.user;
  delete smtpRest.password;
  writeFileSync(
    file,
    stringify({
      ...rest,
      imap: { ...imap, password: undefined, auth: settings },
      smtp: { ...smtpRest, auth: 'imap' },
    }),
    { mode: 0o600 },
  );
  return file;
}
