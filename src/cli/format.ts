/** Number and size formatting shared by the commands' text output. */

const GROUPED = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** `51,200`; `1.5`; at most two decimals. */
export function grouped(value: number): string {
  return GROUPED.format(value);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1.5 GiB`, `512 MiB`: binary units, at most one decimal. */
export function bytes(value: number | undefined): string {
  if (value === undefined) return '–';
  let unit = 0;
  let scaled = value;
  while (Math.abs(scaled) >= 1024 && unit < UNITS.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${unit === 0 ? scaled : scaled.toFixed(1)} ${UNITS[unit]}`;
}

/** `112.0 MiB/s`. */
export function rate(bytesPerSecond: number | undefined): string {
  return bytesPerSecond === undefined ? '–' : `${bytes(bytesPerSecond)}/s`;
}

/** `12.3 s`. */
export function seconds(ms: number | undefined): string {
  return ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`;
}
