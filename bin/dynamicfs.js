#!/usr/bin/env node
'use strict';
// The `dynamicfs` command: everything lives in the compiled TypeScript.
require('../dist/src/cli/main.js').main(process.argv).then((code) => {
  process.exitCode = code;
});
