/**
 * The parts of oidc-provider and autocannon the benchmark uses. Neither package ships types, and
 * the strict compiler refuses untyped imports; these cover only what bench/ calls.
 */

declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  export interface OidcClient {
    clientId: string
  }

  export interface OidcSession {
    accountId?: string
    grantIdFor(clientId: string): string | undefined
  }

  export interface KoaContextWithOIDC {
    oidc: {
      client?: OidcClient
      session?: OidcSession
      result?: { consent?: { grantId?: string } }
      provider: Provider
    }
  }

  export interface Account {
    accountId: string
    claims(use: string, scope: string): Promise<Record<string, unknown>> | Record<string, unknown>
  }

  export interface Interaction {
    uid: string
    prompt: { name: string }
  }

  export class Grant {
    constructor(init: { clientId: string; accountId: string })
    readonly jti: string
    addOIDCScope(scope: string): void
    addResourceScope(resource: string, scope: string): void
    save(): Promise<string>
    static find(id: string): Promise<Grant | undefined>
  }

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>)
    readonly Grant: typeof Grant
    callback(): (req: IncomingMessage, res: ServerResponse) => void
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>
    on(event: string, listener: (...args: unknown[]) => void): this
  }
}

/** oidc-provider's own in-memory adapter; its default instance is an LRU of 1,000 entries. */
declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  import type LRU from 'oidc-provider/lib/helpers/lru.js'

  export default class MemoryAdapter {
    constructor(model: string, store: LRU, clockTolerance?: number)
  }
}

declare module 'oidc-provider/lib/helpers/lru.js' {
  export default class LRU {
    constructor(options: { maxSize: number })
  }
}

declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  export interface Request {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string | Buffer
    setupRequest?: (request: Request, context: Record<string, unknown>) => Request
  }

  export interface Options {
    /** Several: the connections are spread over them in turn. */
    url: string | string[]
    connections: number
    duration?: number
    amount?: number
    timeout?: number
    pipelining?: number
    method?: string
    headers?: Record<string, string>
    requests?: Request[]
  }

  export interface Result {
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    '2xx': number
    statusCodeStats: Record<string, { count: number }>
  }

  export interface Instance extends EventEmitter {
    stop(): void
  }

  export default function autocannon(options: Options, callback: (error: Error | null, result: Result) => void): Instance
}
