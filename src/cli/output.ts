import { formatTime } from '../time-format.ts';

/** What the CLI prints for people: a line, or a table with a header row, columns separated by tabs. */

export const print = (line: string): void => console.log(line);

/** A time as the pages show it; `-` when there is none (tab-separated cells are never empty). */
export const time = (seconds: number | null | undefined): string => formatTime(seconds, '-');

/** Header row and rows, tab-separated (`cut -f` works); `indent` nests a table under a heading. */
export function printTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>, indent = ''): void {
  print(`${indent}${headers.join('\t')}`);
  for (const row of rows) print(`${indent}${row.map((cell) => (cell === '' ? '-' : String(cell))).join('\t')}`);
}
