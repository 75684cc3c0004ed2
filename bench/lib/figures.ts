// How the benchmarks summarise rounds and print figures.

/** The median of the rounds (the mean of the middle two for an even count). */
export function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** A rate or count rounded, with thousands separators. */
export function format(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
