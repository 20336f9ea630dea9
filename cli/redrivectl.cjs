#!/usr/bin/env node
// redrivectl entry point: runs the TypeScript sources through tsx's require hook, so
// `npx redrivectl` works from a clone without a build step.
'use strict';
// The SDK's notice about its future Node.js support would print on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs');
const { run } = require('./main.ts');

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
