/** The protocols `socklab check` grades: the workshop's servers, whatever language they are written in. */
export type CheckProtocol = 'greeting' | 'sequential' | 'concurrent' | 'chat' | 'udp-counter' | 'echo';

export const CHECK_PROTOCOLS: readonly CheckProtocol[] = ['greeting', 'sequential', 'concurrent', 'chat', 'udp-counter', 'echo'];

/** One property of a server, checked once. */
export interface CheckResult {
  /** Stable name, for `--only` and grading scripts: `split-read`, `many-clients`, … */
  name: string;
  /** What the property is, in words. */
  title: string;
  passed: boolean;
  /** What the check sent, shortened. */
  sent: string;
  /** What came back (or did not), shortened. */
  received: string;
  /** On failure: why it matters and the workshop chapter that explains it; empty when passed. */
  hint: string;
  ms: number;
}

/** What {@link runChecks} found: every check's result, and `passed` when all of them passed. */
export interface CheckReport {
  protocol: CheckProtocol;
  target: string;
  passed: boolean;
  checks: CheckResult[];
}

/** The server to check and how hard: see {@link runChecks}. */
export interface CheckOptions {
  protocol: CheckProtocol;
  /** @default '127.0.0.1' */
  host?: string;
  port: number;
  /** Longest any one wait may take (a reply, a connect, a close). @default 3000 */
  timeoutMs?: number;
  /** Silence after which a reply counts as complete. @default 150 */
  quietMs?: number;
  /** Clients at once in `many-clients`. @default 20 */
  clients?: number;
  /** Size of the line without end in `long-line`. @default 1048576 */
  longLineBytes?: number;
  /**
   * Most a client that never reads sends in `slow-reader`, as `x\n` lines: 1 MiB asks for ~6.3 MB of 12-byte
   * replies, more than Linux's loopback buffers hold (~4.3 MB), so a server that blocks on that one client's
   * send does block (chat: eight times this, in 1 KiB lines). @default 1048576
   */
  slowReaderBytes?: number;
  /**
   * The server serves one client and exits (the workshop's steps 2 and 3, the seed's server2.py and
   * server3.py): the checks that fit run in turn on that one connection. @default false
   */
  oneClient?: boolean;
  /** Run only these checks (by name). @default every check of the protocol */
  only?: readonly string[];
  signal?: AbortSignal;
}

/** What a check found; the runner adds the name, title, hint and time. */
export interface Outcome {
  passed: boolean;
  sent: string;
  received: string;
  /** Replaces the check's standing hint when the failure has a more precise cause. */
  why?: string;
}

/** One named check over a context (a way to reach the server). */
export interface CheckDef<C> {
  name: string;
  title: string;
  /** Why it matters and where the workshop explains it. */
  hint: string;
  run(context: C): Promise<Outcome>;
}

export interface ResolvedCheckOptions {
  host: string;
  port: number;
  timeoutMs: number;
  quietMs: number;
  clients: number;
  longLineBytes: number;
  slowReaderBytes: number;
  oneClient: boolean;
}
