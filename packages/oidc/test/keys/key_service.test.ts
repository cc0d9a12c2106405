import { strict as assert } from 'node:assert'
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type JsonWebKey, type KeyObject } from 'node:crypto'
import { describe, it } from 'node:test'
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify, type JWK } from 'jose'
import type { AeadSecretBox, KeyStore, SigningKeyRecord } from '@careid/ports'
import {
  createJwtSigner,
  createKeyService,
  createSecretBox,
  type KeyService,
  type SigningAlg,
} from '../../src/keys/index.ts'

/**
 * An in-memory KeyStore with the contract's semantics: records are copied in and out, `activate`
 * is atomic (no await inside) and refuses a key that is not `next`, and `removeExpired` deletes
 * retired keys whose remove_at <= now.
 */
function memoryKeyStore(): KeyStore & { records: Map<string, SigningKeyRecord> } {
  const records = new Map<string, SigningKeyRecord>()
  return {
    records,
    async list() {
      return [...records.values()].map((record) => structuredClone(record))
    },
    async put(key) {
      records.set(key.kid, structuredClone(key))
    },
    async activate(kid, retireRemoveAt) {
      const target = records.get(kid)
      if (target === undefined || target.state !== 'next') return false
      for (const record of records.values()) {
        if (record.state === 'active') {
          record.state = 'retired'
          record.remove_at = retireRemoveAt
        }
      }
      target.state = 'active'
      return true
    },
    async removeExpired(now) {
      const removed: string[] = []
      for (const record of records.values()) {
        if (record.state === 'retired' && record.remove_at !== undefined && record.remove_at <= now) {
          records.delete(record.kid)
          removed.push(record.kid)
        }
      }
      return removed
    },
  }
}

const minute = 60_000
const hour = 60 * minute
const publishLeadMs = 24 * hour
const retainAfterRetireMs = 2 * hour

interface Harness {
  store: ReturnType<typeof memoryKeyStore>
  secrets: AeadSecretBox
  clock: { t: number }
  keys: KeyService
}

async function harness(store = memoryKeyStore(), secrets = createSecretBox(randomBytes(32)), clock = { t: Date.UTC(2026, 0, 1) }): Promise<Harness> {
  const keys = await createKeyService({ store, secrets, now: () => clock.t, publishLeadMs, retainAfterRetireMs })
  return { store, secrets, clock, keys }
}

async function verifiesWithJose(token: string, jwks: { keys: JWK[] }, alg: SigningAlg): Promise<boolean> {
  try {
    await jwtVerify(token, createLocalJWKSet(jwks), { algorithms: [alg] })
    return true
  } catch {
    return false
  }
}

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** Our real private key, taken out of the store with the box (what an attacker must not have). */
function storedPrivateKey(h: Harness, kid: string): KeyObject {
  const record = h.store.records.get(kid)!
  return createPrivateKey({ key: JSON.parse(h.secrets.open(record.private_jwk_encrypted, kid)), format: 'jwk' })
}

describe('key service', () => {
  it('creates one active RS256 key at first start, named by its RFC 7638 thumbprint', async () => {
    const h = await harness()
    assert.equal(h.keys.activeKid(), undefined)
    assert.deepEqual(h.keys.jwks(), { keys: [] })
    assert.throws(() => h.keys.sign({}, 'JWT'), /no signing key is active/)

    const kid = await h.keys.ensureActive()
    assert.equal(await h.keys.ensureActive(), kid)
    assert.equal(h.keys.activeKid(), kid)
    assert.equal(h.store.records.size, 1)
    assert.deepEqual(h.keys.list(), [{ kid, alg: 'RS256', state: 'active', created_at: h.clock.t, activate_at: h.clock.t, remove_at: undefined }])

    const { keys } = h.keys.jwks()
    assert.equal(keys.length, 1)
    const jwk = keys[0]!
    assert.deepEqual(Object.keys(jwk).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use'])
    assert.deepEqual({ kid: jwk.kid, kty: jwk.kty, alg: jwk.alg, use: jwk.use }, { kid, kty: 'RSA', alg: 'RS256', use: 'sig' })
    assert.equal(Buffer.from(jwk.n!, 'base64url').length, 256)
    assert.equal(await calculateJwkThumbprint(jwk), kid)
    assert.equal(h.keys.jwksJson(), JSON.stringify(h.keys.jwks()))
  })

  it('recomputes the JWKS JSON only when the published set changes', async () => {
    const h = await harness()
    await h.keys.ensureActive()
    const before = h.keys.jwksJson()
    await h.keys.reload()
    await h.keys.tick()
    assert.equal(h.keys.jwksJson(), before)
    await h.keys.rotate()
    assert.notEqual(h.keys.jwksJson(), before)
  })

  for (const alg of ['RS256', 'PS256', 'ES256'] as const) {
    it(`signs with an activated ${alg} key; jose verifies against jwks(), and verify() accepts it`, async () => {
      const h = await harness()
      await h.keys.ensureActive()
      const kid = await h.keys.rotate(alg)
      h.clock.t += publishLeadMs
      assert.deepEqual((await h.keys.tick()).activated, [kid])
      const token = h.keys.sign({ iss: 'https://careid.test', sub: 'uid-1' }, 'JWT')
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(h.keys.jwks()), { algorithms: [alg] })
      assert.deepEqual(protectedHeader, { alg, kid, typ: 'JWT' })
      assert.equal(payload.sub, 'uid-1')
      assert.deepEqual(h.keys.verify(token), { header: { alg, kid, typ: 'JWT' }, payload: { iss: 'https://careid.test', sub: 'uid-1' } })
      if (alg === 'ES256') {
        const jwk = h.keys.jwks().keys.find((key) => key.kid === kid)!
        assert.deepEqual(Object.keys(jwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
      }
    })
  }

  it('rotates: the next key is published before it signs, the old one stays until remove_at', async () => {
    const h = await harness()
    const first = await h.keys.ensureActive()
    const oldToken = h.keys.sign({ sub: 'a' }, 'JWT')

    h.clock.t += hour
    const rotatedAt = h.clock.t
    const next = await h.keys.rotate()
    assert.notEqual(next, first)
    assert.equal(await h.keys.rotate(), next, 'a second rotate keeps the waiting key')
    await assert.rejects(h.keys.rotate('ES256'), /already waiting to sign/)
    assert.deepEqual(h.keys.jwks().keys.map((key) => key.kid), [first, next])
    assert.equal(h.keys.list().find((key) => key.kid === next)?.activate_at, rotatedAt + publishLeadMs)

    // Published but not yet signing.
    h.clock.t = rotatedAt + publishLeadMs - 1
    assert.deepEqual(await h.keys.tick(), { activated: [], removed: [] })
    assert.equal(h.keys.activeKid(), first)
    const jwksBeforeSwitch = h.keys.jwks()

    // Due: signs, and a relying party that cached the JWKS before the switch verifies it.
    h.clock.t = rotatedAt + publishLeadMs
    const switchedAt = h.clock.t
    assert.deepEqual(await h.keys.tick(), { activated: [next], removed: [] })
    const newToken = h.keys.sign({ sub: 'b' }, 'JWT')
    assert.equal(JSON.parse(Buffer.from(newToken.split('.')[0]!, 'base64url').toString()).kid, next)
    assert.ok(await verifiesWithJose(newToken, jwksBeforeSwitch, 'RS256'))
    assert.deepEqual(
      h.keys.list().map(({ kid, state, remove_at }) => ({ kid, state, remove_at })),
      [
        { kid: first, state: 'retired', remove_at: switchedAt + retainAfterRetireMs },
        { kid: next, state: 'active', remove_at: undefined },
      ],
    )
    assert.deepEqual(h.keys.jwks().keys.map((key) => key.kid), [next, first])

    // The retired key stays published until remove_at, then goes.
    h.clock.t = switchedAt + retainAfterRetireMs - 1
    await h.keys.tick()
    assert.ok(await verifiesWithJose(oldToken, h.keys.jwks(), 'RS256'))
    assert.notEqual(h.keys.verify(oldToken), undefined)
    h.clock.t = switchedAt + retainAfterRetireMs
    assert.deepEqual(await h.keys.tick(), { activated: [], removed: [first] })
    assert.deepEqual(h.keys.jwks().keys.map((key) => key.kid), [next])
    assert.equal(await verifiesWithJose(oldToken, h.keys.jwks(), 'RS256'), false)
    assert.equal(h.keys.verify(oldToken), undefined)
    assert.ok(await verifiesWithJose(newToken, h.keys.jwks(), 'RS256'))
  })

  it('keeps the newest view when an older, slower reload finishes last', async () => {
    const h = await harness()
    await h.keys.ensureActive()
    const stale = await h.store.list()
    const list = h.store.list
    let release = (): void => {}
    h.store.list = async () => {
      await new Promise<void>((resolve) => (release = resolve))
      return stale
    }
    const slow = h.keys.reload()
    h.store.list = list
    const next = await h.keys.rotate()
    release()
    await slow
    assert.deepEqual(h.keys.jwks().keys.map((key) => key.kid), [h.keys.activeKid(), next])
  })

  it('lets several nodes on one store rotate and tick together', async () => {
    const a = await harness()
    const b = await harness(a.store, a.secrets, a.clock)
    const [kidA, kidB] = await Promise.all([a.keys.ensureActive(), b.keys.ensureActive()])
    // Both may have created a key at the same instant; they agree on which one signs.
    await Promise.all([a.keys.reload(), b.keys.reload()])
    assert.equal(a.keys.activeKid(), b.keys.activeKid())
    assert.ok([kidA, kidB].includes(a.keys.activeKid()!))
    assert.equal(a.keys.jwksJson(), b.keys.jwksJson())

    const next = await a.keys.rotate()
    assert.equal(await b.keys.rotate(), next, 'b sees the key a is waiting on')
    a.clock.t += publishLeadMs
    const [ta, tb] = await Promise.all([a.keys.tick(), b.keys.tick()])
    assert.deepEqual([...ta.activated, ...tb.activated], [next])
    assert.equal(a.keys.activeKid(), next)
    assert.equal(b.keys.activeKid(), next)
    assert.equal([...a.store.records.values()].filter((record) => record.state === 'active').length, 1)
  })

  it('activates due keys in order when several are waiting, ending with the latest', async () => {
    const h = await harness()
    const first = await h.keys.ensureActive()
    // Two keys added by two nodes at nearly the same time (rotate returns the waiting one, so put directly).
    const other = await harness(h.store, h.secrets, h.clock)
    const k1 = await h.keys.rotate()
    h.clock.t += 1000
    const waiting = h.store.records.get(k1)!
    h.store.records.delete(k1)
    const k2 = await other.keys.rotate()
    h.store.records.set(k1, waiting)
    h.clock.t += publishLeadMs
    assert.deepEqual((await h.keys.tick()).activated, [k1, k2])
    assert.deepEqual(
      h.keys.list().map(({ kid, state }) => ({ kid, state })).sort((x, y) => (x.kid < y.kid ? -1 : 1)),
      [
        { kid: first, state: 'retired' },
        { kid: k1, state: 'retired' },
        { kid: k2, state: 'active' },
      ].sort((x, y) => (x.kid < y.kid ? -1 : 1)),
    )
  })

  it('never lets an unencrypted private key reach the store', async () => {
    const h = await harness()
    await h.keys.ensureActive()
    await h.keys.rotate('ES256')
    h.clock.t += publishLeadMs
    await h.keys.tick()
    await h.keys.rotate('RS256')
    const stored = JSON.stringify([...h.store.records.values()])
    assert.ok(!stored.includes('"d":'), 'no private exponent or scalar in the clear')
    for (const record of h.store.records.values()) {
      assert.ok(!/"(d|p|q|dp|dq|qi)"/.test(JSON.stringify(record.public_jwk)))
      assert.match(record.private_jwk_encrypted, /^v1\./)
      // Sealed with the kid as associated data: it does not open under another kid.
      assert.throws(() => h.secrets.open(record.private_jwk_encrypted), TypeError)
      assert.ok('d' in JSON.parse(h.secrets.open(record.private_jwk_encrypted, record.kid)))
    }
  })

  it('refuses to start with a key-encryption key that cannot open the active key, without leaking it', async () => {
    const h = await harness()
    const kid = await h.keys.ensureActive()
    const wrongKey = randomBytes(32)
    await assert.rejects(
      harness(h.store, createSecretBox(wrongKey)),
      (error: unknown) =>
        error instanceof Error && error.message.includes(kid) && /cannot be opened/.test(error.message) && !error.message.includes(wrongKey.toString('base64url')),
    )
  })

  it('refuses a stored private key that does not match its published public key', async () => {
    const h = await harness()
    const kid = await h.keys.ensureActive()
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    h.store.records.get(kid)!.private_jwk_encrypted = h.secrets.seal(JSON.stringify(stranger.export({ format: 'jwk' })), kid)
    await assert.rejects(harness(h.store, h.secrets), /does not match the published public key/)
  })

  it('hands out JWKS copies that callers cannot change', async () => {
    const h = await harness()
    await h.keys.ensureActive()
    h.keys.jwks().keys[0]!.n = 'changed'
    assert.notEqual(h.keys.jwks().keys[0]!.n, 'changed')
  })

  it('activates a waiting key rather than creating one when nothing is active', async () => {
    const h = await harness()
    const waiting = await h.keys.rotate()
    assert.equal(h.keys.activeKid(), undefined)
    assert.equal(await h.keys.ensureActive(), waiting)
    assert.equal(h.store.records.size, 1)
  })

  it('refuses negative or non-finite durations', async () => {
    const store = memoryKeyStore()
    const secrets = createSecretBox(randomBytes(32))
    await assert.rejects(createKeyService({ store, secrets, now: Date.now, publishLeadMs: -1, retainAfterRetireMs: 0 }), RangeError)
    await assert.rejects(createKeyService({ store, secrets, now: Date.now, publishLeadMs: 0, retainAfterRetireMs: Number.NaN }), RangeError)
  })
})

describe('key service verify()', () => {
  async function started(): Promise<Harness & { kid: string }> {
    const h = await harness()
    const kid = await h.keys.ensureActive()
    return { ...h, kid }
  }

  it('accepts our expired tokens (exp is the caller’s decision) and returns header and payload', async () => {
    const h = await started()
    const token = h.keys.sign({ sub: 'uid-1', exp: 1 }, 'JWT')
    assert.deepEqual(h.keys.verify(token)?.payload, { sub: 'uid-1', exp: 1 })
  })

  it('refuses alg none', async () => {
    const h = await started()
    const body = encode({ sub: 'uid-1' })
    assert.equal(h.keys.verify(`${encode({ alg: 'none', kid: h.kid })}.${body}.`), undefined)
    assert.equal(h.keys.verify(`${encode({ alg: 'none', kid: h.kid })}.${body}.AAAA`), undefined)
    assert.equal(h.keys.verify(`${encode({ alg: 'none' })}.${body}.`), undefined)
  })

  it('refuses HS256 keyed with our public key (algorithm confusion)', async () => {
    const h = await started()
    const { keys } = h.keys.jwks()
    const jwk = keys[0]!
    const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
    const secrets = [pem, Buffer.from(JSON.stringify(jwk)), Buffer.from(jwk.n!, 'base64url'), h.keys.jwksJson()]
    for (const secret of secrets) {
      const input = `${encode({ alg: 'HS256', kid: h.kid, typ: 'JWT' })}.${encode({ sub: 'admin' })}`
      const mac = createHmac('sha256', secret).update(input).digest('base64url')
      assert.equal(h.keys.verify(`${input}.${mac}`), undefined)
    }
  })

  it('refuses a foreign key using our kid, an unknown kid, and an alg that is not the key’s', async () => {
    const h = await started()
    const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    assert.equal(h.keys.verify(createJwtSigner(foreign, 'RS256', h.kid).sign({ sub: 'x' }, 'JWT')), undefined)
    assert.equal(h.keys.verify(createJwtSigner(foreign, 'RS256', 'unknown-kid').sign({ sub: 'x' }, 'JWT')), undefined)
    // Even our own private key, if the header names an alg other than the key's (PS256 on an RS256 key).
    const ours = storedPrivateKey(h, h.kid)
    assert.notEqual(h.keys.verify(createJwtSigner(ours, 'RS256', h.kid).sign({ sub: 'x' }, 'JWT')), undefined)
    assert.equal(h.keys.verify(createJwtSigner(ours, 'PS256', h.kid).sign({ sub: 'x' }, 'JWT')), undefined)
    assert.equal(h.keys.verify(createJwtSigner(ours, 'RS256', 'unknown-kid').sign({ sub: 'x' }, 'JWT')), undefined)
    // A valid RS256 signature by our key under a header that names another alg.
    for (const alg of ['RS512', 'PS256', 'rs256', 'ES256']) {
      const input = `${encode({ alg, kid: h.kid, typ: 'JWT' })}.${encode({ sub: 'x' })}`
      assert.equal(h.keys.verify(`${input}.${sign('sha256', Buffer.from(input), ours).toString('base64url')}`), undefined, alg)
    }
  })

  it('refuses altered tokens, crit headers and malformed input', async () => {
    const h = await started()
    const token = h.keys.sign({ sub: 'uid-1' }, 'JWT')
    const [header, payload, signature] = token.split('.') as [string, string, string]
    assert.equal(h.keys.verify(`${header}.${encode({ sub: 'uid-2' })}.${signature}`), undefined)
    assert.equal(h.keys.verify(`${header}.${payload}.${signature.slice(0, -4)}`), undefined)
    assert.equal(h.keys.verify(`${header}.${payload}`), undefined)
    assert.equal(h.keys.verify(`${token}.extra`), undefined)
    assert.equal(h.keys.verify(`${header}.${payload}.${signature}=`), undefined)
    assert.equal(h.keys.verify('not a jwt'), undefined)
    assert.equal(h.keys.verify(''), undefined)

    const ours = storedPrivateKey(h, h.kid)
    const critInput = `${encode({ alg: 'RS256', kid: h.kid, crit: ['exp'], exp: 1 })}.${encode({ sub: 'x' })}`
    assert.equal(h.keys.verify(`${critInput}.${sign('sha256', Buffer.from(critInput), ours).toString('base64url')}`), undefined)
    const arrayInput = `${encode({ alg: 'RS256', kid: h.kid })}.${Buffer.from('[1]').toString('base64url')}`
    assert.equal(h.keys.verify(`${arrayInput}.${sign('sha256', Buffer.from(arrayInput), ours).toString('base64url')}`), undefined)
  })
})
