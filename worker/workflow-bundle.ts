import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { Logger } from 'pino';

/** Where `npm run build` puts the prebuilt bundle: beside the compiled worker, `dist/workflow-bundle.js`. */
export const prebuiltBundlePath = path.join(__dirname, '..', 'workflow-bundle.js');

/** The prebuilt bundle when running compiled code after `npm run build`; undefined in development. */
export function prebuiltBundle(): { codePath: string } | undefined {
  return existsSync(prebuiltBundlePath) ? { codePath: prebuiltBundlePath } : undefined;
}

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/** Bundles the workflows (webpack), once: the product's for production builds, `workflowsPath`'s for test runs. */
export async function bundleWorkflows(workflowsPath = require.resolve('../workflows')): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    logger: silent,
  });
  return code;
}

/** The checkout (or installation) root: the nearest directory above this file with package.json. */
function projectRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (dir === path.dirname(dir)) return path.join(__dirname, '..');
  }
}

/** Never part of a workflow bundle's sources; `node_modules` is covered by the lock file. */
const SKIPPED = new Set(['node_modules', '.git', '.stack', 'test', 'docs']);
const SOURCE = /\.(ts|js|mjs|cjs|json)$/;
/** Bundles kept in the cache, newest first; older ones are deleted. */
const KEPT_BUNDLES = 6;

function hashSources(hash: ReturnType<typeof createHash>, dir: string, cacheDir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const file = path.join(dir, entry.name);
    if (SKIPPED.has(entry.name) || file === cacheDir) continue;
    if (entry.isDirectory()) hashSources(hash, file, cacheDir);
    else if (entry.isFile() && SOURCE.test(entry.name))
      hash.update(file).update('\0').update(readFileSync(file));
  }
}

/**
 * What a bundle of `workflowsPath` depends on: every source file of the project and of the
 * workflows' own folder, and the installed packages (package-lock.json).
 */
function sourceKey(workflowsPath: string, root: string, cacheDir: string): string {
  const hash = createHash('sha256').update(workflowsPath).update('\0');
  hashSources(hash, root, cacheDir);
  // Its own folder too, wherever it is (a folder skipped above, or outside the project).
  hashSources(hash, path.dirname(workflowsPath), cacheDir);
  return hash.digest('hex').slice(0, 24);
}

/**
 * A bundle of `workflowsPath` for the code as it is now: the one saved by an earlier start when no
 * source changed since, else a new one (webpack, a few seconds; logged), saved for the next start.
 */
export async function cachedBundle(
  workflowsPath: string,
  log: Logger,
  cacheDir = path.join(projectRoot(), 'node_modules', '.cache', 'remote-completion'),
): Promise<{ codePath: string }> {
  const key = sourceKey(workflowsPath, projectRoot(), path.resolve(cacheDir));
  const codePath = path.join(cacheDir, `workflow-bundle-${key}.js`);
  if (existsSync(codePath)) {
    log.debug({ bundle: codePath }, 'workflow bundle for this code found: not bundling');
    return { codePath };
  }
  log.info({ workflowsPath }, 'bundling the workflows (no bundle for this code yet; takes a few seconds)');
  const started = Date.now();
  const code = await bundleWorkflows(workflowsPath);
  mkdirSync(cacheDir, { recursive: true });
  // Written whole, then renamed: a worker starting beside this one never reads half a bundle.
  const partial = `${codePath}.${process.pid}.tmp`;
  writeFileSync(partial, code);
  renameSync(partial, codePath);
  log.info({ bundle: codePath, ms: Date.now() - started }, 'workflows bundled and saved for the next start');
  const bundles = readdirSync(cacheDir)
    .filter((f) => f.startsWith('workflow-bundle-') && f.endsWith('.js'))
    .map((f) => path.join(cacheDir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const old of bundles.slice(KEPT_BUNDLES)) rmSync(old, { force: true });
  return { codePath };
}
