/**
 * A Markdown table from a header and rows of cells, as the diagnostics print their figures (and
 * as they paste into the READMEs).
 */
export type Cell = string | number

export function markdownTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const line = (cells: readonly Cell[]) => `| ${cells.join(' | ')} |`
  return [line(header), `|${'---|'.repeat(header.length)}`, ...rows.map(line)].join('\n')
}
