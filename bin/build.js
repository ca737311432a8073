#!/usr/bin/env node
// `npm run build`: compiled JavaScript in dist/ (tsc) plus the prebuilt workflow bundle, so a
// production worker starts without webpack.
const { spawnSync } = require('node:child_process');
const { writeFileSync, rmSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
const tsc = spawnSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
  { cwd: root, stdio: 'inherit' },
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const { bundleWorkflows, prebuiltBundlePath } = require(
  path.join(root, 'dist', 'worker', 'workflow-bundle.js'),
);
bundleWorkflows().then(
  (code) => {
    writeFileSync(prebuiltBundlePath, code);
    process.stdout.write(
      `built dist/ and ${path.relative(root, prebuiltBundlePath)} (${Math.round(code.length / 1024)} KiB)\n`,
    );
  },
  (err) => {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  },
);
