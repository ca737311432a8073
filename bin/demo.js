#!/usr/bin/env node
require('tsx/cjs');
require('../demo/run-demo.ts');
