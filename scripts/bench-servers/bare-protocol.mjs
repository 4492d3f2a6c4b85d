// The message protocol of `socklab serve`, as bare as Node allows: a greeting line, then one "got message\n"
// per received line, no framing library, no limits, no logging. Shared by bare-tcp.mjs and bare-tls.mjs, so
// the two references differ only in their transport.
const greeting = Buffer.from('connected to server\n');
const reply = Buffer.from('got message\n');

/** Serves one accepted socket (node:net or node:tls). */
export function serveMessages(socket) {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  socket.write(greeting);
  socket.on('data', (chunk) => {
    let lines = 0;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
    if (lines === 1) socket.write(reply);
    else if (lines > 1) socket.write(Buffer.concat(Array(lines).fill(reply)));
  });
  socket.on('end', () => socket.end());
}
