/**
 * Registering and removing API Platform applications (the developer portal's apps). The
 * application and its audit entry are written in one unit of work; the secret is returned to the
 * caller once and never stored or audited (only its hash is stored, and the log holds digests).
 */
import { InvalidApplication, registerApplication, type ApplicationRegistration, type RegisteredApplication } from '@careid/apim'
import type { ApplicationRecord } from '@careid/ports'
import { auditEntry } from './audit_entry.ts'
import type { AdminDeps } from './deps.ts'
import { AdminRefusal } from './refusal.ts'

export function createAppAdmin({ store, now }: AdminDeps) {
  return {
    list: () => store.apps.list(),

    async get(apiKey: string): Promise<ApplicationRecord> {
      const application = await store.apps.get(apiKey)
      if (application === undefined) throw new AdminRefusal(`no application with the API key ${apiKey} is registered`)
      return application
    },

    /** Registers an application from its registration (checked as the developer portal checks it). */
    async add(registration: ApplicationRegistration, actor: string): Promise<RegisteredApplication> {
      let registered: RegisteredApplication
      try {
        registered = registerApplication(registration, now())
      } catch (error) {
        if (error instanceof InvalidApplication) throw new AdminRefusal(error.message)
        throw error
      }
      const { application } = registered
      await store.transaction(async (tx) => {
        // 190 random bits make a clash all but impossible; were one to happen, it must not replace an application.
        if ((await tx.apps.get(application.api_key)) !== undefined) throw new AdminRefusal('the generated API key is taken; try again')
        await tx.apps.put(application)
        await tx.audit.append(
          auditEntry({ at: application.created_at, type: 'app.added', actor, subject: application.api_key, before: undefined, after: application }),
        )
      })
      return registered
    },

    async remove(apiKey: string, actor: string): Promise<void> {
      await store.transaction(async (tx) => {
        const application = await tx.apps.get(apiKey)
        if (application === undefined || !(await tx.apps.remove(apiKey))) throw new AdminRefusal(`no application with the API key ${apiKey} is registered`)
        await tx.audit.append(auditEntry({ at: now(), type: 'app.removed', actor, subject: apiKey, before: application, after: undefined }))
      })
    },
  }
}
