/**
 * The public keys a client's signed assertions are checked against: its registered JWKS, inline
 * or at a URL, as jose key sets. Each set is built once and kept: a URL's set keeps its own fetch
 * cache, and an inline set keeps the keys it imported, so a client's key is not imported again on
 * every request (an RSA import costs more than the signature check). Used by every token endpoint
 * that takes client assertions (the provider's, the API Platform's).
 */
import { createLocalJWKSet, createRemoteJWKSet, type JWK, type JWTVerifyGetKey } from 'jose'
import type { Json } from '@careid/ports'

/** Where a client's keys are registered. */
export interface RegisteredKeys {
  jwks?: { keys: Json[] } | undefined
  jwks_uri?: string | undefined
}

/** At most this many inline sets are kept; the oldest goes first (a client whose keys changed leaves one behind). */
const maxInlineSets = 1000

export function createClientKeySets(options: { cacheMaxAgeMs: number; timeoutMs: number; cooldownMs?: number | undefined }): (registered: RegisteredKeys) => JWTVerifyGetKey | undefined {
  const remote = new Map<string, JWTVerifyGetKey>()
  const inline = new Map<string, JWTVerifyGetKey>()
  return (registered) => {
    if (registered.jwks !== undefined) {
      const key = JSON.stringify(registered.jwks)
      let set = inline.get(key)
      if (set === undefined) {
        set = createLocalJWKSet({ keys: registered.jwks.keys as unknown as JWK[] })
        if (inline.size >= maxInlineSets) inline.delete(inline.keys().next().value as string)
        inline.set(key, set)
      }
      return set
    }
    if (registered.jwks_uri === undefined) return undefined
    let set = remote.get(registered.jwks_uri)
    if (set === undefined) {
      set = createRemoteJWKSet(new URL(registered.jwks_uri), {
        cacheMaxAge: options.cacheMaxAgeMs,
        timeoutDuration: options.timeoutMs,
        ...(options.cooldownMs === undefined ? {} : { cooldownDuration: options.cooldownMs }),
      })
      remote.set(registered.jwks_uri, set)
    }
    return set
  }
}
