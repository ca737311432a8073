#!/usr/bin/env node
// Installs npm dependencies on a fresh checkout, so `npm start` and `npm test` work as first commands.
const { existsSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
if (!existsSync(path.join(root, 'node_modules', 'tsx', 'package.json'))) {
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
