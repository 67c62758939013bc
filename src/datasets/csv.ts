// RFC 4180 CSV: comma-separated fields, CRLF or LF record ends, fields in double quotes may hold
// commas, line breaks and doubled quotes. Each record keeps the line it starts on, for messages.

import { QuantgateError } from '../common/errors.js';

export interface CsvRecord {
  fields: string[];
  /** 1-based line number where the record starts. */
  line: number;
}

/** Parses `text`; blank lines are skipped. `source` names the file in errors. */
export function parseCsv(text: string, source: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let line = 1;
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (at < text.length) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let field = '';
      if (text[at] === '"') {
        at++;
        for (;;) {
          const quote = text.indexOf('"', at);
          if (quote < 0)
            throw new QuantgateError(
              `${source} line ${start}: a quoted field is never closed; add the closing " on that line`,
            );
          field += text.slice(at, quote);
          line += countLineBreaks(text, at, quote);
          at = quote + 1;
          if (text[at] !== '"') break;
          field += '"';
          at++;
        }
        if (at < text.length && text[at] !== ',' && text[at] !== '\n' && text[at] !== '\r') {
          throw new QuantgateError(
            `${source} line ${line}: unexpected text after a closing quote; quote the whole field and double any " inside it`,
          );
        }
      } else {
        const end = fieldEnd(text, at);
        field = text.slice(at, end);
        if (field.includes('"'))
          throw new QuantgateError(
            `${source} line ${line}: a " inside an unquoted field; quote the field and double the " inside it`,
          );
        at = end;
      }
      fields.push(field);
      if (text[at] !== ',') break;
      at++;
    }
    if (text[at] === '\r') at++;
    if (text[at] === '\n') at++;
    line++;
    if (!(fields.length === 1 && fields[0] === '')) records.push({ fields, line: start });
  }
  return records;
}

function fieldEnd(text: string, from: number): number {
  for (let at = from; at < text.length; at++) {
    const char = text[at];
    if (char === ',' || char === '\n' || char === '\r') return at;
  }
  return text.length;
}

function countLineBreaks(text: string, from: number, to: number): number {
  let count = 0;
  for (let at = from; at < to; at++) if (text[at] === '\n') count++;
  return count;
}
