import { toSocketPath } from '../../unix/socket-path.js';
import { BatchedFileWriter } from '../../trace/batched-file-writer.js';
import { LOG_FORMATS, SessionTracer, type LogFormat, type TraceSink } from '../../trace/session-trace.js';
import { usageError, type Io, type OptionSpec } from '../command.js';

/** `--json`, which every command takes. */
export const JSON_FLAG = {
  json: { type: 'boolean', description: 'One JSON object per event on stdout (schema: docs/json-events.md); human text goes to stderr' },
} as const satisfies Record<string, OptionSpec>;

/** `--unix PATH`: a UNIX domain socket instead of a TCP host and port. */
export const UNIX_FLAG = {
  unix: { type: 'string', short: 'U', placeholder: 'path', description: 'Use the UNIX domain socket at this path instead of TCP (@name: a Linux abstract name)' },
} as const satisfies Record<string, OptionSpec>;

/** `--hex`, `--log FILE` and `--log-format`: seeing the bytes of every connection. */
export const TRACE_FLAGS = {
  hex: { type: 'boolean', short: 'x', description: 'Dump every byte sent and received to stderr: offset, hex, ASCII, direction (< in, > out) and peer' },
  log: { type: 'string', short: 'o', placeholder: 'file', description: 'Append every byte sent and received to this file (written once per event-loop turn)' },
  'log-format': { type: 'string', default: 'text', choices: LOG_FORMATS, description: 'How --log writes: quoted text lines, a hex dump, or JSON lines' },
} as const satisfies Record<string, OptionSpec>;

/** A UNIX socket path from `--unix`, checked (an `@name` off Linux is a usage error). */
export function unixPathFrom(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    toSocketPath(value);
    return value;
  } catch (err) {
    throw usageError(`Option '--unix': ${(err as Error).message}`);
  }
}

/** The tracer the trace flags ask for, and how to close its log file at the end (reporting dropped entries). */
export function openTracer(values: { hex?: boolean | undefined; log?: string | undefined; 'log-format'?: string | undefined }, io: Io): { tracer: SessionTracer; close: () => Promise<void> } {
  const outputs: { sink: TraceSink; format: LogFormat }[] = [];
  if (values.hex) outputs.push({ sink: io.stderr, format: 'hex' });
  let file: BatchedFileWriter | undefined;
  if (values.log !== undefined) {
    try {
      file = new BatchedFileWriter(values.log);
    } catch (err) {
      throw usageError(`Cannot open --log file ${values.log}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    outputs.push({ sink: file, format: (values['log-format'] ?? 'text') as LogFormat });
  }
  const tracer = new SessionTracer(outputs);
  return {
    tracer,
    close: async () => {
      tracer.flush();
      const dropped = tracer.dropped + (file?.dropped ?? 0);
      await file?.close();
      if (dropped > 0) io.stderr.write(`note: ${dropped} chunks left out of the trace (it could not keep up with the traffic)\n`);
    },
  };
}
