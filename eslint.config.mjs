import js from '@eslint/js';
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';
import tseslint from 'typescript-eslint';

const { devDependencies } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

// The boundaries between what is deployed and what only runs here (README, "Layout").
const emulatorInternals = {
  group: ['**/emulator/*', '!**/emulator/index'],
  message: 'Outside local/emulator, use the emulator through its entry (local/emulator/index.ts).',
};
const boundaries = [
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/local/**', '**/test/**', '**/bench/**', '**/scripts/**'],
              message:
                'src/ is the deployed app: it may not import local runs, tests, benchmarks or scripts.',
            },
          ],
          paths: Object.keys(devDependencies).map((name) => ({
            name,
            message: `${name} is a devDependency: the deployed app does not have it.`,
          })),
        },
      ],
    },
  },
  {
    files: ['local/host/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/**'],
              message: 'The local host runs any app: it may not import this one (src/).',
            },
            emulatorInternals,
          ],
        },
      ],
    },
  },
  {
    files: [
      'local/stack/**/*.ts',
      'local/explorer/**/*.ts',
      'local/*.ts',
      'scripts/**/*.ts',
      'bench/**/*.ts',
    ],
    rules: { 'no-restricted-imports': ['error', { patterns: [emulatorInternals] }] },
  },
];

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'coverage/',
      '.data/',
      '.tools/',
      'test/clients/dotnet/bin/',
      'test/clients/dotnet/obj/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...boundaries,
);
