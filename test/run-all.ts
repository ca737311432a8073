/**
 * `npm test` after type-check and lint: starts the test stack (real Temporal, Dovecot, Postfix),
 * bundles the workflows once, runs every test file with node's test runner, stops the stack.
 * `node bin/run-tests.js test/integration/x.test.ts` runs just the files named.
 * `npm run test:unit` (`--unit`), or naming unit test files only, runs them without any stack.
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
const isUnitTest = (file: string) =>
  path.relative(path.join(root, 'test', 'unit'), path.resolve(root, file)).split(path.sep)[0] !== '..';
const nodeTest = (files: string[]) => [
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=1',
  '--test-reporter=tap',
  ...files,
];

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const named = args.filter((arg) => arg !== '--unit');
  const files =
    named.length > 0
      ? named
      : args.includes('--unit')
        ? testFiles('unit')
        : [...testFiles('unit'), ...testFiles('integration')];
  // Unit tests are pure: no stack, no root, no workflow bundle.
  if (files.every(isUnitTest)) return run(process.execPath, nodeTest(files), process.env);

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
  // The product's workflows plus the example parent workflow (test/integration/child-workflow.test.ts).
  writeFileSync(bundlePath, await bundleWorkflows(require.resolve('../dev/workflows')));
  try {
    const code = await run(process.execPath, nodeTest(files), {
      ...process.env,
      REMOTE_COMPLETION_TEST_STACK: dir,
      REMOTE_COMPLETION_TEST_BUNDLE: bundlePath,
    });
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
