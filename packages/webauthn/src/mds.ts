/**
 * An operator-supplied FIDO Metadata Service (MDS3) blob, loaded offline at start: a JWS whose x5c
 * must chain to the FIDO Alliance's signing root (GlobalSign Root R3, or R46, as
 * @simplewebauthn/server ships them), signed by the chain's leaf, not past its `nextUpdate`. Its
 * entries give each authenticator model's attestation roots and status. A blob that fails any
 * check is refused as a whole with `MetadataError`, saying which check (FIDO MDS3 3.1.8: "the
 * FIDO Server SHOULD ignore the file if the chain cannot be verified ... [or] the signature is
 * invalid").
 */
import { createVerify, X509Certificate } from 'node:crypto'
import { SettingsService } from '@simplewebauthn/server'
import { anchorOfCertificate, chainsToAnchor, type AuthenticatorModel } from './trust.ts'

export class MetadataError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MetadataError'
  }
}

/** The roots an MDS blob's signing chain must reach: the FIDO Alliance's, as the library ships them. */
export function fidoMdsRoots(): string[] {
  return SettingsService.getRootCertificates({ identifier: 'mds' })
}

/** Statuses that withdraw trust in a model's attestation (FIDO MDS3 AuthenticatorStatus). */
const compromisedStatuses = new Set(['USER_VERIFICATION_BYPASS', 'ATTESTATION_KEY_COMPROMISE', 'USER_KEY_REMOTE_COMPROMISE', 'USER_KEY_PHYSICAL_COMPROMISE', 'REVOKED'])

/** The JWS algorithms MDS blobs are signed with, to node's digest and signature encoding. */
const algorithms: Record<string, { digest: string; dsaEncoding?: 'ieee-p1363' }> = {
  ES256: { digest: 'sha256', dsaEncoding: 'ieee-p1363' },
  ES384: { digest: 'sha384', dsaEncoding: 'ieee-p1363' },
  RS256: { digest: 'sha256' },
}

export interface MdsBlob {
  /** The blob's serial number. */
  no: number
  nextUpdate: string
  models: AuthenticatorModel[]
}

/**
 * Verifies and reads an MDS3 blob. `roots` are the PEM certificates its chain must reach (the
 * FIDO Alliance's by default; a test passes its own).
 */
export function loadMdsBlob(text: string, now: number, roots: readonly string[] = fidoMdsRoots()): MdsBlob {
  const parts = text.trim().split('.')
  if (parts.length !== 3) throw new MetadataError('the FIDO metadata file is not a metadata BLOB (a JWS in compact form: three dot-separated parts)')
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string]
  const header = parseJson(encodedHeader, 'header')
  const alg = typeof header.alg === 'string' ? algorithms[header.alg] : undefined
  if (alg === undefined) throw new MetadataError(`the FIDO metadata BLOB is signed with ${JSON.stringify(header.alg)}, not one of ${Object.keys(algorithms).join(', ')}`)
  const x5c = header.x5c
  if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((c): c is string => typeof c === 'string')) throw new MetadataError('the FIDO metadata BLOB has no signing certificate chain (x5c)')
  const chain = x5c.map((c) => Buffer.from(c, 'base64'))
  let anchors
  try {
    anchors = roots.map((root) => anchorOfCertificate(root))
  } catch {
    throw new MetadataError('a FIDO metadata root certificate does not parse')
  }
  if (!chainsToAnchor(chain, anchors, now)) throw new MetadataError("the FIDO metadata BLOB's signing certificate chain does not reach the FIDO Alliance's root (or a certificate in it has expired)")
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(chain[0] as Buffer)
  } catch {
    throw new MetadataError("the FIDO metadata BLOB's signing certificate does not parse")
  }
  const verifier = createVerify(alg.digest).update(`${encodedHeader}.${encodedPayload}`)
  let signed = false
  try {
    signed = verifier.verify({ key: leaf.publicKey, ...(alg.dsaEncoding === undefined ? {} : { dsaEncoding: alg.dsaEncoding }) }, Buffer.from(encodedSignature, 'base64url'))
  } catch {
    signed = false
  }
  if (!signed) throw new MetadataError("the FIDO metadata BLOB's signature does not verify with its signing certificate")
  const payload = parseJson(encodedPayload, 'payload')
  const { no, nextUpdate, entries } = payload
  if (typeof no !== 'number' || typeof nextUpdate !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(nextUpdate) || !Array.isArray(entries)) {
    throw new MetadataError('the FIDO metadata BLOB payload lacks its no, nextUpdate (YYYY-MM-DD) or entries')
  }
  // The blob is current until the end of its nextUpdate day (UTC); after it, a newer one exists.
  if (Date.parse(`${nextUpdate}T23:59:59.999Z`) < now) throw new MetadataError(`the FIDO metadata BLOB (no ${no}) is out of date: its nextUpdate, ${nextUpdate}, has passed; download a current one from the FIDO Metadata Service`)
  const models: AuthenticatorModel[] = []
  for (const entry of entries) models.push(...modelOf(entry))
  return { no, nextUpdate, models }
}

/** A FIDO2 entry (one with an AAGUID) as a model; U2F and UAF entries have none and are skipped. */
function modelOf(entry: unknown): AuthenticatorModel[] {
  if (typeof entry !== 'object' || entry === null) return []
  const { aaguid, metadataStatement, statusReports } = entry as { aaguid?: unknown; metadataStatement?: unknown; statusReports?: unknown }
  if (typeof aaguid !== 'string' || typeof metadataStatement !== 'object' || metadataStatement === null) return []
  const { description, attestationRootCertificates } = metadataStatement as { description?: unknown; attestationRootCertificates?: unknown }
  const anchors = []
  for (const root of Array.isArray(attestationRootCertificates) ? attestationRootCertificates : []) {
    if (typeof root !== 'string') continue
    try {
      anchors.push(anchorOfCertificate(Buffer.from(root, 'base64')))
    } catch {
      // A root that does not parse anchors nothing; the model's other roots still count.
    }
  }
  const reports = Array.isArray(statusReports) ? statusReports : []
  const compromised = reports.some((report) => typeof report === 'object' && report !== null && compromisedStatuses.has(String((report as { status?: unknown }).status)))
  return [{ aaguid: aaguid.toLowerCase(), description: typeof description === 'string' ? description : aaguid, anchors, compromised }]
}

function parseJson(part: string, name: string): { [key: string]: unknown } {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as { [key: string]: unknown }
  } catch {
    // Reported below.
  }
  throw new MetadataError(`the FIDO metadata BLOB's ${name} is not a JSON object`)
}
