// The CLI in a checkout (bin/remote-completion.js runs it through tsx): the product's commands,
// with the embedded stack's config as the default, plus `start` and `stack`.
import path from 'node:path';
import { setFallbackConfig } from '../cli/context';
import { createProgram, runProgram } from '../cli/program';
import { embeddedStackDir } from './stack';
import { registerStackCommands } from './stack-commands';

setFallbackConfig({
  file: path.join(embeddedStackDir(), 'config.yaml'),
  owner: "the embedded stack's",
  howToCreate: 'run "npm start" to bring up the embedded stack',
});
const program = createProgram();
registerStackCommands(program);
runProgram(program);
