import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * Folder layering: imports point down only, domain < workflows < activities/mail < worker/client <
 * cli, with config low (above domain). dev/ and test/ may import anything; no product folder may
 * import them. Each product folder lists the folders it must not import (docs/developer-guide.md,
 * "Layout"). Workflows may import activity *types* only (proxyActivities).
 */
const FORBIDDEN_IMPORTS = {
  domain: ['config', 'workflows', 'activities', 'mail', 'worker', 'client', 'cli', 'dev', 'test'],
  config: ['workflows', 'activities', 'mail', 'worker', 'client', 'cli', 'dev', 'test'],
  workflows: ['config', 'mail', 'worker', 'client', 'cli', 'dev', 'test'],
  mail: ['activities', 'worker', 'client', 'cli', 'dev', 'test'],
  activities: ['worker', 'client', 'cli', 'dev', 'test'],
  client: ['worker', 'cli', 'dev', 'test'],
  worker: ['cli', 'dev', 'test'],
  cli: ['dev', 'test'],
};
const TYPE_IMPORTS_ALLOWED = { workflows: ['activities'] };

/** A relative import that climbs out of its folder into `target`, e.g. '../worker/logger'. */
const importOf = (folder, target, allowTypeImports = false) => ({
  regex: `^(\\.\\./)+${target}(/|$)`,
  allowTypeImports,
  message: `${folder}/ must not import ${allowTypeImports ? 'anything but types from ' : ''}${target}/: imports point down (domain < workflows < activities/mail < worker/client < cli; config low; never dev/ or test/).`,
});

const layering = Object.entries(FORBIDDEN_IMPORTS).map(([folder, targets]) => ({
  files: [`${folder}/**/*.ts`],
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: [
          ...targets.map((target) => importOf(folder, target)),
          ...(TYPE_IMPORTS_ALLOWED[folder] ?? []).map((target) => importOf(folder, target, true)),
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['node_modules', 'dist', '.stack', 'lib', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
    },
  },
  ...layering,
  { files: ['bin/**/*.js', 'eslint.config.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['bin/**/*.js'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries.
    files: ['workflows/**/*.ts', 'dev/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflows must not use Node built-ins.' },
            {
              group: ['fs', 'path', 'crypto', 'os', 'net', 'http', 'https', 'child_process', 'util'],
              message: 'Workflows must not use Node built-ins.',
            },
            {
              group: [
                'imapflow',
                'nodemailer',
                'mailparser',
                'pino',
                '@temporalio/activity',
                '@temporalio/worker',
                '@temporalio/client',
              ],
              message: 'Workflows do no I/O: call an activity.',
            },
          ],
        },
      ],
    },
  },
);
