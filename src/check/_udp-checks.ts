import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { quote } from './_probe.js';
import type { CheckDef, ResolvedCheckOptions } from './types.js';

const GUIDE = 'workshop/README.md';

/** A UDP socket of the check's own, with every datagram it received and any ICMP error (refused). */
class UdpProbe {
  readonly replies: Buffer[] = [];
  refused = false;
  private constructor(readonly socket: Socket) {
    socket.on('message', (data) => this.replies.push(data));
    // A connected UDP socket learns of an ICMP port unreachable as ECONNREFUSED: nothing listens there.
    socket.on('error', () => (this.refused = true));
  }

  static async open(options: ResolvedCheckOptions): Promise<UdpProbe> {
    const socket = createSocket(isIPv6(options.host) ? 'udp6' : 'udp4');
    socket.connect(options.port, options.host);
    await once(socket, 'connect');
    return new UdpProbe(socket);
  }

  send(text: string | Buffer): void {
    this.socket.send(text);
  }

  /** Waits until `n` replies arrived or `timeoutMs` passed, then `quietMs` more for any extra. */
  async await(n: number, timeoutMs: number, quietMs: number): Promise<Buffer[]> {
    const deadline = performance.now() + timeoutMs;
    while (this.replies.length < n && !this.refused && performance.now() < deadline) await sleep(10);
    await sleep(quietMs);
    return this.replies;
  }

  close(): void {
    this.socket.close();
  }
}

/** The first whole number in a reply ("7", "7\n", "get 7", "value: 7"), or NaN. */
export function counterValue(reply: Buffer): number {
  const match = /\d+/.exec(reply.toString('latin1'));
  return match ? Number(match[0]) : Number.NaN;
}

const shown = (replies: Buffer[]): string => (replies.length === 0 ? 'no reply' : replies.map((reply) => quote(reply, 20)).join(', '));

type UdpCheck = CheckDef<ResolvedCheckOptions>;

/** A server may wait before it answers (the workshop's waits 500 ms), so every wait allows for that. */
const answersOnce: UdpCheck = {
  name: 'answers-once',
  title: 'answers every "get" exactly once',
  hint: `reply once per datagram, to the address it came from (rinfo / recvfrom's address): chapter 11 of ${GUIDE}`,
  async run(o) {
    const probe = await UdpProbe.open(o);
    for (let i = 0; i < 3; i++) probe.send('get');
    const replies = await probe.await(3, o.timeoutMs, 300);
    probe.close();
    return {
      passed: replies.length === 3,
      sent: '3 × "get" from one port',
      received: probe.refused ? 'refused: ECONNREFUSED (an ICMP port unreachable: nothing listens on that port)' : shown(replies),
    };
  },
};

const increasing: UdpCheck = {
  name: 'unique-increasing',
  title: 'values are unique and increase, get after get',
  hint: `take the next value when the get arrives (not when the reply leaves), so two gets never share one: chapter 11 of ${GUIDE}`,
  async run(o) {
    const probe = await UdpProbe.open(o);
    for (let i = 0; i < 4; i++) {
      probe.send('get');
      await probe.await(i + 1, o.timeoutMs, 0);
    }
    probe.close();
    const values = probe.replies.map(counterValue);
    const ok = values.length === 4 && values.every((value, i) => Number.isInteger(value) && (i === 0 || value > values[i - 1]!));
    return { passed: ok, sent: '4 × "get", each after the previous reply', received: shown(probe.replies) };
  },
};

const manyPorts: UdpCheck = {
  name: 'many-ports',
  title: 'answers datagrams from many ports, each to its sender, with values no two share',
  hint: `answer each datagram to its own sender's address and port, and take a fresh value for each: chapter 11 of ${GUIDE}`,
  async run(o) {
    const n = Math.min(o.clients, 20);
    const probes = await Promise.all(Array.from({ length: n }, () => UdpProbe.open(o)));
    for (const probe of probes) probe.send('get');
    await Promise.all(probes.map((probe) => probe.await(1, o.timeoutMs, 0)));
    await sleep(300);
    for (const probe of probes) probe.close();
    const answered = probes.filter((probe) => probe.replies.length === 1);
    const values = new Set(answered.map((probe) => counterValue(probe.replies[0]!)));
    return {
      passed: answered.length === n && values.size === n,
      sent: `"get" from ${n} sockets (ports) at once`,
      received: `${answered.length} of ${n} got exactly one reply; ${values.size} distinct values`,
    };
  },
};

const ignoresGarbage: UdpCheck = {
  name: 'ignores-garbage',
  title: 'ignores datagrams that are not "get", and keeps counting',
  hint: `check what arrived before acting on it; anything but "get" gets no value and no crash: chapter 12 of ${GUIDE}`,
  async run(o) {
    const probe = await UdpProbe.open(o);
    for (const junk of [Buffer.from('hello'), Buffer.alloc(0), Buffer.from([0xff, 0x00, 0xfe]), Buffer.alloc(1400, 'g')]) probe.send(junk);
    const junkReplies = [...(await probe.await(1, 1200, 0))];
    probe.send('get');
    const after = await probe.await(junkReplies.length + 1, o.timeoutMs, 300);
    probe.close();
    const answered = after.slice(junkReplies.length);
    return {
      passed: junkReplies.length === 0 && answered.length === 1,
      sent: '"hello", an empty datagram, 3 bytes of binary, 1400 × "g"; then "get"',
      received: `to the junk: ${shown(junkReplies)}; to the get: ${shown(answered)}`,
    };
  },
};

export const UDP_CHECKS: readonly UdpCheck[] = [answersOnce, increasing, manyPorts, ignoresGarbage];
