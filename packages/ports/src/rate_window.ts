/** The fixed windows of `RateCounter`: the arithmetic every adapter and caller shares. */

/**
 * Where the window of `windowMs` holding `now` ends (exclusive): windows start at every multiple of
 * `windowMs` since the epoch. Throws on a window that is not a positive whole number of milliseconds.
 */
export function rateWindowEnd(windowMs: number, now: number): number {
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new RangeError(`windowMs must be a positive integer, got ${windowMs}`)
  return Math.floor(now / windowMs) * windowMs + windowMs
}
