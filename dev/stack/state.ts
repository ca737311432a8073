import { createHash, randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { secretWeakness } from '../../config/secret-strength';
import { pickFreePorts } from './processes';

export const COMPLETION_ADDRESS = 'completion@example.test';
export const DOMAINS = ['example.test', 'other.test'];
const ADDRESSES = [COMPLETION_ADDRESS, 'alice@example.test', 'carol@example.test', 'bob@other.test'];

export type ServiceName = 'temporal' | 'dovecot' | 'postfix' | 'dnsmasq' | 'opendkim';

export interface StackAccount {
  address: string;
  password: string;
}

/** `<dir>/stack.json`: everything chosen at the first `up` (kept across restarts) plus the pids of what runs now. */
export interface StackState {
  version: 1;
  /** Unique per data dir, so several stacks can run side by side. */
  instance: string;
  ports: {
    temporal: number;
    temporalUi: number;
    smtp: number;
    imaps: number;
    lmtp: number;
    /** dnsmasq: DNS for the stack's domains (DKIM keys, DMARC, SPF). */
    dns: number;
    /** OpenDKIM: Postfix's signing milter. */
    milter: number;
  };
  accounts: StackAccount[];
  signatureSecret: string;
  pids: Partial<Record<ServiceName, number>>;
}

export const stateFile = (dir: string) => path.join(dir, 'stack.json');
const randomSecret = () => randomBytes(32).toString('base64url');
/** A signature secret the config's strength rule accepts (a random one fails it about once in 300 000). */
const signatureSecret = (): string => {
  for (;;) {
    const candidate = randomSecret();
    if (!secretWeakness(candidate)) return candidate;
  }
};

export async function readState(dir: string): Promise<StackState | undefined> {
  let text: string;
  try {
    text = await readFile(stateFile(dir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const state = JSON.parse(text) as StackState;
  if (state.version !== 1) throw new Error(`${stateFile(dir)}: unknown version ${String(state.version)}`);
  return state;
}

export async function loadOrCreateState(dir: string): Promise<StackState> {
  const existing = await readState(dir);
  const state: StackState = existing ?? (await newState(dir));
  for (const address of ADDRESSES) {
    if (!state.accounts.some((a) => a.address === address))
      state.accounts.push({ address, password: randomSecret() });
  }
  // Stacks created before these services or this rule get them now; the rest is kept.
  if (!state.ports.dns || !state.ports.milter) {
    const [dns, milter] = (await pickFreePorts(2)) as [number, number];
    state.ports = { ...state.ports, dns, milter };
  }
  if (secretWeakness(state.signatureSecret)) state.signatureSecret = signatureSecret();
  saveState(dir, state);
  return state;
}

async function newState(dir: string): Promise<StackState> {
  const [temporal, temporalUi, smtp, imaps, lmtp, dns, milter] = (await pickFreePorts(7)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return {
    version: 1,
    instance: `rc-${createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 10)}`,
    ports: { temporal, temporalUi, smtp, imaps, lmtp, dns, milter },
    accounts: [],
    signatureSecret: signatureSecret(),
    pids: {},
  };
}

/** Synchronous, so that saves from concurrent service starts cannot land out of order. */
export function saveState(dir: string, state: StackState): void {
  const tmp = `${stateFile(dir)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, stateFile(dir));
}

export function account(state: StackState, address: string): StackAccount {
  const found = state.accounts.find((a) => a.address === address);
  if (!found) throw new Error(`stack.json has no account ${address}`);
  return found;
}
