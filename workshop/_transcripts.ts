/**
 * Runs the workshop's steps the way a student would, in "terminals", and records what each terminal shows:
 * the command, its output, and what was typed, in order. The guide's "Run it" blocks are these recordings;
 * the workshop test re-runs every scenario and compares, so the guide cannot drift from the code.
 */
import { Child, ROOT } from '../test/helpers/processes.js';

const STEPS = 'dist/workshop/steps/';

/** One terminal: a sequence of commands, each a child process, and the text the terminal shows. */
export class Terminal {
  text = '';
  #child: Child | undefined;
  #stepsRun: Set<string>;

  constructor(stepsRun: Set<string>) {
    this.#stepsRun = stepsRun;
  }

  /** Starts a command. `display` is what the student types; `command`/`args` what actually runs. */
  start(display: string, command: string, args: string[]): this {
    this.text += `$ ${display}\n`;
    const child = new Child(command, args, ROOT);
    for (const stream of [child.proc.stdout, child.proc.stderr]) stream.on('data', (text: string) => (this.text += text));
    this.#child = child;
    for (const arg of args) if (arg.startsWith(STEPS)) this.#stepsRun.add(arg.slice(STEPS.length).replace(/\.js$/, ''));
    return this;
  }

  /** Runs `node dist/workshop/steps/<step>.js args…`. */
  step(step: string, args: string[] = [], shown: string[] = args): this {
    return this.start(['node', `${STEPS}${step}.js`, ...shown].join(' '), process.execPath, [`${STEPS}${step}.js`, ...args]);
  }

  /** Runs `npx socklab args…` (the CLI from this checkout). */
  socklab(args: string[], shown: string[] = args): this {
    return this.start(['npx socklab', ...shown].join(' '), process.execPath, ['bin/socklab.cjs', ...args]);
  }

  get child(): Child {
    if (!this.#child) throw new Error('no command started in this terminal');
    return this.#child;
  }

  /** Types a line (echoed, as a terminal does). */
  type(line: string): this {
    this.text += `${line}\n`;
    this.child.input(`${line}\n`);
    return this;
  }

  /** Ctrl-D: ends the command's input (terminals show nothing for it). */
  eof(): this {
    this.child.proc.stdin.end();
    return this;
  }

  /** Waits until the output of the current command matches. */
  async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    return this.child.waitFor(pattern, 10_000);
  }

  /** Waits for the current command to exit by itself. */
  async exited(): Promise<void> {
    const { code, signal } = await this.child.finish(15_000);
    if (signal !== null) throw new Error(`${this.text}\n… was killed by ${signal}`);
    if (code !== 0 && code !== 1) throw new Error(`${this.text}\n… exited with ${code}`);
  }

  /** Ctrl-C: interrupts the current command and shows ^C. */
  async interrupt(): Promise<void> {
    if (this.child.running) {
      this.text += '^C\n';
      this.child.proc.kill('SIGINT');
    }
    await this.child.finish(10_000);
  }

  /** Ends whatever still runs (cleanup, not shown). */
  async kill(): Promise<void> {
    if (this.#child?.running) await this.#child.stop('SIGKILL');
  }
}

/** A scenario's terminals, by name, and the server port to show as 12345. */
export class Session {
  readonly terminals = new Map<string, Terminal>();
  readonly stepsRun = new Set<string>();
  port = 0;

  terminal(name: string): Terminal {
    const terminal = new Terminal(this.stepsRun);
    this.terminals.set(name, terminal);
    return terminal;
  }

  /** Starts a server in a terminal, waits for its `listening on …:port` line and remembers the port. */
  async server(terminal: Terminal): Promise<number> {
    const [, port] = await terminal.waitFor(/listening on (?:udp )?\S+:(\d+)/);
    this.port = Number(port);
    return this.port;
  }

  async close(): Promise<void> {
    await Promise.all([...this.terminals.values()].map((terminal) => terminal.kill()));
  }
}

/**
 * Makes a run's text comparable with any other run's: the server's port is shown as 12345, other ports after
 * an address become 50001, 50002, … in order of first appearance.
 */
export function normalise(text: string, serverPort: number): string {
  let result = serverPort > 0 ? text.replace(new RegExp(`\\b${serverPort}\\b`, 'g'), '12345') : text;
  const seen = new Map<string, string>();
  result = result.replace(/(\d{1,3}(?:\.\d{1,3}){3}|\]):(\d{4,5})\b/g, (whole, prefix: string, port: string) => {
    if (port === '12345') return whole;
    if (!seen.has(port)) seen.set(port, String(50_001 + seen.size));
    return `${prefix}:${seen.get(port)}`;
  });
  // Process ids (socklab serve --exec logs them) differ on every run.
  return result.replace(/\(pid \d+\)/g, '(pid 4242)');
}

/** Timings differ from run to run: compare them as `# ms`. */
export function comparable(text: string): string {
  return text.replace(/\d+(?:\.\d+)? ms\b/g, '# ms');
}

/** One recorded "Run it" session of the guide: the terminals it drives, and how its transcripts compare. */
export interface Scenario {
  id: string;
  run(session: Session): Promise<void>;
  /** Makes a transcript comparable when `comparable` (ports, `# ms`) is not enough: timing figures. */
  shape?(text: string): string;
  /** Checks what a transcript compared by `shape` cannot: its figures' ranges (throws). */
  check?(transcripts: Map<string, string>): void;
}
