// Human-readable figures for progress lines, plans and summaries.

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${BYTE_UNITS[unit]}`;
}

export function formatCount(count: number): string {
  if (Math.abs(count) < 1e3) return Number.isInteger(count) ? String(count) : count.toFixed(1);
  if (Math.abs(count) < 1e6) return `${(count / 1e3).toFixed(1)}k`;
  if (Math.abs(count) < 1e9) return `${(count / 1e6).toFixed(1)}M`;
  return `${(count / 1e9).toFixed(2)}G`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
