/**
 * Headless Chromium for tests that render HTML, driven by playwright-core (which never downloads
 * a browser): Debian's `chromium` package, installed by `.ci/run`, else here with apt-get when
 * root. Needs no mail stack and must not import test/helpers/env.ts.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

const exec = promisify(execFile);

/** Where Debian's `chromium` package puts the browser. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * Headless, as root, on a closed network: no sandbox (root), no GPU, and none of Chromium's own
 * background traffic (updates, sync, QUIC), which would only fail here. Playwright adds a fresh
 * temporary --user-data-dir of its own.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type ChromiumCheck =
  { ok: true; executablePath: string; installedMs?: number } | { ok: false; reason: string };

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findChromium(): string | undefined {
  if (executable(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, 'chromium'))
    .find(executable);
}

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const APT_INSTALL = ['install', '-y', '-qq', '--no-install-recommends', 'chromium'];

async function aptInstallChromium(): Promise<void> {
  try {
    await exec('apt-get', APT_INSTALL, { env: APT_ENV, maxBuffer: 64 * 1024 * 1024 });
  } catch {
    // A fresh machine has no package lists yet.
    await exec('apt-get', ['update', '-qq'], { env: APT_ENV, maxBuffer: 64 * 1024 * 1024 });
    await exec('apt-get', APT_INSTALL, { env: APT_ENV, maxBuffer: 64 * 1024 * 1024 });
  }
}

let check: Promise<ChromiumCheck> | undefined;

/**
 * Chromium's path; installs Debian's package when it is missing and we are root (an install
 * failure is an error, not a skip). Not ok, with the reason, only when it is missing and we are
 * not root.
 */
export function ensureChromium(): Promise<ChromiumCheck> {
  check ??= (async (): Promise<ChromiumCheck> => {
    const found = findChromium();
    if (found) return { ok: true, executablePath: found };
    if (process.getuid?.() !== 0) {
      return {
        ok: false,
        reason:
          'chromium is not installed and installing it needs root: run ' +
          '`sudo apt-get install --no-install-recommends chromium` (CI installs it in .ci/run)',
      };
    }
    const started = Date.now();
    await aptInstallChromium();
    const installed = findChromium();
    if (!installed) throw new Error(`apt-get installed chromium, but ${DEBIAN_CHROMIUM} is not there`);
    return { ok: true, executablePath: installed, installedMs: Date.now() - started };
  })();
  return check;
}

/** A headless browser on the given Chromium; the caller closes it. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

/** WCAG 2 contrast ratio of two CSS colours as computed by the browser (`rgb()` / `rgba()`, opaque). */
export function contrastRatio(a: string, b: string): number {
  const [la, lb] = [luminance(a), luminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

export function parseRgb(css: string): { r: number; g: number; b: number; alpha: number } {
  const m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:\s*[,/]\s*([\d.]+))?\s*\)$/.exec(css);
  if (!m) throw new Error(`not an rgb() colour: ${css}`);
  return { r: Number(m[1]), g: Number(m[2]), b: Number(m[3]), alpha: m[4] === undefined ? 1 : Number(m[4]) };
}

function luminance(css: string): number {
  const { r, g, b } = parseRgb(css);
  const channel = (v: number) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}
