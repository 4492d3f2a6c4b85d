#!/usr/bin/env node
// The only place that touches process: signals in, exit code out. Everything else is in dist/src/cli/main.js.
import { main } from '../dist/src/cli/main.js';

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

const code = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});
// Let buffered output reach its pipe, then exit even if stdin or a timer still holds the loop.
process.stdout.write('', () => process.exit(code));
