/**
 * The event bus of the embedded store: one process, so events go to this process's handlers only.
 * Admin commands run against the embedded store are separate processes that this bus cannot
 * reach; a running node sees their changes through its caches' backstops instead.
 */
import { randomUUID } from 'node:crypto'
import type { EventBus } from '@careid/ports'
import { createFanout } from './events.ts'

/** An in-process bus. */
export function createLocalEventBus(): EventBus {
  const fanout = createFanout(randomUUID())
  return {
    async publish(event) {
      fanout.deliver(event)
    },
    subscribe: (handler) => fanout.subscribe(handler),
    async close() {
      fanout.clear()
    },
  }
}
