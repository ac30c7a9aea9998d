/**
 * The layers of DESIGN.md, enforced: imports only go downward
 *   cli/ daemon/ fuse/ → admin/ → backup/ → rpc/ → fs/ → engine/ → meta/ pool/ → native/
 * with errors.ts a leaf, workers/ importing only native/ and errors.ts, and log/, metrics/
 * and config/ (the settings' declaration) cross-cutting (anyone may import them; they
 * import nothing but errors.ts).
 * One rule per layer lists what it must not import. `npm run check:deps` runs it.
 */
const layer = (names) => `^src/(${names.join('|')})(/|\\.ts$)`;

/** [layer, layers it must not import] */
const forbidden = [
  ['admin', ['cli', 'daemon', 'fuse']],
  // backup/ (repositories, and backups of a pool into them) sits over fs/ and the engine; admin/ runs it.
  ['backup', ['cli', 'daemon', 'fuse', 'admin', 'rpc']],
  ['rpc', ['cli', 'daemon', 'fuse', 'admin', 'backup', 'fs', 'engine', 'meta', 'pool', 'native', 'workers', 'metrics']],
  ['fs', ['cli', 'daemon', 'fuse', 'admin', 'backup', 'rpc']],
  ['engine', ['cli', 'daemon', 'fuse', 'admin', 'backup', 'rpc', 'fs']],
  ['meta', ['cli', 'daemon', 'fuse', 'admin', 'backup', 'rpc', 'fs', 'engine', 'workers']],
  ['pool', ['cli', 'daemon', 'fuse', 'admin', 'backup', 'rpc', 'fs', 'engine', 'workers']],
  ['native', ['cli', 'daemon', 'fuse', 'admin', 'backup', 'rpc', 'fs', 'engine', 'meta', 'pool', 'workers', 'log', 'metrics', 'config']],
  ['workers', ['cli', 'daemon', 'fuse', 'admin', 'backup', 'rpc', 'fs', 'engine', 'meta', 'pool', 'log', 'metrics', 'config']],
  ['log', ['cli', 'daemon', 'fuse', 'admin', 'backup', 'rpc', 'fs', 'engine', 'meta', 'pool', 'native', 'workers', 'metrics', 'config']],
  ['metrics', ['cli', 'daemon', 'fuse', 'admin', 'backup', 'rpc', 'fs', 'engine', 'meta', 'pool', 'native', 'workers', 'log', 'config']],
  ['config', ['cli', 'daemon', 'fuse', 'admin', 'backup', 'rpc', 'fs', 'engine', 'meta', 'pool', 'native', 'workers', 'log', 'metrics']],
  ['errors', ['cli', 'daemon', 'fuse', 'admin', 'backup', 'rpc', 'fs', 'engine', 'meta', 'pool', 'native', 'workers', 'log', 'metrics', 'config']],
  // Entry points: cli/'s mount/serve/unmount verbs start or stop the coordinator, so cli/
  // may import daemon/ (never the reverse); fuse/ is driven by daemon/ and imports neither.
  ['cli', ['fuse']],
  ['fuse', ['cli', 'daemon']],
  ['daemon', ['cli']],
];

module.exports = {
  forbidden: [
    ...forbidden.map(([from, to]) => ({
      name: `${from}-not-upward`,
      comment: `src/${from} must not import ${to.join(', ')}: imports go downward only (DESIGN.md layers)`,
      severity: 'error',
      from: { path: layer([from]) },
      to: { path: layer(to) },
    })),
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only ones included (the engine\'s pipelines see it through '
        + 'engine/context.ts, and job kinds reach the runner from engine/open.ts).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
