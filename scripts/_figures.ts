/**
 * The workshop's figures, drawn as SVG from code so they can be reviewed as text and regenerated: the socket call
 * flow, the TCP states the workshop's runs pass through, one send read twice, the chat fan-out and the scaled-out
 * room. `npm run figures` writes them to docs/figures/; a test checks the committed files match.
 */

const FONT = 'font-family="ui-monospace, Menlo, Consolas, monospace" font-size="13"';
const INK = '#1f2937';
const ACCENT = '#2563eb';
const SOFT = '#e5edff';

function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function svg(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}">`,
    `<title>${escape(title)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">',
    `<path d="M0,0 L10,5 L0,10 z" fill="${INK}"/></marker></defs>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function text(x: number, y: number, label: string, options: { anchor?: 'start' | 'middle' | 'end'; bold?: boolean; color?: string } = {}): string {
  const weight = options.bold ? ' font-weight="bold"' : '';
  return `<text x="${x}" y="${y}" ${FONT} text-anchor="${options.anchor ?? 'middle'}" fill="${options.color ?? INK}"${weight}>${escape(label)}</text>`;
}

function box(x: number, y: number, w: number, h: number, label: string, fill = SOFT): string {
  return [`<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="6" fill="${fill}" stroke="${INK}"/>`, text(x + w / 2, y + h / 2 + 4, label)].join('\n');
}

function arrow(x1: number, y1: number, x2: number, y2: number, label = '', dashed = false): string {
  const dash = dashed ? ' stroke-dasharray="5 4"' : '';
  const line = `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${INK}" stroke-width="1.4" marker-end="url(#arrow)"${dash}/>`;
  return label ? `${line}\n${text((x1 + x2) / 2, (y1 + y2) / 2 - 6, label, { color: ACCENT })}` : line;
}

/** A column of calls, top to bottom, joined by arrows; returns the y of each box's middle. */
function column(x: number, top: number, calls: string[], body: string[], width = 150): number[] {
  const mids: number[] = [];
  calls.forEach((call, i) => {
    const y = top + i * 52;
    body.push(box(x, y, width, 32, call));
    if (i > 0) body.push(arrow(x + width / 2, y - 20, x + width / 2, y));
    mids.push(y + 16);
  });
  return mids;
}

function socketCalls(): string {
  const body: string[] = [text(225, 24, 'TCP', { bold: true }), text(685, 24, 'UDP', { bold: true })];
  body.push(text(90, 48, 'server'), text(360, 48, 'client'));
  const server = column(15, 60, ['socket()', 'bind()', 'listen()', 'accept()', 'recv()', 'send()', 'close()'], body);
  const client = column(285, 164, ['socket()', 'connect()', 'send()', 'recv()', 'close()'], body);
  body.push(arrow(285, client[1]!, 165, server[3]!, 'handshake', true));
  body.push(arrow(285, client[2]!, 165, server[4]!, 'bytes', true));
  body.push(arrow(165, server[5]!, 285, client[3]!, 'bytes', true));
  body.push(arrow(285, client[4]!, 165, server[6]!, 'FIN', true));
  body.push(text(15, 446, 'accept() returns a new socket per client', { color: ACCENT, anchor: 'start' }));
  body.push(text(575, 48, 'server'), text(795, 48, 'client'));
  const userver = column(500, 60, ['socket()', 'bind()', 'recvfrom()', 'sendto()', 'close()'], body);
  const uclient = column(720, 112, ['socket()', 'sendto()', 'recvfrom()', 'close()'], body);
  body.push(arrow(720, uclient[1]!, 650, userver[2]!, 'datagram', true));
  body.push(arrow(650, userver[3]!, 720, uclient[2]!, 'datagram', true));
  body.push(text(685, 360, 'no connection: each datagram', { color: ACCENT }), text(685, 378, 'carries its address', { color: ACCENT }));
  return svg(885, 470, 'Socket call flow: a TCP server and client, a UDP server and client', body);
}

function tcpStates(): string {
  const at: Record<string, [number, number]> = {
    CLOSED: [330, 30],
    LISTEN: [120, 120],
    'SYN-SENT': [540, 120],
    'SYN-RECEIVED': [120, 210],
    ESTABLISHED: [330, 210],
    'FIN-WAIT-1': [120, 320],
    'CLOSE-WAIT': [540, 320],
    'FIN-WAIT-2': [120, 410],
    'LAST-ACK': [540, 410],
    'TIME-WAIT': [120, 500],
  };
  const w = 140;
  const h = 34;
  const body: string[] = [];
  for (const [name, [x, y]] of Object.entries(at)) body.push(box(x, y, w, h, name, name === 'ESTABLISHED' ? '#d1fae5' : SOFT));
  const edge = (from: string, to: string, label: string, fromSide: 'b' | 't' | 'l' | 'r', toSide: 'b' | 't' | 'l' | 'r'): void => {
    const point = (name: string, side: string): [number, number] => {
      const [x, y] = at[name]!;
      return side === 'b' ? [x + w / 2, y + h] : side === 't' ? [x + w / 2, y] : side === 'l' ? [x, y + h / 2] : [x + w, y + h / 2];
    };
    const [x1, y1] = point(from, fromSide);
    const [x2, y2] = point(to, toSide);
    body.push(arrow(x1, y1, x2, y2, label));
  };
  edge('CLOSED', 'LISTEN', 'listen()', 'l', 't');
  edge('CLOSED', 'SYN-SENT', 'connect(): SYN', 'r', 't');
  edge('LISTEN', 'SYN-RECEIVED', 'SYN in: SYN-ACK', 'b', 't');
  edge('SYN-RECEIVED', 'ESTABLISHED', 'ACK in', 'r', 'l');
  edge('SYN-SENT', 'ESTABLISHED', 'SYN-ACK in: ACK', 'b', 'r');
  edge('ESTABLISHED', 'FIN-WAIT-1', 'close(): FIN', 'b', 'r');
  edge('ESTABLISHED', 'CLOSE-WAIT', 'FIN in: ACK', 'b', 'l');
  edge('FIN-WAIT-1', 'FIN-WAIT-2', 'ACK in', 'b', 't');
  edge('CLOSE-WAIT', 'LAST-ACK', 'close(): FIN', 'b', 't');
  edge('FIN-WAIT-2', 'TIME-WAIT', 'FIN in: ACK', 'b', 't');
  body.push(arrow(610, 444, 610, 560), text(615, 578, 'ACK in: CLOSED', { color: ACCENT }));
  body.push(arrow(260, 517, 380, 517), text(385, 521, 'after 2 MSL (60 s on Linux): CLOSED', { color: ACCENT, anchor: 'start' }));
  body.push(text(20, 610, 'active close: the side that closes first (waits in TIME-WAIT)', { anchor: 'start' }));
  body.push(text(20, 630, 'passive close: the side that got the FIN (CLOSE-WAIT until its program closes)', { anchor: 'start' }));
  return svg(720, 650, 'TCP states a connection passes through, as ss -tan names them', body);
}

function framing(): string {
  const body: string[] = [text(360, 24, 'TCP keeps the bytes, not the boundaries', { bold: true })];
  body.push(text(20, 62, 'send()', { anchor: 'start' }), box(110, 44, 560, 30, 'hello\\nhow are you\\n'));
  const cells = [...'hello\nhow are you\n'].map((char) => (char === '\n' ? '\\n' : char));
  body.push(text(20, 132, 'bytes', { anchor: 'start' }));
  const cell = 560 / cells.length;
  cells.forEach((char, i) => body.push(`<rect x="${110 + i * cell}" y="114" width="${cell}" height="26" fill="#ffffff" stroke="#9ca3af"/>`, text(110 + i * cell + cell / 2, 132, char)));
  const cut = 110 + 9 * cell;
  body.push(`<line x1="${cut}" y1="104" x2="${cut}" y2="150" stroke="#dc2626" stroke-width="2" stroke-dasharray="4 3"/>`);
  body.push(text(20, 202, 'recv() #1', { anchor: 'start' }), box(110, 184, cut - 110 - 4, 30, 'hello\\nhow'));
  body.push(text(20, 252, 'recv() #2', { anchor: 'start' }), box(cut + 4, 234, 670 - cut - 4, 30, ' are you\\n'));
  body.push(text(360, 300, 'a read is not a message: keep what is left after the last \\n and wait for more', { color: ACCENT }));
  return svg(720, 320, 'One send, two reads: a message boundary is wherever the reads fall', body);
}

function chatFanout(): string {
  const body: string[] = [box(300, 150, 160, 44, 'chat server', '#d1fae5')];
  body.push(box(40, 40, 120, 34, 'alice'), box(40, 270, 120, 34, 'bob'), box(600, 40, 120, 34, 'carol'), box(600, 270, 120, 34, 'dave'));
  body.push(arrow(160, 64, 300, 160, '"hi all"'));
  body.push(arrow(300, 190, 160, 280, '[alice] hi all'), arrow(460, 160, 600, 64, '[alice] hi all'), arrow(460, 190, 600, 280, '[alice] hi all'));
  body.push(text(380, 340, 'one read from alice, one write to every other member; a member that does not read', { color: ACCENT }));
  body.push(text(380, 358, 'must not hold up the rest (bound its queue, or drop it)', { color: ACCENT }));
  return svg(760, 380, 'Chat fan-out: one message in, one copy out to every other client', body);
}

function scaledRoom(): string {
  const body: string[] = [box(270, 30, 220, 44, 'shared state (Redis)', '#fef3c7')];
  body.push(box(110, 150, 180, 40, 'instance 1 :12345', '#d1fae5'), box(470, 150, 180, 40, 'instance 2 :12346', '#d1fae5'));
  body.push(arrow(230, 150, 320, 74, 'publish'), arrow(440, 74, 530, 150, 'deliver'));
  body.push(box(40, 260, 110, 32, 'alice'), box(180, 260, 110, 32, 'erin'), box(470, 260, 110, 32, 'bob'), box(610, 260, 110, 32, 'frank'));
  body.push(arrow(95, 260, 160, 190), arrow(235, 260, 210, 190), arrow(525, 260, 540, 190), arrow(665, 260, 600, 190));
  body.push(text(380, 330, 'each instance fans out to its own clients; the shared state carries each message', { color: ACCENT }));
  body.push(text(380, 348, '(and who is in the room) to every other instance, both ways', { color: ACCENT }));
  return svg(760, 370, 'One room over many processes: instances joined by a shared state', body);
}

/** Every figure by file name. */
export function renderFigures(): Map<string, string> {
  return new Map([
    ['socket-calls.svg', socketCalls()],
    ['tcp-states.svg', tcpStates()],
    ['framing.svg', framing()],
    ['chat-fanout.svg', chatFanout()],
    ['scaled-room.svg', scaledRoom()],
  ]);
}
