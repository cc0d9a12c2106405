/**
 * Registering and removing relying parties. The registration and its audit entry are written in
 * one unit of work; then every node is told, since a node may have cached the client, or its id as
 * unknown (telling again is harmless, so a lost announcement is mended by the nodes' own reloads).
 */
import { InvalidClientMetadata, registerClient, type ClientMetadata } from '@careid/oidc'
import type { ClientRecord } from '@careid/ports'
import { auditEntry } from './audit_entry.ts'
import type { AdminDeps } from './deps.ts'
import { AdminRefusal } from './refusal.ts'

export interface RegisteredClient {
  client: ClientRecord
  /** For the client_secret_* methods: shown once, never stored (only its hash is). */
  client_secret?: string | undefined
}

export function createClientAdmin({ store, announce, now }: AdminDeps) {
  return {
    list: () => store.clients.list(),

    async get(clientId: string): Promise<ClientRecord> {
      const client = await store.clients.get(clientId)
      if (client === undefined) throw new AdminRefusal(`no client ${clientId} is registered`)
      return client
    },

    /** Registers a client from its metadata (checked as Dynamic Client Registration checks it). */
    async add(metadata: ClientMetadata, actor: string): Promise<RegisteredClient> {
      const registered = await store.transaction(async (tx) => {
        if (metadata.client_id !== undefined && (await tx.clients.get(metadata.client_id)) !== undefined) {
          throw new AdminRefusal(`a client ${metadata.client_id} is already registered`)
        }
        let registration
        try {
          registration = registerClient(metadata, now())
        } catch (error) {
          if (error instanceof InvalidClientMetadata) throw new AdminRefusal(error.message)
          throw error
        }
        const { client } = registration
        await tx.clients.put(client)
        await tx.audit.append(auditEntry({ at: client.created_at, type: 'client.added', actor, subject: client.client_id, client_id: client.client_id, before: undefined, after: client }))
        return registration
      })
      await announce({ type: 'client.changed', client_id: registered.client.client_id })
      return registered
    },

    async remove(clientId: string, actor: string): Promise<void> {
      await store.transaction(async (tx) => {
        const client = await tx.clients.get(clientId)
        if (client === undefined || !(await tx.clients.remove(clientId))) throw new AdminRefusal(`no client ${clientId} is registered`)
        await tx.audit.append(auditEntry({ at: now(), type: 'client.removed', actor, subject: clientId, client_id: clientId, before: client, after: undefined }))
      })
      await announce({ type: 'client.changed', client_id: clientId })
    },
  }
}
