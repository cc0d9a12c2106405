/** What the admin services work on; the composition root (the `careid` command) provides it. */
import type { KeyService } from '@careid/oidc'
import type { AeadSecretBox, CareidEvent, Store } from '@careid/ports'

export interface AdminDeps {
  /** Guarded: a backend that does not answer makes a call fail with `StoreUnavailable`. */
  store: Store
  /** Seals and opens card secrets and signing keys. */
  secrets: AeadSecretBox
  keys: KeyService
  issuer: string
  /** Tells every node of a change: client registrations, key rotations, ended sessions. */
  announce(event: CareidEvent): Promise<void>
  now(): number
}
