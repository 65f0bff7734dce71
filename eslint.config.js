// One job only: promises. After the move to the async store (issue 9) a forgotten `await` type-checks
// but writes nothing, or lets an error escape as an unhandled rejection; these rules catch it.
// Style is left to review; tsc --strict does the rest (`npm test` runs both).
import tseslint from 'typescript-eslint';

const NODE_TEST = ['describe', 'it', 'test', 'before', 'after', 'beforeEach', 'afterEach'];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'test/fixtures/'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: NODE_TEST }] }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
);
