/**
 * The smartcard plugin: NHS smartcards through the Identity Agent (cis2.md 3.6 and 5). It
 * contributes the `smartcard` authenticator and the agent's endpoints under the issuer, and keeps
 * its card challenges and card sessions in the store parts it is given (`CardContext`). What it
 * needs of the core (the issuer, ending or locking the sign-ins bound to a card session) it takes
 * from the provider's exported API.
 */
import type { Provider } from '@careid/oidc'
import type { AuthenticatorPlugin, CardContext, Directory } from '@careid/ports'
import { createAgentProtocol, type AgentProtocol } from './agent_protocol.ts'
import { agentRoutes } from './agent_routes.ts'
import { smartcardAuthenticator } from './authenticator.ts'
import { createCardChallenges, type CardCertificateVerifier } from './card_challenges.ts'
import { createCardLocks, type LockReportVerifier } from './card_locks.ts'
import { createCardPasscodes, type VirtualCardUnlock } from './card_passcodes.ts'
import { createCardSessions } from './card_sessions.ts'

export { AgentError, agentPaths, type AgentCaller, type AgentErrorCode, type AgentProtocol, type OpenedCardSession } from './agent_protocol.ts'
export { smartcardAuthenticator, SMARTCARD_PAGE, ticketChallengeTtlMs, type SmartcardAuthenticatorOptions } from './authenticator.ts'
export { endCardSignIns, type BoundSessionEnder } from './card_revocation.ts'
export { createCardSessions, hashSecret, type CardSession, type CardSessions } from './card_sessions.ts'
export { createCardChallenges, cardChallengeTtlMs, cardRefusal, type CardCertificateVerifier, type CardChallenges, type CardRefusal } from './card_challenges.ts'
export { agentKeyOf, pemOfX5c, x5cOfPem, verifyCompact } from './jws.ts'
export { createCardPasscodes, type CardPasscodes, type PasscodeCheckKeys, type VirtualCardUnlock } from './card_passcodes.ts'
export { createCardLocks, type CardLocks, type LockReportVerifier } from './card_locks.ts'

export interface SmartcardPluginDeps {
  /** The provider the authenticator is registered on: its issuer, agent origin and session service. */
  provider: Pick<Provider, 'config' | 'sessions'>
  store: CardContext
  directory: Directory
  now: () => number
  /** The card authority's certificate check. */
  verifyCard: CardCertificateVerifier
  /** The card authority's passcode check for a virtual card (its unlock secrets are sealed under the key-encryption key). */
  unlockVirtualCard: VirtualCardUnlock
  /** The card authority's check of a PKCS#11 card's PIN-locked report (its authentication key's signature). */
  verifyLockReport: LockReportVerifier
}

export function smartcardPlugin(deps: SmartcardPluginDeps): AuthenticatorPlugin & { agent: AgentProtocol } {
  const { store, provider, verifyCard } = deps
  const { issuer, agentOrigin } = provider.config
  const cardSessions = createCardSessions(store)
  const cardChallenges = createCardChallenges(store)
  const passcodeProven = (serial: string) => store.cards.passcodeProven(serial)
  const cardPasscodes = createCardPasscodes({ store, cardChallenges, unlock: deps.unlockVirtualCard })
  const cardLocks = createCardLocks({ store, cardChallenges, verify: deps.verifyLockReport })
  const agent = createAgentProtocol({
    store,
    directory: deps.directory,
    issuer,
    now: deps.now,
    verifyCard,
    cardSessions,
    cardChallenges,
    cardPasscodes,
    cardLocks,
    passcodeProven,
    endBoundSessions: (binding) => provider.sessions.endByBinding(binding, 'card_removed'),
    lockBoundSessions: (binding) => provider.sessions.lockByBinding(binding),
  })
  return {
    authenticators: [smartcardAuthenticator({ issuer, agentOrigin, verifyCard, cardSessions, cardChallenges, passcodeProven, replay: store.replay })],
    routes: agentRoutes(agent),
    agent,
  }
}
