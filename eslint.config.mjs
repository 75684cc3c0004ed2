import js from '@eslint/js';
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';
import tseslint from 'typescript-eslint';

const { devDependencies } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

// The boundaries between what is deployed and what only runs here (README, "Layout").
// The emulator is its own package (local/emulator, a workspace): everything else imports it by its
// name, whose exports are its entry (index.ts) and its dependency-free defaults (defaults.ts), never
// by a path into its folder.
const EMULATOR_MESSAGE =
  "Outside local/emulator, import the emulator by its package name, '@local/eventhubs-emulator' (its entry, local/emulator/index.ts; '@local/eventhubs-emulator/defaults' for its defaults alone).";
const emulatorSubpath = { regex: '^@local/eventhubs-emulator/(?!defaults$)', message: EMULATOR_MESSAGE };
/** From test/, bench/, scripts/ (and src/), any relative path to the emulator passes through local/emulator. */
const emulatorByPath = [{ regex: '(^|/)local/emulator(/|$)', message: EMULATOR_MESSAGE }, emulatorSubpath];
/** From local/ itself, the emulator is ./emulator or ../emulator (../../emulator deeper down). */
const emulatorFromLocal = [
  { regex: '^(\\./|(\\.\\./)+)emulator(/|$)', message: EMULATOR_MESSAGE },
  emulatorSubpath,
];
// The local host's public surface is its index; the stack, the explorer, scripts and benchmarks use
// only that (its own unit tests, in test/unit/host, reach inside).
const HOST_MESSAGE = 'Outside local/host, import the local host through its entry (local/host/index.ts).';
const hostFromLocal = { regex: '^(\\./|(\\.\\./)+)host/(?!index$)', message: HOST_MESSAGE };
const hostByPath = { regex: '(^|/)local/host/(?!index$)', message: HOST_MESSAGE };
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
            ...emulatorFromLocal,
          ],
        },
      ],
    },
  },
  {
    files: ['local/stack/**/*.ts', 'local/explorer/**/*.ts', 'local/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...emulatorFromLocal, hostFromLocal] }] },
  },
  {
    files: ['scripts/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...emulatorByPath, hostByPath] }] },
  },
  {
    files: ['test/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: emulatorByPath }] },
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
      // Types are imported as types, so a module imported only for its types is not loaded.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        // import('...') types stay allowed: ambient module declarations (*.d.ts) need them.
        { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      // One way to keep a member private: TypeScript's `private`, as the Azure SDK for JS writes it.
      'no-restricted-syntax': [
        'error',
        { selector: 'PrivateIdentifier', message: 'Use TypeScript `private`, not a #private member.' },
      ],
    },
  },
  ...boundaries,
);
