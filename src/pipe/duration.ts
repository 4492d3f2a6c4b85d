/** Milliseconds per unit in ncat's time syntax (`500ms`, `2s`, `1m`, `1h`); a bare number is seconds. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration the way ncat's `-i`, `-w`, `-d` and OpenBSD nc's `-q` take it: a non-negative decimal number
 * with an optional unit `ms`, `s`, `m` or `h`; without a unit it is seconds.
 *
 * @throws {RangeError} for anything else (the message names `flag` and the text)
 * @example parseDuration('500ms') // 500
 * @example parseDuration('2') // 2000
 */
export function parseDuration(text: string, flag = 'duration'): number {
  const match = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new RangeError(`Option '${flag}' takes a time like 500ms, 2s, 1m, 1h or a number of seconds; got '${text}'`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!);
}
