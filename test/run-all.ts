/**
 * `npm test` after type-check and lint: starts the test stack (real Temporal, Dovecot, Postfix),
 * bundles the workflows once, runs every test file with node's test runner, stops the stack.
 * `node bin/run-tests.js test/integration/x.test.ts` runs just the files named.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, stackDown, stackUp } from '../dev/stack';
import { createLogger } from '../worker/logger';
import { bundleWorkflows } from '../worker/workflow-bundle';
import { findSecretsInLogs } from './support/secrets-in-logs';

const root = repoRoot();
const dir = path.join(root, '.stack', 'test');
const testFiles = (sub: string) =>
  readdirSync(path.join(root, 'test', sub))
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join('test', sub, f));

async function main(): Promise<number> {
  // The stack's own logs stay in <dir>/logs; each run's test logs start afresh here.
  const testLogs = path.join(dir, 'test-logs');
  rmSync(testLogs, { recursive: true, force: true });
  mkdirSync(testLogs, { recursive: true });
  const log = createLogger({ level: 'debug', file: path.join(testLogs, 'run-all.log') });
  const started = Date.now();
  const stack = await stackUp({ dir, log });
  process.stdout.write(
    `# test stack ${stack.reused ? 'reused' : 'up'} in ${Date.now() - started} ms (Temporal ${stack.temporal.address})\n`,
  );
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, await bundleWorkflows());
  try {
    const only = process.argv.slice(2);
    const files = only.length > 0 ? only : [...testFiles('unit'), ...testFiles('integration')];
    const code = await run(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...files],
      {
        ...process.env,
        REMOTE_COMPLETION_TEST_STACK: dir,
        REMOTE_COMPLETION_TEST_BUNDLE: bundlePath,
      },
    );
    // After every test: no password or secret in any log the run wrote.
    const { files: scanned, leaks } = findSecretsInLogs(dir);
    if (leaks.length > 0) {
      process.stdout.write(`# secrets check FAILED:\n${leaks.map((l) => `#   ${l}`).join('\n')}\n`);
      return 1;
    }
    log.info({ scanned }, 'secrets check: no password or secret in the logs');
    return code;
  } finally {
    if (!process.env.KEEP_TEST_STACK) await stackDown({ dir, log });
  }
}

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
