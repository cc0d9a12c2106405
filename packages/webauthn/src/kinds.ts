/**
 * The three kinds of WebAuthn credential Careid offers, each a sign-in method of its own
 * (cis2.md 3.6) with its level and the authenticators a registration asks the browser for.
 *
 * - `security_key`: a roaming FIDO2 authenticator (a YubiKey) with its PIN or fingerprint. `FIDO2`,
 *   AAL3 (`AAL3_FIDO2`): registered only when its attestation chains to a known hardware model.
 * - `windows_hello`: the computer's own platform authenticator (the TPM behind Windows Hello: face,
 *   fingerprint or PIN). `FIDO2`, AAL3 (`AAL3_FIDO2`), registered on the same condition.
 * - `passkey`: any discoverable credential, on this device, a phone (cross-device, through the
 *   browser's own flow) or a password manager. `PASSKEY`: AAL3 (`AAL3_PASSKEY`) when device-bound
 *   and attested like a security key; a synced passkey (backup eligible: its private key leaves the
 *   device) proves AAL2 (`AAL2_PASSKEY`), as NIST SP 800-63B-4 puts syncable authenticators.
 */
import type { AuthenticationMethod } from '@careid/ports'

export type WebAuthnKind = 'security_key' | 'windows_hello' | 'passkey'

export const webAuthnKinds: readonly WebAuthnKind[] = ['security_key', 'windows_hello', 'passkey']

/** The credential record kind of every WebAuthn credential (`state.webauthn_kind` says which). */
export const WEBAUTHN_CREDENTIAL = 'webauthn'

export interface KindProfile {
  method: AuthenticationMethod
  /** Registration: which authenticators the browser offers (absent: any). */
  attachment?: 'platform' | 'cross-platform' | undefined
  /** Registration: the browser's hint for its chooser (WebAuthn L3 `hints`). */
  preferred: 'securityKey' | 'localDevice' | 'remoteDevice' | undefined
  /** Registration is refused below AAL3 (an unattested or synced credential is not this kind). */
  aal3Only: boolean
}

export const kindProfiles: Record<WebAuthnKind, KindProfile> = {
  security_key: {
    method: {
      id: 'security_key',
      amr: 'FIDO2',
      aal: 3,
      acr: 'AAL3_FIDO2',
      label: 'Security key',
      description: 'Sign in with your FIDO2 security key (such as a YubiKey) and its PIN or fingerprint.',
    },
    attachment: 'cross-platform',
    preferred: 'securityKey',
    aal3Only: true,
  },
  windows_hello: {
    method: {
      id: 'windows_hello',
      amr: 'FIDO2',
      aal: 3,
      acr: 'AAL3_FIDO2',
      label: 'Windows Hello',
      description: 'Sign in with Windows Hello on this computer: your face, fingerprint or PIN.',
    },
    attachment: 'platform',
    preferred: 'localDevice',
    aal3Only: true,
  },
  passkey: {
    method: {
      id: 'passkey',
      amr: 'PASSKEY',
      aal: 3,
      acr: 'AAL3_PASSKEY',
      label: 'Passkey',
      description: 'Sign in with a passkey on this device, or on your phone near this computer.',
    },
    attachment: undefined,
    preferred: undefined,
    aal3Only: false,
  },
}
