/**
 * The provider's signing keys: creation, rotation, publication (JWKS) and use.
 *
 * A key moves next -> active -> retired -> removed (store contract). A new key is published as
 * `next` for `publishLeadMs` before it signs, because relying parties resolve `kid` against a JWKS
 * they cache (cis2.md 1.5: "RPs must support key rotation by resolving kid against the JWKS");
 * once it signs, the previous key stays published as `retired` for `retainAfterRetireMs`, until
 * everything it signed has expired. The store is the only shared state: every node follows it
 * through `reload`/`tick`, and every write is one the store makes atomic, so several nodes may
 * rotate and tick at once.
 *
 * Private keys are sealed (AES-256-GCM, associated data = kid) before they reach the store and are
 * opened only for the active key; they never appear in errors or logs.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, type JsonWebKey, type KeyObject } from 'node:crypto'
import { promisify } from 'node:util'
import { calculateJwkThumbprint, type JWK } from 'jose'
import type { KeyStore, SigningKeyRecord } from '@careid/ports'
import type { AeadSecretBox } from '@careid/ports'
import { assertKeyFitsAlg, createJwtSigner, isSigningAlg, verifyJwsSignature, type JwtSigner, type SigningAlg } from './jwt_signer.ts'

export interface KeyServiceOptions {
  store: KeyStore
  /** Seals private keys; the kid is passed as associated data. */
  secrets: AeadSecretBox
  now: () => number
  /**
   * How long a new key is published before it signs. At least the longest time relying parties
   * cache the JWKS (plus the tick interval), so they can verify its first token.
   */
  publishLeadMs: number
  /**
   * How long a key stays published after it stops signing. At least the longest lifetime of
   * anything it signed plus the reload interval (other nodes sign with it until they reload).
   */
  retainAfterRetireMs: number
}

/** One key as `careid keys list` shows it. */
export interface KeyListing {
  kid: string
  alg: SigningAlg
  state: SigningKeyRecord['state']
  created_at: number
  activate_at: number
  remove_at?: number | undefined
}

/** A JWT that verified against one of our published keys. */
export interface VerifiedJwt {
  header: { alg: SigningAlg; kid: string; [name: string]: unknown }
  payload: Record<string, unknown>
}

/** What one `tick` changed. */
export interface TickResult {
  /** Keys this call made active (at most one normally; none when another node got there first). */
  activated: string[]
  /** Retired keys this call deleted. */
  removed: string[]
}

export interface KeyService {
  /**
   * Makes sure a key signs: loads the store and, when no key is active, activates the earliest
   * `next` key or (at first start) generates an RS256 key (RSA 2048) and activates it at once.
   * Returns the active kid.
   */
  ensureActive(): Promise<string>
  /**
   * Creates a `next` key of `alg` (default RS256) that is published now and signs from
   * now + publishLeadMs (once a `tick` sees it due). Idempotent: while a `next` key exists it is
   * kept and its kid returned, so a repeated `careid keys rotate` cannot push activation further
   * out; asking for a different alg then throws instead. Two nodes rotating at the same instant
   * may each add a key: both are published and activate in turn, which is harmless.
   *
   * Given `within` (the keys of a unit of work), reads and writes through it alone and leaves this
   * service as it was: the caller reloads once the unit has committed.
   */
  rotate(alg?: SigningAlg, within?: KeyStore): Promise<string>
  /** Activates due `next` keys, deletes retired keys past remove_at, and reloads. */
  tick(): Promise<TickResult>
  /** Re-reads the store (another node may have rotated). */
  reload(): Promise<void>
  /** The published public keys (next, active, retired), active first. A fresh copy. */
  jwks(): { keys: JWK[] }
  /** `jwks()` as JSON, computed once per change, for the HTTP layer to serve as-is. */
  jwksJson(): string
  /** A compact JWS of `payload` under the active key. Throws if no key is active. */
  sign(payload: object, typ: string): string
  /** The active key's kid, if any key is active. */
  activeKid(): string | undefined
  /** The active key's algorithm (for at_hash, c_hash and s_hash); RS256 before any key is active. */
  activeAlg(): SigningAlg
  /** Every stored key, oldest first. */
  list(): KeyListing[]
  /**
   * Verifies a JWT that we signed (e.g. an id_token_hint): its kid must be one of our published
   * keys, its alg exactly that key's alg, its signature valid. Returns undefined on any failure.
   * Does not check exp or any other claim: callers decide (an id_token_hint may have expired).
   */
  verify(jwt: string): VerifiedJwt | undefined
}

interface PublishedKey {
  record: SigningKeyRecord
  publicKey: KeyObject
  /** Only the members a public JWK of this key type has (RFC 7517/7518), in output order. */
  jwk: JWK
}

interface Snapshot {
  keys: Map<string, PublishedKey>
  signer: JwtSigner | undefined
  /** Identifies the published set and its order; the JWKS is recomputed only when it changes. */
  jwksVersion: string
  jwksJson: string
}

const generate = promisify(generateKeyPair)
const segment = /^[A-Za-z0-9_-]+$/
const stateOrder: Record<SigningKeyRecord['state'], number> = { active: 0, next: 1, retired: 2 }

/** A key service over `options.store`, loaded (but not started: call `ensureActive`). */
export async function createKeyService(options: KeyServiceOptions): Promise<KeyService> {
  const { store, secrets, now, publishLeadMs, retainAfterRetireMs } = options
  for (const [name, value] of [['publishLeadMs', publishLeadMs], ['retainAfterRetireMs', retainAfterRetireMs]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number of milliseconds >= 0`)
  }

  let snapshot: Snapshot = { keys: new Map(), signer: undefined, jwksVersion: '', jwksJson: '{"keys":[]}' }
  // Reloads may overlap (a periodic reload and a tick); a slower, older read must not replace the
  // snapshot of a newer one.
  let reloadsStarted = 0
  let installedReload = 0

  async function reload(): Promise<void> {
    const mine = ++reloadsStarted
    const records = await store.list()
    // Everything below is synchronous, so this one check suffices.
    if (mine < installedReload) return
    const keys = new Map<string, PublishedKey>()
    for (const record of records) {
      const previous = snapshot.keys.get(record.kid)
      keys.set(record.kid, previous === undefined ? importPublic(record) : { ...previous, record })
    }
    const active = records.find((record) => record.state === 'active')
    const signer =
      active === undefined ? undefined : snapshot.signer?.kid === active.kid ? snapshot.signer : openSigner(active, keys.get(active.kid)!)
    const ordered = [...keys.values()].sort(
      (a, b) =>
        stateOrder[a.record.state] - stateOrder[b.record.state] ||
        b.record.activate_at - a.record.activate_at ||
        compare(a.record.kid, b.record.kid),
    )
    const jwksVersion = ordered.map((key) => key.record.kid).join(' ')
    const jwksJson = jwksVersion === snapshot.jwksVersion ? snapshot.jwksJson : JSON.stringify({ keys: ordered.map((key) => key.jwk) })
    installedReload = mine
    snapshot = { keys, signer, jwksVersion, jwksJson }
  }

  function openSigner(record: SigningKeyRecord, published: PublishedKey): JwtSigner {
    let privateKey: KeyObject
    try {
      const jwk = JSON.parse(secrets.open(record.private_jwk_encrypted, record.kid)) as JsonWebKey
      privateKey = createPrivateKey({ key: jwk, format: 'jwk' })
    } catch {
      // The cause is dropped on purpose: a JSON.parse message quotes the text it failed on.
      throw new Error(`signing key ${record.kid} cannot be opened: wrong key-encryption key, or the record was altered`)
    }
    // A private key that does not match its published half would sign tokens nobody can verify.
    if (!createPublicKey(privateKey).equals(published.publicKey)) {
      throw new Error(`signing key ${record.kid}: the private key does not match the published public key`)
    }
    return createJwtSigner(privateKey, record.alg, record.kid)
  }

  async function createKey(alg: SigningAlg, activateAt: number, keys: KeyStore = store): Promise<SigningKeyRecord> {
    const { publicKey, privateKey } =
      alg === 'ES256' ? await generate('ec', { namedCurve: 'P-256' }) : await generate('rsa', { modulusLength: 2048, publicExponent: 0x10001 })
    const publicJwk = publicMembers(publicKey.export({ format: 'jwk' }) as JWK)
    // RFC 7638 thumbprint: the kid is derived from the key, so every node names it the same way.
    const kid = await calculateJwkThumbprint(publicJwk, 'sha256')
    const record: SigningKeyRecord = {
      kid,
      alg,
      public_jwk: publishedJwk(kid, alg, publicJwk) as Record<string, string>,
      // Sealed before it leaves this function; the plaintext JWK exists only in this expression.
      private_jwk_encrypted: secrets.seal(JSON.stringify(privateKey.export({ format: 'jwk' })), kid),
      state: 'next',
      created_at: now(),
      activate_at: activateAt,
    }
    await keys.put(record)
    return record
  }

  async function ensureActive(): Promise<string> {
    await reload()
    const current = snapshot.signer?.kid
    if (current !== undefined) return current
    const waiting = [...snapshot.keys.values()]
      .map((key) => key.record)
      .filter((record) => record.state === 'next')
      .sort((a, b) => a.activate_at - b.activate_at || compare(a.kid, b.kid))[0]
    const t = now()
    // With nothing signing, a waiting key is better used now than a new one made.
    const candidate = waiting ?? (await createKey('RS256', t))
    // False only if another node activated it (or another key) meanwhile; the reload shows which.
    await store.activate(candidate.kid, t + retainAfterRetireMs)
    await reload()
    const activated = snapshot.signer?.kid
    if (activated === undefined) throw new Error('no signing key is active after activation')
    return activated
  }

  async function rotate(alg: SigningAlg = 'RS256', within?: KeyStore): Promise<string> {
    if (!isSigningAlg(alg)) throw new TypeError('alg must be RS256, PS256 or ES256')
    let records: SigningKeyRecord[]
    if (within === undefined) {
      await reload()
      records = [...snapshot.keys.values()].map((key) => key.record)
    } else {
      records = await within.list()
    }
    const waiting = records
      .filter((record) => record.state === 'next')
      .sort((a, b) => b.activate_at - a.activate_at)[0]
    if (waiting !== undefined) {
      if (waiting.alg !== alg) {
        throw new Error(`key ${waiting.kid} (${waiting.alg}) is already waiting to sign; it must activate before a ${alg} key can be added`)
      }
      return waiting.kid
    }
    const record = await createKey(alg, now() + publishLeadMs, within)
    if (within === undefined) await reload()
    return record.kid
  }

  async function tick(): Promise<TickResult> {
    const t = now()
    // Oldest first, so that every node activates the same keys in the same order and they all end
    // with the most recently due key active; `activate` refuses a key that is no longer `next`.
    const due = (await store.list())
      .filter((record) => record.state === 'next' && record.activate_at <= t)
      .sort((a, b) => a.activate_at - b.activate_at || compare(a.kid, b.kid))
    const activated: string[] = []
    for (const record of due) {
      if (await store.activate(record.kid, t + retainAfterRetireMs)) activated.push(record.kid)
    }
    const removed = await store.removeExpired(t)
    await reload()
    return { activated, removed }
  }

  function verify(jwt: string): VerifiedJwt | undefined {
    try {
      const parts = jwt.split('.')
      if (parts.length !== 3) return undefined
      const [headerPart, payloadPart, signaturePart] = parts as [string, string, string]
      if (!segment.test(headerPart) || !segment.test(payloadPart) || !segment.test(signaturePart)) return undefined
      const header: unknown = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8'))
      if (!isObject(header) || typeof header['kid'] !== 'string') return undefined
      // RFC 7515 4.1.11: a recipient that does not understand a `crit` extension must reject.
      if ('crit' in header) return undefined
      const key = snapshot.keys.get(header['kid'])
      // The alg is the key's, never the token's choice: this refuses `none`, HS256 keyed with our
      // public key, and any other algorithm switch (RFC 8725 3.1).
      if (key === undefined || header['alg'] !== key.record.alg) return undefined
      if (!verifyJwsSignature(key.publicKey, key.record.alg, `${headerPart}.${payloadPart}`, Buffer.from(signaturePart, 'base64url'))) {
        return undefined
      }
      const payload: unknown = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8'))
      if (!isObject(payload)) return undefined
      return { header: header as VerifiedJwt['header'], payload }
    } catch {
      return undefined
    }
  }

  await reload()

  return {
    ensureActive,
    rotate,
    tick,
    reload,
    jwks: () => JSON.parse(snapshot.jwksJson) as { keys: JWK[] },
    jwksJson: () => snapshot.jwksJson,
    sign(payload: object, typ: string): string {
      const signer = snapshot.signer
      if (signer === undefined) throw new Error('no signing key is active (ensureActive was not called)')
      return signer.sign(payload, typ)
    },
    activeKid: () => snapshot.signer?.kid,
    activeAlg: () => snapshot.signer?.alg ?? 'RS256',
    list: () =>
      [...snapshot.keys.values()]
        .map(({ record }): KeyListing => ({
          kid: record.kid,
          alg: record.alg,
          state: record.state,
          created_at: record.created_at,
          activate_at: record.activate_at,
          remove_at: record.remove_at,
        }))
        .sort((a, b) => a.created_at - b.created_at || compare(a.kid, b.kid)),
    verify,
  }
}

/** The key's public half from its record, checked against its alg. */
function importPublic(record: SigningKeyRecord): PublishedKey {
  if (!isSigningAlg(record.alg)) throw new Error(`signing key ${record.kid} has an unsupported alg`)
  const members = publicMembers(record.public_jwk as JWK)
  let publicKey: KeyObject
  try {
    publicKey = createPublicKey({ key: members as JsonWebKey, format: 'jwk' })
    assertKeyFitsAlg(publicKey, record.alg)
  } catch {
    throw new Error(`signing key ${record.kid} has an invalid public key for ${record.alg}`)
  }
  return { record, publicKey, jwk: publishedJwk(record.kid, record.alg, members) }
}

/** Only the public members of an RSA or EC JWK, so nothing private can be copied out by mistake. */
function publicMembers(jwk: JWK): JWK {
  if (jwk.kty === 'RSA') return { kty: 'RSA', n: jwk.n, e: jwk.e }
  if (jwk.kty === 'EC') return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y }
  throw new TypeError('only RSA and EC keys are supported')
}

/** The JWK we publish: kid, kty, alg, use and the public members (cis2.md 1.5: RPs select by kid). */
function publishedJwk(kid: string, alg: SigningAlg, members: JWK): JWK {
  const head = { kid, kty: members.kty, alg, use: 'sig' }
  return members.kty === 'RSA' ? { ...head, n: members.n, e: members.e } : { ...head, crv: members.crv, x: members.x, y: members.y }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Plain code-unit order: the same on every node, unlike locale comparison. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
