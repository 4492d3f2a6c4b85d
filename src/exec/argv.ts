/**
 * Splits `--exec 'prog arg "two words"'` into argv without a shell: words separated by blanks, '…' taken
 * literally, "…" with backslash escapes for `"` and `\`, and a backslash outside quotes escaping the next
 * character. No variables, globs, pipes or redirections: that is what `--sh-exec` is for.
 *
 * @throws {RangeError} for an unterminated quote or an empty command.
 * @example splitCommandLine(`grep -i "hello world"`) // ['grep', '-i', 'hello world']
 */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) word += text[++i];
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (char === ' ' || char === '\t' || char === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new RangeError(`Unterminated ${quote} quote in command: ${text}`);
  if (inWord) words.push(word);
  if (words.length === 0) throw new RangeError('The command to run is empty');
  return words;
}
