/** Signing keys, JWT signing and verification, and encryption of secrets at rest. */
export { createSecretBox } from './secret_box.ts'
export {
  assertKeyFitsAlg,
  createJwtSigner,
  hashClaim,
  isSigningAlg,
  verifyJwsSignature,
  type JwsHeader,
  type JwtSigner,
  type SigningAlg,
} from './jwt_signer.ts'
export { createKeyService, type KeyListing, type KeyService, type KeyServiceOptions, type TickResult, type VerifiedJwt } from './key_service.ts'
