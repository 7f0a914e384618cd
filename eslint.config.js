// Lint: typescript-eslint's type-checked rules; floating promises are errors because dispatch is async and a
// dropped promise is a decision nobody waits for.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Extension fixtures are guest code, some deliberately broken or hostile: never linted or type-checked.
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'bench/results/**',
      'test/fixtures/scanner/**',
      'test/fixtures/extensions/**',
      'test/fixtures/bridge/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'bin/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a const array and a union: enums are not erasable syntax.' },
      ],
    },
  },
  {
    files: ['bin/*.js', 'eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly' } },
  },
  {
    // Guest code runs inside the sandbox on untyped extension values and mirrors Node, which stringifies them.
    files: ['src/sandbox/guest/**/*.ts'],
    rules: {
      '@typescript-eslint/no-base-to-string': 'off',
      'no-control-regex': 'off',
      // Node passes on whatever was thrown or given to a callback; so does the guest.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }],
        },
      ],
    },
  },
);
