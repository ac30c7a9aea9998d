#!/usr/bin/env node
'use strict';
// Before anything loads: fragment reads and writes run on the libuv thread pool, whose
// size is fixed when it first starts. The default 4 threads would cap a 6-disk pool.
process.env.UV_THREADPOOL_SIZE ??= '16';
// The `dynamicfs` command: everything lives in the compiled TypeScript.
require('../dist/src/cli/main.js').main(process.argv).then((code) => {
  process.exitCode = code;
});
