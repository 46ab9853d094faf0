// Lint: ESLint's and typescript-eslint's recommended rules for correctness, @stylistic for the
// project's standard-like style (2 spaces, single quotes, no semicolons, a space before a
// function's parentheses). `npm run lint`, `npm run lint:fix`.
import js from '@eslint/js'
import stylistic from '@stylistic/eslint-plugin'
import tseslint from 'typescript-eslint'
import { layers } from './eslint.layers.js'

export default tseslint.config(
  { ignores: ['dist/', 'docs/api/', 'tmp/', 'bench-results/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  stylistic.configs.customize({ indent: 2, quotes: 'single', semi: false, commaDangle: 'never', braceStyle: '1tbs', arrowParens: true }),
  {
    rules: {
      // As in standard: where standard has no rule, neither do we; where it has one, its setting
      // (plus a leading '|' for union types written one member a line).
      '@stylistic/space-before-function-paren': ['error', 'always'],
      // A closure defined before the assignment may read the variable: `let` is deliberate there.
      'prefer-const': ['error', { destructuring: 'all', ignoreReadBeforeAssign: true }],
      '@stylistic/list-style': 'off',
      '@stylistic/quote-props': ['error', 'as-needed'],
      '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: 'never' }],
      '@stylistic/no-multi-spaces': ['error', { ignoreEOLComments: true }],
      '@stylistic/max-statements-per-line': 'off',
      '@stylistic/indent-binary-ops': 'off',
      '@stylistic/operator-linebreak': ['error', 'after', { overrides: { '?': 'before', ':': 'before', '|>': 'before', '|': 'before' } }],
      '@stylistic/generator-star-spacing': ['error', { before: true, after: true }],
      '@stylistic/yield-star-spacing': ['error', 'both'],
      '@stylistic/lines-between-class-members': ['error', 'always', { exceptAfterSingleLine: true }]
    }
  },
  // No import from a lower layer of src/ to a higher one.
  ...layers,
  {
    // Plain JavaScript run by Node (scripts, the unused-tape stub): Node's globals.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', require: 'readonly', module: 'writable', Buffer: 'readonly' } }
  },
  {
    // CommonJS files (the fixtures that prove require() works) can only load with require().
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  }
)
