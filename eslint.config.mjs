// Flat config: typescript-eslint's recommended rules on src/, test/ and bench/ (npm run lint runs
// `tsc --noEmit` first for the type check).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The Node.js globals plain JavaScript files use (TypeScript files are checked by tsc instead).
const node = Object.fromEntries(
  [
    'process', 'console', 'require', 'module', 'exports', '__dirname', '__filename', 'Buffer', 'structuredClone',
    'AbortController', 'AbortSignal', 'setTimeout', 'clearTimeout', 'setImmediate', 'queueMicrotask', 'performance',
  ].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  { ignores: ['lib/**', 'build/**', 'build-torch/**', 'prebuilds/**', 'node_modules/**', '.venv/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: node },
  },
);
