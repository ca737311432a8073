#!/usr/bin/env node
require('tsx/cjs');
require('../test/run-all.ts');
