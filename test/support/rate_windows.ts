/**
 * Rate limits count in fixed windows (every multiple of the window's length since the epoch). A test
 * that makes a run of requests against one limit must not have the run cut by a window's end, which
 * starts every count afresh: it first waits, if need be, for a window with `roomMs` or more left.
 */
import { setTimeout as sleep } from 'node:timers/promises'

export async function windowWithRoom(windowMs: number, roomMs: number): Promise<void> {
  const left = windowMs - (Date.now() % windowMs)
  if (left < roomMs) await sleep(left + 50)
}
