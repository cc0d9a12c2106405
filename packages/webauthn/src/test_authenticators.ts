/**
 * The metadata of the test authenticators Careid's own browser tests and demo use: Chromium's
 * virtual authenticators (DevTools `WebAuthn.addVirtualAuthenticator`), as measured on Chromium
 * with `ctap2` over `usb` and over `internal`, with and without backup eligibility: every one
 * answers `attestation: 'direct'` with a `packed` statement, AAGUID
 * 01020304-0506-0708-0102-030405060708, and an x5c of one self-signed "Batch Certificate"
 * (C=US, O=Chromium, OU=Authenticator Attestation), made afresh for each authenticator (its
 * signature and expiry change) over one fixed key pair compiled into Chromium. So the anchor is
 * that key, not a certificate.
 *
 * That private key is public (it is in Chromium's source), so anyone can make attestations that
 * chain to it: trusted only when the operator says so (`--trust-test-authenticators`, on with the
 * demo), never in production.
 */
import { createPublicKey } from 'node:crypto'
import type { AuthenticatorModel } from './trust.ts'

export const chromiumVirtualAuthenticatorAaguid = '01020304-0506-0708-0102-030405060708'

const chromiumBatchKey = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEjWF+ZclQjmS8xWc6yCpnmdo8FEZo
LCWMRj//31jf0vo+bDeLU9eVxKTf+0GZ7deGLyOrrwIDtLiRG6BWmZThAQ==
-----END PUBLIC KEY-----`

export function testAuthenticatorModels(): AuthenticatorModel[] {
  return [
    {
      aaguid: chromiumVirtualAuthenticatorAaguid,
      description: "Chromium's virtual authenticator (test only: its attestation key is public)",
      anchors: [{ key: createPublicKey(chromiumBatchKey) }],
      compromised: false,
    },
  ]
}
