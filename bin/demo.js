#!/usr/bin/env node
require('tsx/cjs');
require('../dev/demo/run-demo.ts');
