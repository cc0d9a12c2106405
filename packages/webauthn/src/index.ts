/**
 * The WebAuthn plugin: security keys, Windows Hello and passkeys, three sign-in methods from one
 * ceremony (see `kinds.ts` for each one's level and why). It contributes the three authenticators,
 * their enrolment ceremonies and credential kinds for the account area, and keeps its credentials
 * in the store parts it is given (`WebAuthnContext`). The relying party is the issuer: RP ID its
 * host name, origin its origin.
 *
 * Attestation trust is offline: the models of an operator-supplied MDS3 blob (`loadMdsBlob`), and
 * Chromium's virtual authenticators only when `trustTestAuthenticators` says so.
 */
import { bindAuthenticator, bindEnroller, type AuthenticatorPlugin, type WebAuthnContext } from '@careid/ports'
import { offlineAttestationChecks } from './attestation.ts'
import { webAuthnAuthenticator } from './authenticator.ts'
import { relyingPartyOf } from './ceremony.ts'
import { webAuthnCredentialKind } from './credentials.ts'
import { webAuthnEnroller } from './enroller.ts'
import { webAuthnKinds } from './kinds.ts'
import type { MdsBlob } from './mds.ts'
import { testAuthenticatorModels } from './test_authenticators.ts'
import type { AuthenticatorModel } from './trust.ts'

export { decideLevel, attestationFacts, type AttestationFacts, type LevelDecision } from './attestation.ts'
export { webAuthnAuthenticator } from './authenticator.ts'
export { relyingPartyOf, ceremonyTimeoutMs, challengeTtlMs, type RelyingParty } from './ceremony.ts'
export { webAuthnCredentialKind, webAuthnState, type WebAuthnCredentialState } from './credentials.ts'
export { webAuthnEnroller } from './enroller.ts'
export { kindProfiles, webAuthnKinds, WEBAUTHN_CREDENTIAL, type WebAuthnKind } from './kinds.ts'
export { fidoMdsRoots, loadMdsBlob, MetadataError, type MdsBlob } from './mds.ts'
export { chromiumVirtualAuthenticatorAaguid, testAuthenticatorModels } from './test_authenticators.ts'
export { anchorOfCertificate, chainsToAnchor, type AttestationTrust, type AuthenticatorModel, type TrustAnchor } from './trust.ts'

export interface WebAuthnPluginDeps {
  issuer: string
  store: WebAuthnContext
  /** The name authenticators show for the relying party. */
  rpName?: string | undefined
  /** Trust Chromium's virtual authenticators' attestation (their key is public: tests and the demo only). */
  trustTestAuthenticators: boolean
  /** An MDS3 blob loaded and verified at start (`loadMdsBlob`). */
  metadata?: MdsBlob | undefined
}

export function webAuthnPlugin(deps: WebAuthnPluginDeps): AuthenticatorPlugin {
  offlineAttestationChecks()
  const rp = relyingPartyOf(deps.issuer, deps.rpName ?? 'Careid')
  const models: AuthenticatorModel[] = [...(deps.metadata?.models ?? []), ...(deps.trustTestAuthenticators ? testAuthenticatorModels() : [])]
  const trust = new Map(models.map((model) => [model.aaguid, model]))
  return {
    authenticators: webAuthnKinds.map((kind) => bindAuthenticator(webAuthnAuthenticator(kind, rp), deps.store)),
    enrollers: webAuthnKinds.map((kind) => bindEnroller(webAuthnEnroller(kind, rp, () => trust), deps.store)),
    credentialKinds: webAuthnKinds.map((kind) => webAuthnCredentialKind(deps.store.credentials, kind)),
  }
}
