#!/usr/bin/env node
'use strict';
// The only place that touches process: signals in, exit code out. Everything else is in dist/src/cli/main.js.
// CommonJS on purpose: `socklab` and `socklab --help` are answered from here without loading an ES module, which
// keeps the most common first command at Node's own start-up time.
const { rootHelp } = require('./root-help.cjs');

const argv = process.argv.slice(2);
const first = argv[0];
if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
  process.stdout.write(rootHelp());
  process.exitCode = first === undefined ? 2 : 0;
} else {
  void run();
}

async function run() {
  const controller = new AbortController();
  let signalsSeen = 0;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      signalsSeen++;
      // First signal: graceful stop. Second: the user means it.
      if (signalsSeen > 1) process.exit(130);
      controller.abort(new Error(`received ${signal}`));
    });
  }
  // A closed stdout (e.g. `socklab … | head -1`) is not an error worth a stack trace.
  process.stdout.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  const { main } = await import('../dist/src/cli/main.js');
  // stdin is opened as a stream only when a command reads it that way: opening it makes a pipe non-blocking,
  // and `nc` reads a piped or redirected stdin with fs.read instead.
  const io = { get stdin() { return process.stdin; }, stdout: process.stdout, stderr: process.stderr, signal: controller.signal };
  const code = await main(argv, io);
  // Let buffered output reach its pipe, then exit even if stdin or a timer still holds the loop.
  process.stdout.write('', () => process.exit(code));
}
