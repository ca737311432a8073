import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { spawnDetached, writeFileAtomic } from './processes';
import type { Service } from './service';
import type { StackState } from './state';
import type { OAuthServerSettings } from './oauth-server-main';

const home = (dir: string) => path.join(dir, 'oauth');
const settingsFile = (dir: string) => path.join(home(dir), 'settings.json');
const logFile = (dir: string) => path.join(dir, 'logs', 'oauth.log');

/** Every client secret and token the server issued, for the test run's secrets scan (not a log). */
export const oauthLedger = (dir: string) => path.join(home(dir), 'issued-secrets');
export const oauthIssuer = (ports: { oauth: number }) => `http://127.0.0.1:${ports.oauth}`;
/** Where Dovecot checks tokens (RFC 7662), with its client's credentials in the URL. */
export const introspectionUrl = (state: StackState) =>
  `http://dovecot:${state.oauthSecrets.dovecot}@127.0.0.1:${state.ports.oauth}/token/introspection`;

/**
 * The stack's OAuth2 authorization server: oidc-provider in a Node process of its own
 * (oauth-server-main.ts). Its clients and tokens live in memory: a restart forgets them.
 */
export const oauthServer: Service = {
  name: 'oauth',
  ports: ({ ports }) => ({ 'OAuth2 server': ports.oauth }),
  where: ({ ports }) => oauthIssuer(ports),
  marker: settingsFile,
  logFile,
  readyTimeoutMs: 30_000,

  async start({ dir, state, log }) {
    await mkdir(home(dir), { recursive: true, mode: 0o700 });
    const settings: OAuthServerSettings = {
      port: state.ports.oauth,
      issuer: oauthIssuer(state.ports),
      dovecotSecret: state.oauthSecrets.dovecot,
      adminToken: state.oauthSecrets.admin,
      ledger: oauthLedger(dir),
    };
    await writeFileAtomic(settingsFile(dir), JSON.stringify(settings, null, 2), 0o600);
    const main = require.resolve('./oauth-server-main');
    log.debug({ main }, 'starting the OAuth2 server');
    return spawnDetached(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), main, settingsFile(dir)],
      logFile(dir),
    );
  },

  async probe({ state }) {
    const response = await fetch(`${oauthIssuer(state.ports)}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(2_000),
    });
    if (!response.ok) throw new Error(`OAuth2 server answered HTTP ${response.status}`);
  },
};
