/**
 * The layering of src/ (npm run lint). Type-only imports count: a cycle through types still ties the
 * modules' designs together, and an emulator type in the function's graph is the first step to more.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'Modules import each other in one direction: a cycle, type-only included, has no bottom to test or reason from.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'sdk-wrappers-import-no-step',
      severity: 'error',
      comment: 'src/oss and src/fc wrap the services; the publishing steps (src/publish) build on them, never the other way.',
      from: { path: '^src/(oss|fc)/' },
      to: { path: '^src/publish/' },
    },
    {
      name: 'function-bundle-has-no-tools',
      severity: 'error',
      comment: 'dist/index.js is what Function Compute runs: the emulator, the CLI and the local stack never reach it.',
      from: { path: '^src/index\\.ts$' },
      to: { path: '^src/(emulator|cli|local)/', reachable: true },
    },
    {
      name: 'cli-and-local-stack-apart',
      severity: 'error',
      comment: 'layer-publisher and npm start share src/console; neither imports the other.',
      from: { path: '^src/cli/' },
      to: { path: '^src/local/' },
    },
    {
      name: 'local-stack-and-cli-apart',
      severity: 'error',
      comment: 'layer-publisher and npm start share src/console; neither imports the other.',
      from: { path: '^src/local/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'console-below-its-users',
      severity: 'error',
      comment: 'src/console is shared by the CLI and the local stack: it imports neither.',
      from: { path: '^src/console/' },
      to: { path: '^src/(cli|local)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
