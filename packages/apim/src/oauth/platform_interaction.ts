/**
 * What the platform remembers between `/authorize` and `/callback` (cis2.md 6.2 steps 1 to 3): the
 * application's request (its API key, redirect_uri and state, the scopes it may be granted) and
 * what the platform sent CIS2 (its own state, PKCE verifier and nonce). Kept in the store's
 * short-lived interactions by a hash of the platform's state (which travels through the browser),
 * so any node can take the callback, and only once.
 */
import { sha256 } from '@careid/oidc'
import type { InteractionRecord } from '@careid/ports'

export interface PlatformInteraction {
  kind: 'apim_authorize'
  api_key: string
  redirect_uri: string
  /** The application's own state, returned to it unchanged. */
  state: string
  code_verifier: string
  nonce: string
}

/** A sign-in at CIS2 (max_age=300) and the redirects around it. */
export const PLATFORM_INTERACTION_TTL_MS = 10 * 60_000

/** The interaction's id: a hash of the platform's state, in a namespace of its own beside the provider's journeys. */
export function interactionIdOf(platformState: string): string {
  return `apim:${sha256(platformState)}`
}

/** The interaction's payload, or undefined when the record is not the platform's. */
export function platformInteractionOf(record: InteractionRecord): PlatformInteraction | undefined {
  const p = record.payload
  if (p.kind !== 'apim_authorize') return undefined
  for (const name of ['api_key', 'redirect_uri', 'state', 'code_verifier', 'nonce'] as const) if (typeof p[name] !== 'string') return undefined
  return p as unknown as PlatformInteraction
}
