import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { quote, type Probe } from './_probe.js';
import { MESSAGE, QUIT, StreamContext, about } from './_stream-context.js';
import type { CheckDef, Outcome } from './types.js';

type StreamCheck = CheckDef<StreamContext>;

const GUIDE = 'workshop/README.md';

const greets: StreamCheck = {
  name: 'greets',
  title: 'greets each client before it sends anything',
  hint: `send the greeting as soon as the client is accepted, and really send it (the seed's async server never awaits its sock_sendall): chapter 4 of ${GUIDE}`,
  async run(c) {
    const probe = await c.open();
    const greeting = c.greeting;
    c.silent = greeting.length === 0;
    await c.release(probe);
    return { passed: greeting.length > 0, sent: 'nothing (connect only)', received: quote(greeting) };
  },
};

const closes: StreamCheck = {
  name: 'closes',
  title: 'closes the connection after the greeting',
  hint: `end the connection once the greeting is sent (end(data) sends it, then FIN): chapter 4 of ${GUIDE}`,
  async run(c) {
    const probe = await c.open();
    const ended = await probe.ended(c.options.timeoutMs);
    return { passed: ended, sent: 'nothing', received: `${quote(c.greeting)}, then ${ended ? probe.end : `no close within ${c.options.timeoutMs} ms`}` };
  },
};

const answers: StreamCheck = {
  name: 'answers',
  title: 'answers a message with a line',
  hint: `answer every line the client sends: chapter 5 of ${GUIDE}`,
  async run(c) {
    const probe = await c.open();
    const reply = await c.ask(probe);
    await c.release(probe);
    const line = reply.length > 0 && reply.at(-1) === 0x0a;
    return {
      passed: line,
      sent: quote(MESSAGE),
      received: reply.length > 0 ? quote(reply) : `nothing within ${c.options.timeoutMs} ms`,
      // The seed's replies have no newline: its client copes only by taking one recv() as one reply.
      ...(reply.length > 0 && !line ? { why: `end each reply with a newline too, or a client cannot tell where one reply ends and the next begins: chapter 8 of ${GUIDE}` } : {}),
    };
  },
};

/** Sends one message whole and once cut into one-byte segments; the answers must be the same size. */
const splitRead: StreamCheck = {
  name: 'split-read',
  title: 'survives one byte per segment (a message split over many reads)',
  hint: `a read is not a message: collect bytes and cut messages at the newline, never take one recv() as one message (the seed's async server does): chapter 8 of ${GUIDE}`,
  async run(c) {
    const probe = await c.open();
    const whole = await c.ask(probe);
    // 10 ms apart, three times: a server descheduled for longer may read several bytes at once in one round,
    // but a server that takes each read as a message shows it in at least one.
    let split: Buffer = Buffer.alloc(0);
    let rounds = 0;
    for (; rounds < 3; rounds++) {
      await probe.writeBytewise(MESSAGE, 10);
      split = await probe.reply(c.options.timeoutMs, c.options.quietMs);
      if (!about(split.length, whole.length, 1)) break;
    }
    await c.release(probe);
    return {
      passed: rounds === 3,
      sent: `${quote(MESSAGE)} whole, then one byte per segment (up to 3 times)`,
      received: `${quote(whole)} to the whole message, ${quote(split)} to the split one`,
    };
  },
};

const twoInOne: StreamCheck = {
  name: 'two-in-one',
  title: 'answers both of two messages that arrive in one segment',
  hint: `one read can hold several messages: answer each line in the buffer, not just the first: chapter 8 of ${GUIDE}`,
  async run(c) {
    const probe = await c.open();
    const whole = await c.ask(probe);
    const both = await c.ask(probe, MESSAGE + MESSAGE);
    await c.release(probe);
    return {
      passed: about(both.length, whole.length, 2),
      sent: `${quote(MESSAGE)}, then ${quote(MESSAGE + MESSAGE)} in one write`,
      received: `${quote(whole)} to one, ${quote(both)} to the two`,
    };
  },
};

/** A half-close: the client sends, then FIN; the answers are still owed and must come before the server's close. */
const halfClose: StreamCheck = {
  name: 'half-close',
  title: 'answers what was sent before a half-close, then closes',
  hint: `when recv() returns b'' (Node: 'end'), answer what is owed, then close; do not loop on a closed socket: chapter 9 of ${GUIDE}`,
  async run(c) {
    const probe = await c.open();
    const whole = await c.ask(probe);
    probe.write(MESSAGE + MESSAGE);
    probe.finish();
    const ended = await probe.ended(c.options.timeoutMs);
    const after = probe.take();
    return {
      passed: ended && about(after.length, whole.length, 2),
      sent: `${quote(MESSAGE + MESSAGE)}, then FIN`,
      received: `${quote(after)}, then ${ended ? probe.end : `no close within ${c.options.timeoutMs} ms`}`,
    };
  },
};

/** In one-client mode the session ends with this; otherwise a second client must not be affected. */
const quit: StreamCheck = {
  name: 'quit',
  title: '"quit" ends only its own session',
  hint: `on "quit" close that client's connection, and only that one; compare the whole line (the seed's 'quit' in message also ends on "quite"): chapter 5 of ${GUIDE}`,
  async run(c) {
    if (c.options.oneClient) {
      const probe = await c.open();
      probe.write(QUIT);
      const ended = await probe.ended(c.options.timeoutMs);
      return { passed: ended, sent: quote(QUIT), received: `${quote(probe.take())}, then ${ended ? probe.end : 'no close'}` };
    }
    const first = await c.open();
    const second = c.sequential ? await c.connect() : await c.open();
    first.write(QUIT);
    const ended = await first.ended(c.options.timeoutMs);
    first.finish(); // our FIN too, or the server's socket waits for it before the next client's turn
    if (c.sequential) await second.reply(c.options.timeoutMs, c.options.quietMs); // its greeting, now that it is served
    const reply = await c.ask(second);
    const fine = reply.length > 0 && second.end === 'open';
    await c.releaseAll();
    return {
      passed: ended && fine,
      sent: `${quote(QUIT)} from the first client, then ${quote(MESSAGE)} from a second`,
      received: `first: ${ended ? `closed (${first.end})` : 'not closed'}; second: ${fine ? quote(reply) : `${quote(reply)}, ${second.end}`}`,
    };
  },
};

const manyAtOnce: StreamCheck = {
  name: 'many-clients',
  title: 'serves many clients at once',
  hint: `serve each client on its own (a handler per connection in Node, a task in asyncio, a thread in Java), with a listen backlog well above 8: chapter 7 of ${GUIDE}`,
  async run(c) {
    const n = c.options.clients;
    const probes = await Promise.all(Array.from({ length: n }, () => c.open().catch(() => undefined)));
    const replies = await Promise.all(probes.map((probe) => (probe ? c.ask(probe) : Promise.resolve(Buffer.alloc(0)))));
    const served = replies.filter((reply) => reply.length > 0).length;
    await c.releaseAll();
    return { passed: served === n, sent: `${n} clients connected at once, each sent ${quote(MESSAGE)}`, received: `${served} of ${n} answered while all were connected` };
  },
};

/** Sequential: all connect at once; exactly one is served at a time, the next when it leaves, and none is lost. */
const manyInTurn: StreamCheck = {
  name: 'many-clients',
  title: 'serves many waiting clients in turn, one at a time',
  hint: `serve one client, and when it leaves accept the next; keep the listen backlog above the clients waiting: chapter 7 of ${GUIDE}`,
  async run(c) {
    const n = c.options.clients;
    const probes = (await Promise.all(Array.from({ length: n }, () => c.connect().catch(() => undefined)))).filter((p): p is Probe => p !== undefined);
    let served = 0;
    let overlap = false;
    const waiting = new Set(probes);
    while (waiting.size > 0) {
      const greeted = (): Probe[] => [...waiting].filter((probe) => probe.fresh.length > 0);
      const first = await Promise.race([...waiting].map(async (probe) => ((await probe.until(() => probe.fresh.length > 0, c.options.timeoutMs)) ? probe : undefined)));
      if (!first) break;
      await sleep(c.options.quietMs);
      if (greeted().length > 1) overlap = true;
      first.take();
      if ((await c.ask(first)).length > 0) served++;
      waiting.delete(first);
      await c.release(first);
    }
    await c.releaseAll();
    return {
      passed: served === n && !overlap,
      sent: `${n} clients connected at once; each, when greeted, sent ${quote(MESSAGE)} then ${quote(QUIT)}`,
      received: `${served} of ${n} served${overlap ? ', some at the same time' : ', one at a time'}`,
      ...(overlap && served === n ? { why: `a sequential server greets the next client only when the current one left: chapter 7 of ${GUIDE}` } : {}),
    };
  },
};

/** A client that sends and never reads: once its buffers are full, the server must go on serving the others. */
const slowReader: StreamCheck = {
  name: 'slow-reader',
  title: 'a client that never reads does not stall the others',
  hint: `never block the whole server on one client's send: in an event loop wait for writability (Node: 'drain', asyncio: await drain()), or use a thread per client: chapter 10 of ${GUIDE}`,
  async run(c) {
    const slow = await c.open();
    slow.socket.pause(); // stop reading: the kernel's buffers fill, then its window closes
    // Shortest messages: the most replies per byte sent, so the server's side fills first.
    const chunk = Buffer.from('x\n'.repeat(16_384));
    let sent = 0;
    const deadline = performance.now() + c.options.timeoutMs;
    while (sent < c.options.slowReaderBytes && performance.now() < deadline && !slow.socket.destroyed) {
      sent += chunk.length;
      if (slow.socket.write(chunk)) continue;
      const drained = await Promise.race([once(slow.socket, 'drain').then(() => true), sleep(300, false)]);
      if (!drained) break; // the server stopped reading us: blocked in its send, or pausing us, which is fine
    }
    // A server that blocks on our full buffers gets stuck only once it has worked through what it already read,
    // which a busy machine makes slow: so the other client asks several times over a few seconds.
    let reply: Buffer = Buffer.alloc(0);
    let greeting: Buffer = Buffer.alloc(0);
    let answered = 0;
    const asks = 4;
    try {
      const other = await c.open();
      greeting = c.greeting;
      for (let i = 0; i < asks; i++) {
        other.write(MESSAGE);
        // Twice the usual wait: a server that logs every message may still be busy with the flood, not stuck.
        reply = await other.reply(c.options.timeoutMs * 2, c.options.quietMs);
        if (reply.length === 0) break;
        answered++;
        await sleep(Math.min(500, c.options.timeoutMs / 6));
      }
    } catch {
      // no connection at all is the same verdict: not served
    }
    slow.destroy();
    await c.releaseAll();
    return {
      passed: answered === asks,
      sent: `${sent} bytes of "x\\n" lines from a client that never reads, then ${asks} × ${quote(MESSAGE)} from another, 0.5 s apart`,
      received: `the other client got ${c.greets ? `${quote(greeting)}, then ` : ''}${answered} of ${asks} answers`,
    };
  },
};

/** A line that never ends: the server must refuse it (close that connection) and stay up for the next client. */
const longLine: StreamCheck = {
  name: 'long-line',
  title: 'refuses an over-long line and keeps serving',
  hint: `bound what one client can make you buffer (64 KiB is plenty for a line), say why and close that connection; the server itself must not crash: chapter 10 of ${GUIDE}`,
  async run(c) {
    const probe = await c.open();
    // One ordinary line first: a server that guesses the framing from the first bytes (socklab's `auto`) now knows.
    await c.ask(probe);
    probe.write(Buffer.alloc(c.options.longLineBytes, 'x'));
    const ended = await probe.ended(c.options.timeoutMs);
    const said = probe.take();
    if (!ended) probe.destroy();
    await c.release(probe);
    let next: Outcome['received'] = 'no connection';
    let nextOk = false;
    try {
      const other = await c.open();
      const reply = await c.ask(other);
      nextOk = reply.length > 0;
      next = quote(reply);
    } catch (err) {
      next = (err as NodeJS.ErrnoException).code ?? String(err);
    }
    await c.releaseAll();
    return {
      passed: ended && nextOk,
      sent: `${c.options.longLineBytes} bytes without a newline, then ${quote(MESSAGE)} from a new client`,
      received: `${ended ? `${quote(said)}, then ${probe.end}` : `no refusal within ${c.options.timeoutMs} ms`}; the new client got ${next}`,
    };
  },
};

/** The checks of each line protocol, in the order they run. */
export function streamChecks(protocol: 'greeting' | 'sequential' | 'concurrent' | 'echo', oneClient: boolean): StreamCheck[] {
  if (protocol === 'greeting') return [greets, closes];
  if (oneClient) return [greets, answers, twoInOne, splitRead, quit];
  if (protocol === 'sequential') return [greets, answers, splitRead, twoInOne, manyInTurn, quit, halfClose, longLine];
  // An echo server returns bytes, not lines: a long line is echoed, not refused.
  if (protocol === 'echo') return [answers, splitRead, twoInOne, manyAtOnce, halfClose, slowReader];
  return [greets, answers, splitRead, twoInOne, manyAtOnce, quit, halfClose, slowReader, longLine];
}
