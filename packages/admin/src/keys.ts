/**
 * Rotating the provider's signing keys. The new key and its audit entry are written in one unit of
 * work; then this process reloads its keys and every node is told, so each publishes the new key at
 * once, well before it signs (a node that misses the announcement picks it up on its next reload).
 */
import { auditEntry } from './audit_entry.ts'
import type { AdminDeps } from './deps.ts'

export function createKeyAdmin({ store, keys, announce, now }: AdminDeps) {
  return {
    list: () => keys.list(),

    /**
     * Adds a key that signs from now + the publication lead. While one is already waiting it is
     * kept (nothing changes, and nothing is audited); its kid is returned either way.
     */
    async rotate(actor: string): Promise<string> {
      const kid = await store.transaction(async (tx) => {
        const before = await tx.keys.list()
        const waiting = await keys.rotate('RS256', tx.keys)
        if (before.some((key) => key.kid === waiting)) return waiting
        const after = await tx.keys.list()
        await tx.audit.append(auditEntry({ at: now(), type: 'keys.rotated', actor, subject: waiting, before, after }))
        return waiting
      })
      await keys.reload()
      await announce({ type: 'keys.rotated' })
      return kid
    },
  }
}
