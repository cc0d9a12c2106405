/**
 * A smartcard on a PKCS#11 token, with SoftHSM2 as the token: `careid cards issue --pkcs11-module`
 * makes the key on the token and writes the certificate next to it; the PKCS#11 reader then finds
 * the card, refuses a wrong PIN, signs ES256 with the right one, proves the card is at hand without
 * the PIN (its authentication key, which reports a locked PIN), and notices the token's removal.
 *
 * Each run has a private SoftHSM2 token store in a temporary directory (SOFTHSM2_CONF), so it never
 * sees or touches anyone else's tokens. Removal is the token's deletion (`softhsm2-util
 * --delete-token`): the library then no longer reads the token, as with a card pulled from its reader.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { X509Certificate as NodeX509, verify } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { compactVerify, importX509 } from 'jose'
import pkcs11js from 'pkcs11js'
import { createAgent, createAgentKey, createProviderClient } from '@careid/agent'
import { lockReportData, openCardAuthority, Pkcs11CardReader, type UnlockResult } from '@careid/cards'
import { demoWorkforce } from '@careid/domain'
import { createSecretBox } from '@careid/oidc'
import { loadKeyEncryptionKey } from '@careid/store/key-encryption-key'
import type { Json } from '@careid/ports'
import { startTestCareid } from '../support/careid.ts'
import { ok, refused, runCareid, withStore } from '../support/cli.ts'
import { expectJsonError } from '../support/refusals.ts'
import { agentUrl, challenge, postJson } from '../support/smartcard.ts'
import { requires, softhsm2 } from '../support/system_packages.ts'

const run = promisify(execFile)
const MODULE = softhsm2.path
const PIN = '246813'
const SO_PIN = '97531864'
const [ada, ben] = demoWorkforce as [(typeof demoWorkforce)[number], (typeof demoWorkforce)[number]]

const dir = mkdtempSync(join(tmpdir(), 'careid-pkcs11-'))
const dataDir = join(dir, 'data')
const conf = join(dir, 'softhsm2.conf')
mkdirSync(join(dir, 'tokens'))
mkdirSync(dataDir, { mode: 0o700 })
writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`)
// Read by SoftHSM2 when it initialises, in this process (the reader) and in `careid` (the issuer).
process.env.SOFTHSM2_CONF = conf
after(() => rmSync(dir, { recursive: true, force: true }))

function initToken(label: string): Promise<unknown> {
  return run('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', PIN, '--so-pin', SO_PIN], { env: { ...process.env, SOFTHSM2_CONF: conf } })
}

function deleteToken(label: string): Promise<unknown> {
  return run('softhsm2-util', ['--delete-token', '--token', label], { env: { ...process.env, SOFTHSM2_CONF: conf } })
}

const careid = (...args: string[]) => runCareid([...args, '--data-dir', dataDir], { env: { SOFTHSM2_CONF: conf }, timeoutMs: 60_000 })




function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

describe('a smartcard on a PKCS#11 token (SoftHSM2)', { ...requires(softhsm2), concurrency: 1 }, () => {
  const label = 'careid-ada'
  let serial = ''
  let reader: Pkcs11CardReader

  before(async () => {
    await withStore(dataDir, async (store) => {
      for (const person of [ada, ben]) await store.people.put(person.uid, person.username, person as unknown as Json)
    })
    await initToken(label)
    reader = new Pkcs11CardReader({ module: MODULE, tokenLabel: label })
  })
  after(() => reader.close())

  it('careid cards issue --pkcs11-module makes the key on the token and registers the card', async () => {
    const stdout = ok(await careid('cards', 'issue', ada.uid, '--pkcs11-module', MODULE, '--token-label', label, '--passcode', PIN))
    const issued = /^Issued card ([0-9a-f]{32}) to (\d{12}), valid until \S+\.\nOn token "careid-ada"\n$/.exec(stdout)
    assert.ok(issued, stdout)
    serial = issued[1] ?? ''
    assert.doesNotMatch(stdout, new RegExp(PIN))
    const card = await withStore(dataDir, (store) => store.cards.get(serial))
    assert.equal(card?.kind, 'pkcs11')
    assert.equal(card?.uid, ada.uid)
  })

  it('the reader finds the card on the token without a passcode', async () => {
    const info = await reader.present()
    const card = await withStore(dataDir, (store) => store.cards.get(serial))
    assert.deepStrictEqual(info, { serial, uid: ada.uid, kind: 'pkcs11', certificate: card?.certificate })
  })

  it('the private keys (card key, card authentication key) are on the token only: sensitive, not extractable', () => {
    const pkcs11 = new pkcs11js.PKCS11()
    pkcs11.load(MODULE)
    // The reader in this process has initialised the library already.
    try {
      pkcs11.C_Initialize()
    } catch (error) {
      assert.equal((error as { code?: number }).code, pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED)
    }
    const slot = pkcs11.C_GetSlotList(true).find((s) => pkcs11.C_GetTokenInfo(s).label.trimEnd() === label)
    assert.ok(slot)
    const session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION)
    try {
      pkcs11.C_Login(session, pkcs11js.CKU_USER, PIN)
      pkcs11.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }])
      const keys = pkcs11.C_FindObjects(session, 10)
      pkcs11.C_FindObjectsFinal(session)
      assert.equal(keys.length, 2)
      for (const key of keys) {
        const [sensitive, extractable] = pkcs11.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_EXTRACTABLE }])
        assert.deepStrictEqual([sensitive?.value, extractable?.value], [Buffer.from([1]), Buffer.from([0])])
        assert.throws(() => pkcs11.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_VALUE }]), { message: 'CKR_ATTRIBUTE_SENSITIVE' })
      }
      pkcs11.C_Logout(session)
    } finally {
      pkcs11.C_CloseSession(session)
    }
  })

  it('a wrong PIN is wrong_passcode, checked by the token itself (SoftHSM2 keeps no PIN counter; a real card locks)', async () => {
    for (const pin of ['999999', '2468130', '24681', 'abcdef']) assert.deepStrictEqual(await reader.unlock(pin), { ok: false, reason: 'wrong_passcode' })
    for (let i = 0; i < 4; i++) assert.deepStrictEqual(await reader.unlock('135792'), { ok: false, reason: 'wrong_passcode' })
    const unlocked = await reader.unlock(PIN)
    assert.equal(unlocked.ok, true)
    if (unlocked.ok) await unlocked.card.close()
  })

  it('the right PIN opens the card: it signs ES256 that verifies against its certificate, which the authority accepts', async () => {
    const unlocked = await reader.unlock(PIN)
    assert.ok(unlocked.ok)
    const data = Buffer.from('challenge-from-the-provider')
    const signature = await unlocked.card.sign(data)
    assert.equal(signature.length, 64)
    const publicKey = new NodeX509(unlocked.card.info.certificate).publicKey
    assert.equal(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature), true)
    assert.equal(verify('sha256', Buffer.from('something else'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature), false)
    const signingInput = `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.${Buffer.from('{"challenge":"c2"}').toString('base64url')}`
    const jws = `${signingInput}.${Buffer.from(await unlocked.card.sign(Buffer.from(signingInput))).toString('base64url')}`
    assert.deepStrictEqual(JSON.parse(Buffer.from((await compactVerify(jws, await importX509(unlocked.card.info.certificate, 'ES256'))).payload).toString()), { challenge: 'c2' })
    await unlocked.card.close()
    await assert.rejects(unlocked.card.sign(data), { message: 'the card was closed' })

    await withStore(dataDir, async (store) => {
      const authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets: createSecretBox(loadKeyEncryptionKey({ dataDir })) })
      const verified = await authority.verifyCardCertificate(unlocked.card.info.certificate, Date.now())
      assert.equal(verified.ok, true)
    })
  })

  it('the card authentication key signs without the PIN, and only as this card over this challenge', async () => {
    const signature = await reader.authenticate(lockReportData(serial, 'challenge-1'))
    assert.ok(signature)
    await withStore(dataDir, async (store) => {
      const authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets: createSecretBox(loadKeyEncryptionKey({ dataDir })) })
      const card = await store.cards.get(serial)
      assert.ok(card?.authentication_key)
      assert.equal(authority.verifyLockReport(card, 'challenge-1', signature), true)
      assert.equal(authority.verifyLockReport(card, 'challenge-2', signature), false)
      assert.equal(authority.verifyLockReport({ ...card, serial: 'ff' }, 'challenge-1', signature), false)
    })
  })

  it('when the token says its PIN is locked, the agent reports it with the card; the card lists LOCKED at once', async () => {
    const careidServer = await startTestCareid({ dataDir })
    try {
      // SoftHSM2 keeps no PIN counter: this reader answers as a real card's token does once its PIN is locked.
      class PinLockedToken extends Pkcs11CardReader {
        override async unlock(): Promise<UnlockResult> {
          return { ok: false, reason: 'locked' }
        }
      }
      // Knowing the serial is not enough: a report the card did not sign locks nothing.
      const value = ((await (await challenge(careidServer, serial)).json()) as { challenge: string }).challenge
      const forged = await postJson(agentUrl(careidServer, '/agent/card/locked'), { serial, challenge: value, signature: Buffer.alloc(64, 7).toString('base64url') })
      await expectJsonError(forged, { status: 401, error: 'invalid_card_proof' })
      assert.equal((await careidServer.context.store.cards.get(serial))?.locked_at, undefined)

      const said: string[] = []
      const key = await createAgentKey()
      const agent = createAgent({
        issuer: careidServer.issuer,
        mode: 'identity-agent',
        reader: new PinLockedToken({ module: MODULE, tokenLabel: label }),
        provider: createProviderClient({ issuer: careidServer.issuer, key }),
        key,
        prompter: { passcode: async () => '135792', chooseRole: async () => undefined, say: (line) => said.push(line) },
        pollMs: 50,
      })
      const before = Date.now()
      assert.equal(await agent.signIn(), 'card_locked')
      await agent.stop()
      assert.ok(said.includes('The card is locked. Ask your Registration Authority to unlock it.'), said.join(' | '))
      const card = await careidServer.context.store.cards.get(serial)
      assert.ok(card?.locked_at !== undefined && card.locked_at >= before && card.locked_at <= Date.now(), 'recorded locked when the token said so')
      const [event] = await careidServer.context.store.audit.recent(1)
      assert.deepStrictEqual({ type: event?.type, detail: event?.detail }, { type: 'card.locked', detail: { serial, by: 'token' } })
      assert.match(ok(await careid('cards', 'list', '--uid', ada.uid)), new RegExp(`^${serial} .* LOCKED ${new Date(card.locked_at).toISOString()}\n$`))
      // The report used its challenge up, and the card gets no more.
      await expectJsonError(await challenge(careidServer, serial), { status: 403, error: 'card_locked' })
    } finally {
      // Stopped, not closed: closing would remove this suite's data directory.
      await careidServer.stop()
    }
    // The Registration Authority unlocks it (the token's own PIN is reset with its SO PIN).
    assert.equal(
      ok(await careid('cards', 'unlock', serial)),
      `Card ${serial} unlocked; its holder has 3 passcode attempts again (a token's own PIN lock is reset on the token, with its SO PIN).\n`,
    )
  })

  it('issue refuses a wrong PIN, an absent token and a token already holding a card, registering nothing', async () => {
    const count = () => withStore(dataDir, async (store) => (await store.cards.list()).length)
    const before = await count()
    await initToken('careid-ben')
    refused(await careid('cards', 'issue', ben.uid, '--pkcs11-module', MODULE, '--token-label', 'careid-ben', '--passcode', '111111'), /^careid: the PIN of token "careid-ben" is not the passcode given\n$/)
    refused(await careid('cards', 'issue', ben.uid, '--pkcs11-module', MODULE, '--token-label', 'no-such-token', '--passcode', PIN), /^careid: no token labelled "no-such-token" is present\n$/)
    refused(await careid('cards', 'issue', ben.uid, '--pkcs11-module', MODULE, '--token-label', label, '--passcode', PIN), /^careid: token "careid-ada" already holds a card certificate; use a fresh token\n$/)
    refused(await careid('cards', 'issue', ben.uid, '--pkcs11-module', MODULE, '--token-label', 'careid-ben'), /^careid: a card on a token needs --passcode \(or CAREID_CARD_PASSCODE\): the token's user PIN\n$/)
    refused(await careid('cards', 'issue', ben.uid, '--token-label', 'careid-ben', '--passcode', PIN), /^careid: a card on a token needs both --pkcs11-module and --token-label\n$/)
    assert.equal(await count(), before)
    // A person who already holds a card: refused by the authority, and the key made for it is gone.
    refused(await careid('cards', 'issue', ada.uid, '--pkcs11-module', MODULE, '--token-label', 'careid-ben', '--passcode', PIN), new RegExp(`^careid: ${ada.uid} already holds active card ${serial}`))
    assert.equal(await count(), before)
    const benReader = new Pkcs11CardReader({ module: MODULE, tokenLabel: 'careid-ben' })
    try {
      assert.equal(await benReader.present(), undefined)
      ok(await careid('cards', 'issue', ben.uid, '--pkcs11-module', MODULE, '--token-label', 'careid-ben', '--passcode', PIN))
      assert.equal((await benReader.present())?.uid, ben.uid)
    } finally {
      await benReader.close()
    }
  })

  it('removing the token is noticed; the card no longer signs and is no longer present', async () => {
    const unlocked = await reader.unlock(PIN)
    assert.ok(unlocked.ok)
    let removals = 0
    const removed = new Promise<void>((resolve) =>
      reader.onRemoved(() => {
        removals++
        resolve()
      }),
    )
    await deleteToken(label)
    await within(removed, 15_000, 'removal')
    await new Promise((r) => setTimeout(r, 1500))
    assert.equal(removals, 1)
    await assert.rejects(unlocked.card.sign(Buffer.from('x')))
    await unlocked.card.close()
    assert.equal(await reader.present(), undefined)
    assert.deepStrictEqual(await reader.unlock(PIN), { ok: false, reason: 'no_card' })
  })
})
