// Debug output: text meant for a bug report rather than for the user (a library's own error
// messages, a crashed helper process's stderr), written to stderr only when QUANTGATE_DEBUG is set.

export function debugLog(source: string, text: string): void {
  if (!process.env.QUANTGATE_DEBUG || text.trim() === '') return;
  process.stderr.write(`debug: ${source}: ${text.trim().replace(/\n/g, '\n  ')}\n`);
}
