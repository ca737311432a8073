import { existsSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

/** Where `npm run build` puts the prebuilt bundle: beside the compiled worker, `dist/workflow-bundle.js`. */
export const prebuiltBundlePath = path.join(__dirname, '..', 'workflow-bundle.js');

/** The prebuilt bundle when running compiled code after `npm run build`; undefined in development. */
export function prebuiltBundle(): { codePath: string } | undefined {
  return existsSync(prebuiltBundlePath) ? { codePath: prebuiltBundlePath } : undefined;
}

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/** Bundles the workflows (webpack), once: the product's for production builds, `workflowsPath`'s for test runs. */
export async function bundleWorkflows(workflowsPath = require.resolve('../workflows')): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    logger: silent,
  });
  return code;
}
