/**
 * Sign-in requests waiting for a worker's device: short-lived records in the interaction store
 * (prefix `mobile-request:`), read by whichever node the desktop page or the device reaches. A
 * request is decided once (approved, declined, or killed by a wrong number) and used once by the
 * journey; both are single-use marks in the replay cache, which is atomic across nodes.
 */
import { randomBytes, randomInt } from 'node:crypto'
import type { InteractionStore, Json, ReplayCache } from '@careid/ports'

/** How long a request waits for the worker's approval. */
export const requestTtlMs = 2 * 60_000
/** How long an answered request is kept for the sign-in page to go on with. */
const keptAfterMs = 60_000

export type RequestStatus = 'pending' | 'approved' | 'declined' | 'number_mismatch'

export interface SignInRequest {
  id: string
  /** The worker the username named; absent for a username nobody holds (the page waits and expires alike). */
  uid?: string | undefined
  /** The two-digit number the sign-in page shows, to be entered on the device. */
  number: string
  /** The WebAuthn challenge the device's approval answers (the biometric gate, for this request only). */
  challenge: string
  client_name: string
  /** The organisations of the worker's roles, to say on the device where the sign-in is for. */
  organisations: string[]
  /** The sign-in's network address, as seen here. */
  source?: string | undefined
  created_at: number
  expires_at: number
  status: RequestStatus
  /** The device that decided it. */
  device?: string | undefined
  decided_at?: number | undefined
}

const key = (id: string) => `mobile-request:${id}`

export function createRequests(store: { interactions: InteractionStore; replay: ReplayCache }) {
  async function save(request: SignInRequest): Promise<void> {
    const payload = JSON.parse(JSON.stringify(request)) as { [key: string]: Json }
    await store.interactions.put({ id: key(request.id), expires_at: request.expires_at + keptAfterMs, payload })
  }

  return {
    async create(facts: Pick<SignInRequest, 'uid' | 'client_name' | 'organisations' | 'source'>, now: number): Promise<SignInRequest> {
      const request: SignInRequest = {
        id: randomBytes(24).toString('base64url'),
        ...facts,
        number: String(randomInt(10, 100)),
        challenge: randomBytes(32).toString('base64url'),
        created_at: now,
        expires_at: now + requestTtlMs,
        status: 'pending',
      }
      await save(request)
      return request
    },

    async get(id: unknown, now: number): Promise<SignInRequest | undefined> {
      if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{32}$/.test(id)) return undefined
      const found = await store.interactions.get(key(id), now)
      return found === undefined ? undefined : (found.payload as unknown as SignInRequest)
    },

    /**
     * Decides a pending, unexpired request, once: of any number of concurrent decisions (two
     * approvals, an approval and a revocation), exactly one is recorded; false for the others.
     */
    async decide(request: SignInRequest, status: Exclude<RequestStatus, 'pending'>, device: string | undefined, now: number): Promise<boolean> {
      if (request.status !== 'pending' || request.expires_at <= now) return false
      if (!(await store.replay.markUsed(`mobile-decided:${request.id}`, request.expires_at + keptAfterMs, now))) return false
      await save({ ...request, status, device, decided_at: now })
      return true
    },

    /** The journey goes on with an approved request, once. */
    use(request: SignInRequest, now: number): Promise<boolean> {
      return store.replay.markUsed(`mobile-used:${request.id}`, request.expires_at + keptAfterMs, now)
    },
  }
}

export type Requests = ReturnType<typeof createRequests>

/** What the sign-in page's script is told: no more than whether to go on. */
export function publicStatus(request: SignInRequest | undefined, now: number): 'pending' | 'approved' | 'refused' | 'expired' {
  if (request === undefined) return 'expired'
  if (request.status === 'approved') return 'approved'
  if (request.status !== 'pending') return 'refused'
  return request.expires_at <= now ? 'expired' : 'pending'
}
