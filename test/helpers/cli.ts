import { execFile } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../dev/stack';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `remote-completion` command as a user would, with `configFile`, in an environment
 * without the test run's own REMOTE_COMPLETION_* variables.
 */
export function runCli(configFile: string, ...args: string[]): Promise<CliRun> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('REMOTE_COMPLETION_') && key !== 'NODE_ENV',
    ),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot(), 'bin', 'remote-completion.js'), ...args, '--config', configFile],
      { cwd: repoRoot(), env, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
