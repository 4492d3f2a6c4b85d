import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Probe, quote } from './_probe.js';
import type { CheckDef, Outcome, ResolvedCheckOptions } from './types.js';

const GUIDE = 'workshop/README.md';

/**
 * How the chat checks reach the room. Each client connects, reads the welcome, and sends a name as its first
 * line (the workshop's step 14 takes it as the name; a server that names clients itself relays it as a message,
 * which is harmless). Checks then look for unique tokens in what the others receive, never for exact texts.
 */
export class ChatContext {
  readonly #open = new Set<Probe>();
  #joined = 0;
  /** Set once `greets` found no welcome: later joins stop waiting for one (each check fails for its own reason). */
  silent = false;
  constructor(readonly options: ResolvedCheckOptions) {}

  async join(): Promise<{ probe: Probe; welcome: Buffer }> {
    const probe = await Probe.open(this.options.host, this.options.port, this.options.timeoutMs);
    this.#open.add(probe);
    const welcome = this.silent ? Buffer.alloc(0) : await probe.reply(this.options.timeoutMs, this.options.quietMs);
    probe.write(`c${++this.#joined}\n`);
    await sleep(this.options.quietMs);
    probe.take();
    return { probe, welcome };
  }

  async room(n: number): Promise<Probe[]> {
    const members: Probe[] = [];
    // One after another: each join is announced to those already in, and taken before the check starts.
    for (let i = 0; i < n; i++) members.push((await this.join()).probe);
    await sleep(this.options.quietMs);
    for (const member of members) member.take();
    return members;
  }

  /** Waits until `probe` received a line containing `token` (and `quietMs` more); returns the lines with `mark`. */
  async linesWith(probe: Probe, token: string, mark = token): Promise<string[]> {
    await probe.until(() => probe.fresh.includes(token), this.options.timeoutMs);
    await sleep(this.options.quietMs);
    return probe
      .take()
      .toString('latin1')
      .split('\n')
      .filter((line) => line.includes(mark));
  }

  close(): void {
    for (const probe of this.#open) probe.destroy();
    this.#open.clear();
  }
}

type ChatCheck = CheckDef<ChatContext>;

const greets: ChatCheck = {
  name: 'greets',
  title: 'greets each client (asks its name)',
  hint: `greet a client as soon as it is accepted: chapter 14 of ${GUIDE}`,
  async run(c) {
    const { welcome } = await c.join();
    c.close();
    c.silent = welcome.length === 0;
    return { passed: welcome.length > 0, sent: 'nothing (connect only)', received: quote(welcome) };
  },
};

const relays: ChatCheck = {
  name: 'relays',
  title: "one client's line reaches every other client, and not its sender",
  hint: `send each line to every other member of the room, skipping the one who sent it: chapter 14 of ${GUIDE}`,
  async run(c) {
    const [a, b, d] = (await c.room(3)) as [Probe, Probe, Probe];
    a.write('zq-relay\n');
    const [atB, atD] = await Promise.all([c.linesWith(b, 'zq-relay'), c.linesWith(d, 'zq-relay')]);
    const echoed = a.fresh.includes('zq-relay'); // linesWith waited quietMs after the others got it
    c.close();
    const received = `second: ${quote(atB.join('\n'))}; third: ${quote(atD.join('\n'))}; sender: ${echoed ? 'got its own line back' : 'nothing'}`;
    return { passed: atB.length === 1 && atD.length === 1 && !echoed, sent: '"zq-relay\\n" from the first of 3 clients', received };
  },
};

const splitRead: ChatCheck = {
  name: 'split-read',
  title: 'a line sent one byte per segment is relayed as one line',
  hint: `a read is not a message: collect bytes and relay whole lines only: chapter 8 of ${GUIDE}`,
  async run(c) {
    const [a, b] = (await c.room(2)) as [Probe, Probe];
    const writing = (async () => {
      for (const byte of Buffer.from('zq-split\n')) {
        a.write(Buffer.of(byte));
        await sleep(10);
      }
    })();
    await writing;
    const lines = await c.linesWith(b, 'zq-split', 'z');
    c.close();
    return { passed: lines.length === 1 && lines[0]!.includes('zq-split'), sent: '"zq-split\\n", one byte per segment', received: `lines at another client: ${quote(lines.join('\n'))}` };
  },
};

const twoInOne: ChatCheck = {
  name: 'two-in-one',
  title: 'two lines in one segment are relayed as two lines',
  hint: `one read can hold several lines: relay each of them: chapter 8 of ${GUIDE}`,
  async run(c) {
    const [a, b] = (await c.room(2)) as [Probe, Probe];
    a.write('zq-one\nzq-two\n');
    const lines = await c.linesWith(b, 'zq-two', 'zq-');
    c.close();
    const ok = lines.length === 2 && lines[0]!.includes('zq-one') && lines[1]!.includes('zq-two');
    return { passed: ok, sent: '"zq-one\\nzq-two\\n" in one write', received: `lines at another client: ${quote(lines.join('\n'))}` };
  },
};

const manyClients: ChatCheck = {
  name: 'many-clients',
  title: 'a line reaches every one of many clients',
  hint: `keep every member in a collection and write to each (a closed one must not stop the loop): chapter 14 of ${GUIDE}`,
  async run(c) {
    const members = await c.room(c.options.clients);
    members[0]!.write('zq-all\n');
    const got = await Promise.all(members.slice(1).map((member) => c.linesWith(member, 'zq-all')));
    const reached = got.filter((lines) => lines.length === 1).length;
    c.close();
    return { passed: reached === members.length - 1, sent: `"zq-all\\n" from one of ${members.length} clients`, received: `${reached} of ${members.length - 1} others got it` };
  },
};

const quit: ChatCheck = {
  name: 'quit',
  title: '"quit" ends only its own session',
  hint: `on "quit" close that client only, tell the others, and keep relaying between them: chapter 14 of ${GUIDE}`,
  async run(c) {
    const [a, b, d] = (await c.room(3)) as [Probe, Probe, Probe];
    a.write('quit\n');
    const ended = await a.ended(c.options.timeoutMs);
    b.write('zq-after\n');
    const atD = await c.linesWith(d, 'zq-after');
    c.close();
    return { passed: ended && atD.length === 1, sent: '"quit\\n" from one client, then "zq-after\\n" from another', received: `first: ${ended ? `closed (${a.end})` : 'not closed'}; third got ${quote(atD.join('\n'))}` };
  },
};

const halfClose: ChatCheck = {
  name: 'half-close',
  title: 'a line sent just before FIN is relayed, then that client is closed',
  hint: `on end of input ('end', recv() == b''), relay what the client sent, then close it: chapter 9 of ${GUIDE}`,
  async run(c) {
    const [a, b] = (await c.room(2)) as [Probe, Probe];
    a.write('zq-fin\n');
    a.finish();
    const atB = await c.linesWith(b, 'zq-fin');
    const ended = await a.ended(c.options.timeoutMs);
    c.close();
    return { passed: atB.length === 1 && ended, sent: '"zq-fin\\n", then FIN', received: `another client got ${quote(atB.join('\n'))}; the sender was ${ended ? `closed (${a.end})` : 'never closed'}` };
  },
};

const slowReader: ChatCheck = {
  name: 'slow-reader',
  title: 'a member that never reads does not stall the room',
  hint: `never block the room on one member's send: wait for 'drain' per member, or drop a member whose output grows without bound: chapter 10 of ${GUIDE}`,
  async run(c) {
    const [slow, talker, listener] = (await c.room(3)) as [Probe, Probe, Probe];
    slow.socket.pause();
    const chunk = Buffer.from(`zq-bulk ${'x'.repeat(1015)}\n`.repeat(64));
    // Every line goes to two members, so the room's buffers toward the slow one fill at half the rate sent.
    const total = c.options.slowReaderBytes * 8;
    let sent = 0;
    const deadline = performance.now() + c.options.timeoutMs;
    listener.tailBytes = 8192; // it keeps reading, and forgets the bulk
    while (sent < total && performance.now() < deadline && !talker.socket.destroyed) {
      sent += chunk.length;
      if (talker.socket.write(chunk)) continue;
      if (!(await Promise.race([once(talker.socket, 'drain').then(() => true), sleep(300, false)]))) break;
    }
    talker.write('zq-last\n');
    const got = await c.linesWith(listener, 'zq-last');
    c.close();
    return { passed: got.length === 1, sent: `${sent} bytes of lines while one member never reads, then "zq-last\\n"`, received: `a reading member got ${quote(got.join('\n'))}` };
  },
};

const longLine: ChatCheck = {
  name: 'long-line',
  title: 'refuses an over-long line and the room goes on',
  hint: `bound what one client can make you buffer, say why and close that client; the server must not crash: chapter 10 of ${GUIDE}`,
  async run(c) {
    const [a, b, d] = (await c.room(3)) as [Probe, Probe, Probe];
    a.write(Buffer.alloc(c.options.longLineBytes, 'x'));
    const ended = await a.ended(c.options.timeoutMs);
    b.write('zq-still\n');
    const atD = await c.linesWith(d, 'zq-still');
    c.close();
    const outcome: Outcome = {
      passed: ended && atD.length === 1,
      sent: `${c.options.longLineBytes} bytes without a newline, then "zq-still\\n" from another client`,
      received: `sender: ${ended ? a.end : `no refusal within ${c.options.timeoutMs} ms`}; a third client got ${quote(atD.join('\n'))}`,
    };
    return outcome;
  },
};

export const CHAT_CHECKS: readonly ChatCheck[] = [greets, relays, splitRead, twoInOne, manyClients, quit, halfClose, slowReader, longLine];
