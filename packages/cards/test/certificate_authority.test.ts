import assert from 'node:assert/strict'
import { randomBytes, webcrypto } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { createSecretBox } from '@careid/oidc'
import type { Json } from '@careid/ports'
import { openSqliteStore } from '@careid/store/sqlite'
import { CARD_RENEWAL_WINDOW_MS, CARD_VALIDITY_MS, CardIssueRefused, issueVirtualCard, openCardAuthority, type CardAuthority } from '../src/index.ts'
import * as x509 from '../src/x509.ts'
import { ada, ben, bench, type Bench } from './support.ts'

const T = Date.UTC(2026, 10, 1, 9, 0, 0)
const DAY = 86_400_000
const PASSCODE = '482916'

async function newKey(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
}

describe('card certificate authority', () => {
  let b: Bench
  let authority: CardAuthority
  before(async () => {
    b = await bench()
    authority = await openCardAuthority({ cards: b.store.cards, people: b.store.people, secrets: b.secrets, now: () => T - DAY })
  })
  after(() => b.cleanup())

  it('is made once and kept: its key sealed under the key-encryption key', async () => {
    const stored = await b.store.cards.getAuthority()
    assert.ok(stored)
    assert.equal(stored.certificate, authority.certificate)
    assert.match(stored.private_key_sealed, /^v1\./)
    // A PKCS#8 P-256 key in base64 starts "MIGHAgEA"; sealed, it appears nowhere.
    assert.doesNotMatch(stored.private_key_sealed, /MIGHAgEA/)
    const again = await openCardAuthority({ cards: b.store.cards, people: b.store.people, secrets: b.secrets })
    assert.equal(again.certificate, authority.certificate)
    const ca = new x509.X509Certificate(authority.certificate)
    assert.equal(ca.getExtension(x509.BasicConstraintsExtension)?.ca, true)
    assert.equal(ca.publicKey.algorithm.name, 'ECDSA')
  })

  it('issues a two-year card certificate naming the holder, and verifies it', async () => {
    const { card } = await issueVirtualCard({ authority, uid: ada.uid, passcode: PASSCODE, now: T })
    const certificate = new x509.X509Certificate(card.certificate)
    assert.match(card.serial, /^[4-7][0-9a-f]{31}$/)
    assert.equal(certificate.serialNumber.toLowerCase(), card.serial)
    assert.equal(certificate.subject, `CN=${ada.display_name}, 2.5.4.5=${ada.uid}`)
    assert.equal(certificate.issuer, new x509.X509Certificate(authority.certificate).subject)
    assert.equal(card.not_before, T)
    assert.equal(card.not_after - card.not_before, CARD_VALIDITY_MS)
    assert.equal(certificate.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature)
    assert.match(card.unlock_secrets_sealed ?? '', /^v1\./, 'the unlock secrets are sealed under the key-encryption key')
    assert.deepStrictEqual(card, {
      serial: card.serial,
      uid: ada.uid,
      kind: 'virtual',
      certificate: card.certificate,
      not_before: T,
      not_after: T + CARD_VALIDITY_MS,
      created_at: T,
      status: 'active',
      failed_attempts: 0,
      unlock_secrets_sealed: card.unlock_secrets_sealed,
    })
    assert.deepStrictEqual(await b.store.cards.get(card.serial), card)
    assert.deepStrictEqual(await authority.verifyCardCertificate(card.certificate, T + DAY), { ok: true, card })
    // A certificate with its time bounds: valid on both.
    assert.equal((await authority.verifyCardCertificate(card.certificate, card.not_before)).ok, true)
    assert.equal((await authority.verifyCardCertificate(card.certificate, card.not_after)).ok, true)
    await b.store.cards.revoke(card.serial, T)
  })

  it('refuses expired, not yet valid, revoked and locked cards with the precise reason', async () => {
    const { card } = await issueVirtualCard({ authority, uid: ada.uid, passcode: PASSCODE, now: T })
    assert.deepStrictEqual(await authority.verifyCardCertificate(card.certificate, card.not_before - 1), { ok: false, reason: 'not_yet_valid' })
    assert.deepStrictEqual(await authority.verifyCardCertificate(card.certificate, card.not_after + 1), { ok: false, reason: 'expired' })
    for (let i = 0; i < 4; i++) await b.store.cards.beginPasscodeAttempt(card.serial, T + i)
    assert.deepStrictEqual(await authority.verifyCardCertificate(card.certificate, T + DAY), { ok: false, reason: 'locked' })
    await b.store.cards.unlock(card.serial, T + 10)
    assert.equal((await authority.verifyCardCertificate(card.certificate, T + DAY)).ok, true)
    await b.store.cards.revoke(card.serial, T + 11)
    assert.deepStrictEqual(await authority.verifyCardCertificate(card.certificate, T + DAY), { ok: false, reason: 'revoked' })
  })

  it('refuses a tampered certificate, and anything that is not a certificate, as bad_chain', async () => {
    const { card } = await issueVirtualCard({ authority, uid: ben.uid, passcode: PASSCODE, now: T })
    const der = Buffer.from(new x509.X509Certificate(card.certificate).rawData)
    // The holder's UID is in the signed part: change its last digit.
    const at = der.lastIndexOf(Buffer.from(ben.uid))
    assert.ok(at > 0)
    der[at + 11] = der[at + 11] === 0x30 ? 0x31 : 0x30
    const tampered = new x509.X509Certificate(der).toString('pem')
    assert.deepStrictEqual(await authority.verifyCardCertificate(tampered, T + DAY), { ok: false, reason: 'bad_chain' })
    for (const junk of ['', 'not a certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----']) {
      assert.deepStrictEqual(await authority.verifyCardCertificate(junk, T + DAY), { ok: false, reason: 'bad_chain' })
    }
    // The authority's own certificate is no card.
    assert.deepStrictEqual(await authority.verifyCardCertificate(authority.certificate, T + DAY), { ok: false, reason: 'unknown_card' })
    await b.store.cards.revoke(card.serial, T)
  })

  it('refuses a card from a foreign authority, even one that copies our name and a registered serial', async () => {
    const { card } = await issueVirtualCard({ authority, uid: ada.uid, passcode: PASSCODE, now: T })
    const foreignKey = await newKey()
    const holderKey = await newKey()
    const forged = await x509.X509CertificateGenerator.create({
      serialNumber: card.serial,
      subject: new x509.X509Certificate(card.certificate).subject,
      issuer: new x509.X509Certificate(authority.certificate).subject,
      notBefore: new Date(T),
      notAfter: new Date(T + CARD_VALIDITY_MS),
      publicKey: holderKey.publicKey,
      signingKey: foreignKey.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    })
    assert.deepStrictEqual(await authority.verifyCardCertificate(forged.toString('pem'), T + DAY), { ok: false, reason: 'bad_chain' })

    // Another deployment's authority, issuing for the same person.
    const other = await bench()
    try {
      const otherAuthority = await openCardAuthority({ cards: other.store.cards, people: other.store.people, secrets: other.secrets, now: () => T - DAY })
      const { card: foreign } = await issueVirtualCard({ authority: otherAuthority, uid: ada.uid, passcode: PASSCODE, now: T })
      assert.deepStrictEqual(await authority.verifyCardCertificate(foreign.certificate, T + DAY), { ok: false, reason: 'bad_chain' })
    } finally {
      await other.cleanup()
    }
    await b.store.cards.revoke(card.serial, T)
  })

  it('refuses a certificate our authority signed that the registry does not hold as unknown_card', async () => {
    // A second registry sharing the authority: its cards chain to our CA but are not in our registry.
    const elsewhere = await openSqliteStore({ path: ':memory:' })
    try {
      await elsewhere.people.put(ada.uid, ada.username, ada as unknown as Json)
      const stored = await b.store.cards.getAuthority()
      assert.ok(stored)
      await elsewhere.cards.initAuthority(stored)
      const sibling = await openCardAuthority({ cards: elsewhere.cards, people: elsewhere.people, secrets: b.secrets })
      const { card } = await issueVirtualCard({ authority: sibling, uid: ada.uid, passcode: PASSCODE, now: T })
      assert.equal((await sibling.verifyCardCertificate(card.certificate, T + DAY)).ok, true)
      assert.deepStrictEqual(await authority.verifyCardCertificate(card.certificate, T + DAY), { ok: false, reason: 'unknown_card' })
    } finally {
      await elsewhere.close()
    }
  })

  it('issues a second card only within the renewal window or after revocation', async () => {
    const { card } = await issueVirtualCard({ authority, uid: ada.uid, passcode: PASSCODE, now: T })
    await assert.rejects(issueVirtualCard({ authority, uid: ada.uid, passcode: PASSCODE, now: T + DAY }), (error: unknown) => {
      assert.ok(error instanceof CardIssueRefused)
      assert.match(error.message, new RegExp(`already holds active card ${card.serial}`))
      return true
    })
    assert.equal((await b.store.cards.listByPerson(ada.uid)).filter((c) => c.status === 'active').length, 1)
    const renewal = card.not_after - CARD_RENEWAL_WINDOW_MS
    await assert.rejects(issueVirtualCard({ authority, uid: ada.uid, passcode: PASSCODE, now: renewal - 1 }), CardIssueRefused)
    const { card: renewed } = await issueVirtualCard({ authority, uid: ada.uid, passcode: PASSCODE, now: renewal })
    assert.notEqual(renewed.serial, card.serial)
    await b.store.cards.revoke(renewed.serial, renewal)
    await b.store.cards.revoke(card.serial, renewal)
    const { card: replacement } = await issueVirtualCard({ authority, uid: ada.uid, passcode: PASSCODE, now: T + 2 * DAY })
    assert.equal(replacement.status, 'active')
    await b.store.cards.revoke(replacement.serial, T)
  })

  it('refuses an unknown person and a malformed passcode, registering nothing', async () => {
    const before = (await b.store.cards.list()).length
    await assert.rejects(issueVirtualCard({ authority, uid: '999999999999', passcode: PASSCODE, now: T }), { name: 'CardIssueRefused', message: 'no person has the UID 999999999999' })
    for (const passcode of ['12345', '123456789', '12345a', ' 123456', '']) {
      await assert.rejects(issueVirtualCard({ authority, uid: ben.uid, passcode, now: T }), { name: 'TypeError', message: 'a card passcode is 6 to 8 digits' })
    }
    assert.equal((await b.store.cards.list()).length, before)
  })

  it('refuses a card that would not lie within the authority\'s own validity', async () => {
    await assert.rejects(issueVirtualCard({ authority, uid: ben.uid, passcode: PASSCODE, now: T - 2 * DAY }), {
      name: 'CardIssueRefused',
      message: /^the card authority cannot certify a card valid from /,
    })
  })

  it('cannot issue under another key-encryption key, and says so without secrets', async () => {
    const wrong = await openCardAuthority({ cards: b.store.cards, people: b.store.people, secrets: createSecretBox(randomBytes(32)) })
    await assert.rejects(issueVirtualCard({ authority: wrong, uid: ben.uid, passcode: PASSCODE, now: T }), {
      name: 'TypeError',
      message: 'sealed value failed authentication: altered, sealed under another key, or with other associated data',
    })
  })
})
