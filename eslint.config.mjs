import tseslint from 'typescript-eslint';

/** Import direction (docs/architecture.md): contract/ is a leaf; lib/ and lambda/ share it, never each other. */
const noSdk = { group: ['@aws-sdk/*'], message: 'Deploy code and the contract load no AWS SDK client (cdk synth must not).' };
const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', 'coverage/**', 'dist/**', '**/*.js', '**/*.cjs', '**/*.mjs', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
      'no-restricted-syntax': [
        'error',
        {
          // Bundle size (scripts/bundle.ts): the `z` export re-exports every locale, ~360 KB in each Lambda bundle.
          selector: "ImportDeclaration[source.value='zod'] > :matches(ImportSpecifier[imported.name='z'], ImportDefaultSpecifier)",
          message: "Use `import * as z from 'zod'`: the `z` export keeps every zod locale in the bundles.",
        },
      ],
    },
  },
  {
    files: ['contract/**/*.ts'],
    rules: restrict(
      { group: ['../*', '../**'], message: 'contract/ is a leaf module: it imports nothing from the rest of the project.' },
      { group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'], message: 'contract/ is plain data shared by deploy and runtime code.' },
      noSdk,
    ),
  },
  {
    files: ['lib/**/*.ts', 'bin/**/*.ts'],
    rules: restrict(
      { group: ['**/lambda', '**/lambda/**'], message: 'lib/ does not import lambda/ runtime modules; share through contract/.' },
      noSdk,
    ),
  },
  {
    files: ['lambda/**/*.ts'],
    rules: restrict({ group: ['**/lib', '**/lib/**', '**/bin/**'], message: 'lambda/ does not import lib/ deploy code; share through contract/.' }),
  },
  {
    // Tests handle raw JSON (fixtures, templates, SDK payloads) on purpose.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
