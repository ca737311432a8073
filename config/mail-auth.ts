import { z } from 'zod';

/** What `imap.auth` / `smtp.auth` accept under `type: oauth2` (and the environment may set). */
export const MAIL_AUTH_KEYS = [
  'type',
  'provider',
  'tenant',
  'tokenUrl',
  'clientId',
  'clientSecret',
  'refreshToken',
  'scope',
] as const;

export const OAUTH2_PROVIDERS = ['microsoft365', 'google'] as const;

/** Provider presets: the token endpoint and the scopes each grant needs (see docs/admin-guide.md). */
export const MICROSOFT_APP_SCOPE = 'https://outlook.office365.com/.default';
export const MICROSOFT_DELEGATED_SCOPE =
  'https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access';
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const GOOGLE_SCOPE = 'https://mail.google.com/';
export const microsoftTokenUrl = (tenant: string) =>
  `https://login.microsoftonline.com/${encodeURIComponent(tenant)}/oauth2/v2.0/token`;

const LOOPBACK_URL_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** A token endpoint: https, or http to this machine only (a test server). */
const tokenUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_URL_HOST.test(url.hostname));
    } catch {
      return false;
    }
  }, 'expected an https:// URL of the token endpoint (http:// only to localhost)');

const nonEmpty = (what: string) => z.string().trim().min(1, `expected ${what}`);

/** The settings a token request needs, resolved from the presets. */
export interface OAuth2Auth {
  type: 'oauth2';
  /** client_credentials (app-only, Microsoft 365) or refresh_token (delegated: Gmail, Microsoft). */
  grant: 'client_credentials' | 'refresh_token';
  tokenUrl: string;
  clientId: string;
  clientSecret?: string;
  refreshToken?: string;
  scope?: string;
  /** Where it is configured (`imap.auth`, or `smtp.auth` when SMTP has one of its own), for messages. */
  setting?: string;
}

const oauth2 = z
  .strictObject({
    type: z.literal('oauth2'),
    /** Fills tokenUrl and scope. */
    provider: z
      .enum(OAUTH2_PROVIDERS, {
        error: (issue) => `expected microsoft365 or google, got ${JSON.stringify(issue.input)}`,
      })
      .optional(),
    /** Microsoft 365: the directory (tenant) id or a verified domain. */
    tenant: nonEmpty('the tenant id, e.g. contoso.onmicrosoft.com').optional(),
    tokenUrl: tokenUrl.optional(),
    clientId: nonEmpty('the application (client) id'),
    clientSecret: nonEmpty('the client secret').optional(),
    refreshToken: nonEmpty('the refresh token').optional(),
    scope: nonEmpty('space-separated scopes').optional(),
  })
  .transform((a, ctx): OAuth2Auth => {
    const grant = a.refreshToken ? 'refresh_token' : 'client_credentials';
    if (!a.clientSecret && !a.refreshToken) {
      ctx.addIssue({
        code: 'custom',
        message:
          'set clientSecret (client credentials grant, app-only access) or refreshToken (delegated access)',
        path: ['clientSecret'],
      });
    }
    let presetUrl: string | undefined;
    let presetScope: string | undefined;
    if (a.provider === 'microsoft365') {
      if (!a.tenant && !a.tokenUrl)
        ctx.addIssue({
          code: 'custom',
          message: 'provider microsoft365 needs the directory (tenant) id, e.g. contoso.onmicrosoft.com',
          path: ['tenant'],
        });
      presetUrl = a.tenant && microsoftTokenUrl(a.tenant);
      presetScope = grant === 'client_credentials' ? MICROSOFT_APP_SCOPE : MICROSOFT_DELEGATED_SCOPE;
    } else if (a.provider === 'google') {
      if (!a.refreshToken)
        ctx.addIssue({
          code: 'custom',
          message:
            'provider google needs a refreshToken: Gmail takes no client-credentials tokens (see the admin guide)',
          path: ['refreshToken'],
        });
      presetUrl = GOOGLE_TOKEN_URL;
      presetScope = GOOGLE_SCOPE;
    } else if (!a.tokenUrl) {
      ctx.addIssue({
        code: 'custom',
        message: 'set tokenUrl, or provider: microsoft365 or google',
        path: ['tokenUrl'],
      });
    }
    return {
      type: 'oauth2',
      grant,
      tokenUrl: a.tokenUrl ?? presetUrl ?? '',
      clientId: a.clientId,
      clientSecret: a.clientSecret,
      refreshToken: a.refreshToken,
      scope: a.scope ?? presetScope,
    };
  });

const password = z.strictObject({ type: z.literal('password') });

/** `type: password` (the section's user and password) or `type: oauth2`. */
export const mailAuth = z
  .discriminatedUnion('type', [password, oauth2], {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? `expected type: password or type: oauth2`
        : `expected type: password or type: oauth2, got ${JSON.stringify(issue.input)}`,
  })
  .default({ type: 'password' });

export type MailAuth = { type: 'password' } | OAuth2Auth;
