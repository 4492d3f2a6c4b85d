// `bench compare a.json b.json … [--report cmp.html]`: saved results side by side.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { formatComparison, parseSavedResult, renderCompareReport, type NamedResult } from '../../bench/compare.js';
import { SocklabError } from '../../errors.js';
import { usageError, type Io } from '../command.js';

export async function compareCommand(files: string[], values: { report?: string | undefined; json?: boolean | undefined }, io: Io): Promise<number> {
  if (files.length < 2) throw usageError('bench compare needs two or more result files: socklab bench compare a.json b.json (each saved with bench … --json > a.json)');
  const runs: NamedResult[] = files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw usageError(`Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    try {
      return { name: basename(file), result: parseSavedResult(text) };
    } catch (err) {
      throw usageError(`${file}: ${(err as Error).message}`);
    }
  });
  if (values.report !== undefined) {
    if (!values.report.endsWith('.html')) throw usageError(`Option '--report' takes a file name ending in .html; got '${values.report}'`);
    try {
      writeFileSync(values.report, renderCompareReport(runs));
    } catch (err) {
      throw new SocklabError('SL_ERR_REPORT', `Cannot write the report to ${values.report}: ${(err as Error).message}`, { cause: err });
    }
    io.stderr.write(`report written to ${values.report}\n`);
  }
  io.stdout.write(formatComparison(runs));
  return 0;
}
