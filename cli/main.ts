// The CLI a deployment runs (dist/cli/main.js): the product's commands only.
import { createProgram, runProgram } from './program';

runProgram(createProgram());
