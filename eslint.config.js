// ESLint: typescript-eslint's recommended-type-checked rules on everything we write, with the
// type information of each tsconfig (project service). Formatting is Prettier's job
// (eslint-config-prettier turns off the rules that would fight it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'coverage/',
      'node_modules/',
      'web/src/gql/',
      'web/dist/',
      '.phantom/',
      'bench-results/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    rules: {
      // `_`-named parameters hold a place: type-graphql registers an @Arg by its parameter,
      // used or not. `const { a: _a, ...rest } = o` is how a field is dropped from a copy.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Passing on a rejection whose type is unknown (an iterator's throw(), a wrapped promise's
      // failure) is what a wrapper must do; as in only-throw-error's defaults. Rejecting with a
      // string or another known non-Error is still reported.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  {
    // Tests read GraphQL answers, kubectl's JSON and Kubernetes objects as untyped JSON and assert
    // on their shape: typing each answer would restate the schema in every test without catching
    // anything the assertions do not. The `any`-flow rules are off there, and only there; every
    // other rule (floating promises, misused promises, await-thenable, ...) stays on.
    files: ['test/**/*.ts', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  prettier,
);
