/**
 * Numbers as the forecasts print them in their reasons: bytes in MiB, times in seconds, both with one decimal,
 * so that a reason reads the same in a log line, a steering entry and a test.
 */
const MiB = 1024 * 1024;

/** `201.3 MiB`. */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** `46.8 MiB/s`. */
export function mibps(bytesPerSecond: number): string {
  return `${(bytesPerSecond / MiB).toFixed(1)} MiB/s`;
}

/** `12.5 s`. */
export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** `4302 ms`, rounded; `∞ ms` past what a number holds. */
export function millis(ms: number): string {
  return Number.isFinite(ms) ? `${Math.round(ms)} ms` : '∞ ms';
}
