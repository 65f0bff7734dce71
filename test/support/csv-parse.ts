/**
 * A small RFC 4180 reader for the tests, written apart from src/admin/csv.ts so that the export is
 * checked against an independent reading: quoted fields, doubled quotes, CR/LF inside quotes.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        field += '"';
        index += 1;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
    } else if (char === '"' && field === '') {
      quoted = true;
    } else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\r' && text[index + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      index += 1;
    } else if (char === '"' || char === '\n' || char === '\r') {
      throw new Error(`malformed CSV at ${index}: a bare ${JSON.stringify(char)} outside quotes`);
    } else {
      field += char;
    }
  }
  if (quoted) throw new Error('malformed CSV: an unterminated quoted field');
  if (field !== '' || row.length > 0) throw new Error('malformed CSV: the last record has no CRLF');
  return rows;
}

/** Rows as objects keyed by the header row. */
export function csvRecords(text: string): Array<Record<string, string>> {
  const [header, ...rows] = parseCsv(text);
  if (!header) throw new Error('no header row');
  return rows.map((row) => {
    if (row.length !== header.length) throw new Error(`a row of ${row.length} fields under a header of ${header.length}`);
    return Object.fromEntries(header.map((name, index) => [name, row[index]!]));
  });
}
