/**
 * `npm test` after type-check and lint: starts the test stack (real Temporal, Dovecot, Postfix),
 * bundles the workflows once, runs every test file with node's test runner, stops the stack.
 * `node bin/run-tests.js test/integration/x.test.ts` runs just the files named.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { repoRoot, stackDown, stackUp } from '../stack';
import { createLogger } from '../worker/logger';

const root = repoRoot();
const dir = path.join(root, '.stack', 'test');
const testFiles = (sub: string) =>
  readdirSync(path.join(root, 'test', sub))
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join('test', sub, f));

async function main(): Promise<number> {
  rmSync(path.join(dir, 'logs'), { recursive: true, force: true });
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const log = createLogger({ level: 'debug', file: path.join(dir, 'logs', 'run-all.log') });
  const started = Date.now();
  const stack = await stackUp({ dir, log });
  process.stdout.write(`# test stack ${stack.reused ? 'reused' : 'up'} in ${Date.now() - started} ms (Temporal ${stack.temporal.address})\n`);
  const bundle = await bundleWorkflowCode({ workflowsPath: path.join(root, 'workflows', 'index.ts'), logger: silentBundlerLogger });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  try {
    // The secrets check reads every log the other files wrote, so it runs last.
    const only = process.argv.slice(2);
    const files = only.length > 0 ? only : [...testFiles('unit'), ...testFiles('integration'), ...testFiles('final')];
    return await run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...files], {
      ...process.env,
      REMOTE_COMPLETION_TEST_STACK: dir,
      REMOTE_COMPLETION_TEST_BUNDLE: bundlePath,
    });
  } finally {
    if (!process.env.KEEP_TEST_STACK) await stackDown({ dir, log });
  }
}

const silentBundlerLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
