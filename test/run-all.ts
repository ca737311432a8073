/**
 * `npm test` after type-check and lint: starts the test stack (real Temporal, Dovecot, Postfix),
 * bundles the workflows once, runs every unit and integration test file with node's test runner,
 * stops the stack; then the same for the fault suite (test/faults/) on a stack of its own.
 * `node bin/run-tests.js test/integration/x.test.ts test/faults` runs just the files (or folders) named.
 * `npm run test:unit` (`--unit`), or naming unit test files only, runs them without any stack.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureStackDataDir, repoRoot, stackDown, stackUp } from '../dev/stack';
import { createLogger } from '../worker/logger';
import { bundleWorkflows } from '../worker/workflow-bundle';
import { findSecretsInLogs } from './support/secrets-in-logs';

const root = repoRoot();
const testDir = path.join(root, '.stack', 'test');
/** The fault suite stops and restarts daemons, so it gets a stack of its own. */
const faultsDir = path.join(root, '.stack', 'faults');
const testFiles = (sub: string) =>
  readdirSync(path.join(root, 'test', sub))
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join('test', sub, f));
const under = (folder: string) => (file: string) =>
  path.relative(path.join(root, 'test', folder), path.resolve(root, file)).split(path.sep)[0] !== '..';
const isUnitTest = under('unit');
const isFaultTest = under('faults');
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
  const named = args
    .filter((arg) => arg !== '--unit')
    .flatMap((arg) =>
      statSync(path.join(root, arg)).isDirectory() ? testFiles(path.relative('test', arg)) : [arg],
    );
  if (args.includes('--unit') && named.length === 0) return runUnitTests(testFiles('unit'));
  // Unit tests are pure: no stack, no root, no workflow bundle.
  if (named.length > 0 && named.every(isUnitTest)) return runUnitTests(named);
  const all = named.length === 0;
  const suites = [
    {
      dir: testDir,
      files: all ? [...testFiles('unit'), ...testFiles('integration')] : named.filter((f) => !isFaultTest(f)),
    },
    { dir: faultsDir, files: all ? testFiles('faults') : named.filter(isFaultTest) },
  ].filter((suite) => suite.files.length > 0);
  let code = 0;
  for (const suite of suites) code = Math.max(code, await runSuite(suite.dir, suite.files));
  return code;
}

function runUnitTests(files: string[]): Promise<number> {
  return run(process.execPath, nodeTest(files), process.env);
}

/** Starts the stack in `dir`, runs `files` against it, checks its logs for secrets, stops it. */
async function runSuite(dir: string, files: string[]): Promise<number> {
  // First, so that <dir> is the handle of a data dir the daemons can reach (dev/stack/data-dir.ts).
  await ensureStackDataDir(dir);
  // The stack's own logs stay in <dir>/logs; each run's test logs start afresh here.
  const testLogs = path.join(dir, 'test-logs');
  rmSync(testLogs, { recursive: true, force: true });
  mkdirSync(testLogs, { recursive: true });
  const log = createLogger({ level: 'debug', file: path.join(testLogs, 'run-all.log') });
  const started = Date.now();
  // The test stack also takes OAuth2 tokens (test/integration/oauth2-*.test.ts); its config stays on passwords.
  const stack = await stackUp({ dir, log, oauth2: dir === testDir });
  process.stdout.write(
    `# ${path.relative(root, dir)} stack ${stack.reused ? 'reused' : 'up'} in ${Date.now() - started} ms (Temporal ${stack.temporal.address})\n`,
  );
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  // The product's workflows plus the example parent workflow (test/integration/child-workflow.test.ts).
  writeFileSync(bundlePath, await bundleWorkflows(require.resolve('../dev/workflows')));
  // The fault suite restarts workers often: it runs the production build, which starts in a second.
  if (dir === faultsDir && (await run(process.execPath, ['bin/build.js'], process.env)) !== 0) return 1;
  try {
    const code = await run(process.execPath, nodeTest(files), {
      ...process.env,
      REMOTE_COMPLETION_TEST_STACK: dir,
      REMOTE_COMPLETION_TEST_BUNDLE: bundlePath,
    });
    // After every test: no password, secret or token in any log the run wrote.
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
