import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cachedBundle } from '../../worker/workflow-bundle';
import { repoRoot } from '../../dev/stack';
import { logLines, testLogger, unique } from '../helpers/env';

// Plain JavaScript: webpack does not run the TypeScript loader under node_modules.
const workflow = (answer: number) => `export async function answer() {\n  return ${answer};\n}\n`;

test('a worker bundles its workflows once per version of the code, and says when it does', async (t) => {
  // Inside the checkout, so that webpack resolves @temporalio/workflow from its node_modules (the
  // test stack's scratch directory lives outside it, in /var/lib/remote-completion).
  const dir = path.join(repoRoot(), 'node_modules', '.cache', 'remote-completion-tests', unique('bundle'));
  mkdirSync(dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const workflowsPath = path.join(dir, 'workflows.js');
  const cacheDir = path.join(dir, 'cache');
  const name = 'workflow-bundle';
  const log = testLogger(name);
  const bundlings = () => logLines(name, { msg: 'workflows bundled and saved for the next start' }).length;
  writeFileSync(workflowsPath, workflow(1));

  const first = await cachedBundle(workflowsPath, log, cacheDir);
  assert.equal(bundlings(), 1);
  const again = await cachedBundle(workflowsPath, log, cacheDir);
  assert.equal(again.codePath, first.codePath, 'the same code reuses its bundle');
  assert.equal(bundlings(), 1, 'without bundling again');

  writeFileSync(workflowsPath, workflow(2));
  const changed = await cachedBundle(workflowsPath, log, cacheDir);
  assert.notEqual(changed.codePath, first.codePath, 'changed code gets a bundle of its own');
  assert.equal(bundlings(), 2);
  assert.match(readFileSync(changed.codePath, 'utf8'), /return 2/);
  assert.equal(
    logLines(name, { msg: 'bundling the workflows (no bundle for this code yet; takes a few seconds)' })
      .length,
    2,
  );
});
