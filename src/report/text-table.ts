// Plain-text tables for the terminal and the results' text files: columns two spaces apart, each
// padded to its widest cell, left-aligned where the caller says (names, labels) and right-aligned
// otherwise (figures), trailing spaces trimmed; optionally a rule of dashes under the header.

/** Rows as aligned lines; `left(column)` says which columns are left-aligned. */
export function alignColumns(rows: readonly (readonly string[])[], left: (column: number) => boolean): string[] {
  const widths = columnWidths(rows);
  return rows.map((row) =>
    row
      .map((cell, column) => (left(column) ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** The header, a rule of dashes as wide as each column, and the rows, aligned. */
export function ruledTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  left: (column: number) => boolean,
): string[] {
  const rule = columnWidths([header, ...rows]).map((width) => '-'.repeat(width));
  return alignColumns([header, rule, ...rows], left);
}

function columnWidths(rows: readonly (readonly string[])[]): number[] {
  return rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
}
