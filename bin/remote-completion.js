#!/usr/bin/env node
// Runs the TypeScript CLI in a checkout (through tsx) or the compiled one after `npm run build`.
const path = require('node:path');
const fs = require('node:fs');
const compiled = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (fs.existsSync(compiled) && !process.env.REMOTE_COMPLETION_FROM_SOURCE) {
  require(compiled);
} else {
  require('tsx/cjs');
  require('../cli/main.ts');
}
