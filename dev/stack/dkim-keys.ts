import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './processes';
import { DOMAINS } from './state';

/** The DKIM selector of every stack domain: `stack._domainkey.<domain>`. */
export const DKIM_SELECTOR = 'stack';

export interface DkimKey {
  domain: string;
  /** PEM file of the private key (read by OpenDKIM). */
  privateKeyFile: string;
  /** base64 DER (SubjectPublicKeyInfo), the p= of the DNS record. */
  publicKey: string;
}

export const dkimDir = (dir: string) => path.join(dir, 'dkim');

const ensuring = new Map<string, Promise<DkimKey[]>>();

/** One 2048-bit RSA key per stack domain, created at the first up and kept; services starting together share the work. */
export function ensureDkimKeys(dir: string): Promise<DkimKey[]> {
  const pending = ensuring.get(dir) ?? createKeys(dir);
  ensuring.set(dir, pending);
  pending.catch(() => ensuring.delete(dir));
  return pending;
}

async function createKeys(dir: string): Promise<DkimKey[]> {
  await mkdir(dkimDir(dir), { recursive: true, mode: 0o700 });
  return Promise.all(
    DOMAINS.map(async (domain) => {
      const privateKeyFile = path.join(dkimDir(dir), `${domain}.key`);
      if (!existsSync(privateKeyFile)) {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        await writeFileAtomic(
          privateKeyFile,
          privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
          0o600,
        );
      }
      const publicKey = createPublicKey(await readFile(privateKeyFile, 'utf8'))
        .export({ type: 'spki', format: 'der' })
        .toString('base64');
      return { domain, privateKeyFile, publicKey };
    }),
  );
}
