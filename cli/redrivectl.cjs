#!/usr/bin/env node
// redrivectl entry point. In a clone it runs the TypeScript sources through tsx's require
// hook, so `npx redrivectl` needs no build step; the installed package has no sources and
// runs the bundle `npm run build` made (dist/cli/redrivectl.js, no dependencies).
'use strict';
// The SDK's notice about its future Node.js support would print on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const source = join(__dirname, 'main.ts');
let run;
if (existsSync(source)) {
  require('tsx/cjs');
  ({ run } = require(source));
} else {
  // Internal errors print their stack: map it to the sources.
  process.setSourceMapsEnabled(true);
  ({ run } = require('../dist/cli/redrivectl.js'));
}

function flushAndExit(code) {
  // Let piped stdout/stderr drain before exiting; SDK keep-alive sockets must not keep
  // the process alive.
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

run(process.argv).then(flushAndExit, (e) => {
  process.stderr.write(`redrivectl: internal error: ${e && e.stack ? e.stack : e}\n`);
  flushAndExit(1);
});
