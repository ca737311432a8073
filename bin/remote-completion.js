#!/usr/bin/env node
// In a checkout the CLI runs from source through tsx, as the development CLI (dev/cli.ts: the
// product's commands plus `start` and `stack`); with NODE_ENV=production, or where the sources are
// not shipped, it runs the compiled product CLI in dist/ from `npm run build`.
const path = require('node:path');
const fs = require('node:fs');
const source = path.join(__dirname, '..', 'dev', 'cli.ts');
if (process.env.NODE_ENV === 'production' || !fs.existsSync(source)) {
  require('../dist/cli/main.js');
} else {
  require('tsx/cjs');
  require(source);
}
