/**
 * The PKCS#11 card reader: the card is a token, found by its label, behind a PKCS#11 library
 * (OpenSC's `opensc-pkcs11.so` for real smartcards; SoftHSM2 in tests). The passcode is the token's
 * user PIN, checked and counted by the token itself (a real card locks its PIN after its own
 * number of wrong tries; SoftHSM2 keeps no such counter). A locked PIN shows as 'locked'.
 */
import { createHash } from 'node:crypto'
import { isWellFormedPasscode, type CardInfo, type CardReader, type UnlockResult, type UnlockedCard } from '../card_reader.ts'
import * as x509 from '../x509.ts'
import { AUTHENTICATION_KEY_LABEL } from './issue.ts'
import { certificatesOn, findObjects, findToken, isPkcs11Error, lib, loadModule, tokenPresent, type Handle, type ModuleHandle, type TokenRef } from './token.ts'

/** How often removal is checked: PKCS#11 has no portable event for it (C_WaitForSlotEvent is optional). */
const POLL_MS = 1000
/** id-at-serialNumber: where the card certificate carries its holder's UID. */
const SERIAL_NUMBER_ATTRIBUTE = '2.5.4.5'

export interface Pkcs11CardReaderOptions {
  /** The PKCS#11 library, e.g. /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so or /usr/lib/softhsm/libsofthsm2.so. */
  module: string
  /** The card's token label. */
  tokenLabel: string
}

interface Found {
  token: TokenRef
  info: CardInfo
  /** CKA_ID shared by the certificate and its private key. */
  id: Buffer
}

export class Pkcs11CardReader implements CardReader {
  readonly #options: Pkcs11CardReaderOptions
  #module: ModuleHandle | undefined
  readonly #subscriptions = new Set<{ token: TokenRef; listener: () => void }>()
  #poll: NodeJS.Timeout | undefined
  readonly #unlocked = new Set<Pkcs11UnlockedCard>()

  constructor(options: Pkcs11CardReaderOptions) {
    this.#options = options
  }

  async present(): Promise<CardInfo | undefined> {
    return this.#find()?.info
  }

  async unlock(passcode: string): Promise<UnlockResult> {
    if (!isWellFormedPasscode(passcode)) return { ok: false, reason: 'wrong_passcode' }
    const found = this.#find()
    if (found === undefined) return { ok: false, reason: 'no_card' }
    const module = this.#load()
    const { pkcs11 } = module
    let session: Handle
    try {
      session = module.openSession(found.token.slot, false)
    } catch {
      return { ok: false, reason: 'no_card' }
    }
    try {
      // Login is per token for the whole process: log out first, so the PIN is checked now (an
      // earlier unlock still open would make C_Login answer "already logged in", whatever the PIN).
      for (const card of this.#unlocked) await card.close()
      try {
        pkcs11.C_Logout(session)
      } catch {
        // Not logged in: the usual case.
      }
      pkcs11.C_Login(session, lib().CKU_USER, passcode)
    } catch (error) {
      module.closeSession(session)
      if (isPkcs11Error(error, lib().CKR_PIN_INCORRECT) || isPkcs11Error(error, lib().CKR_PIN_LEN_RANGE)) return { ok: false, reason: 'wrong_passcode' }
      if (isPkcs11Error(error, lib().CKR_PIN_LOCKED)) return { ok: false, reason: 'locked' }
      if (!tokenPresent(pkcs11, found.token)) return { ok: false, reason: 'no_card' }
      throw error
    }
    const [key] = findObjects(pkcs11, session, [
      { type: lib().CKA_CLASS, value: lib().CKO_PRIVATE_KEY },
      { type: lib().CKA_ID, value: found.id },
    ])
    if (key === undefined) {
      module.closeSession(session)
      throw new Error(`the token "${this.#options.tokenLabel}" holds a card certificate without its private key`)
    }
    const card = new Pkcs11UnlockedCard(found.info, module, session, key, () => this.#unlocked.delete(card))
    this.#unlocked.add(card)
    return { ok: true, card }
  }

  /** Signs with the card authentication key, in a session without login (the key needs no PIN). */
  async authenticate(data: Uint8Array): Promise<Uint8Array | undefined> {
    const found = this.#find()
    if (found === undefined) return undefined
    const module = this.#load()
    const { pkcs11 } = module
    let session: Handle
    try {
      session = module.openSession(found.token.slot, false)
    } catch {
      return undefined
    }
    try {
      const [key] = findObjects(pkcs11, session, [
        { type: lib().CKA_CLASS, value: lib().CKO_PRIVATE_KEY },
        { type: lib().CKA_LABEL, value: AUTHENTICATION_KEY_LABEL },
      ])
      if (key === undefined) return undefined
      pkcs11.C_SignInit(session, { mechanism: lib().CKM_ECDSA }, key)
      return new Uint8Array(pkcs11.C_Sign(session, createHash('sha256').update(data).digest(), Buffer.alloc(64)))
    } finally {
      module.closeSession(session)
    }
  }

  onRemoved(listener: () => void): () => void {
    const found = this.#find()
    if (found === undefined) {
      const pending = setImmediate(listener)
      return () => clearImmediate(pending)
    }
    const subscription = { token: found.token, listener }
    this.#subscriptions.add(subscription)
    if (this.#poll === undefined) {
      this.#poll = setInterval(() => this.#check(), POLL_MS)
      this.#poll.unref()
    }
    return () => {
      this.#subscriptions.delete(subscription)
      this.#stopPolling()
    }
  }

  async close(): Promise<void> {
    this.#subscriptions.clear()
    this.#stopPolling()
    for (const card of this.#unlocked) await card.close()
    this.#module?.release()
    this.#module = undefined
  }

  #load(): ModuleHandle {
    this.#module ??= loadModule(this.#options.module)
    return this.#module
  }

  /** The card on the token now: its certificate and who it names. */
  #find(): Found | undefined {
    const module = this.#load()
    // A token inserted since the library started may need a rescan to be seen.
    const token = findToken(module.pkcs11, this.#options.tokenLabel) ?? (module.rescan() ? findToken(module.pkcs11, this.#options.tokenLabel) : undefined)
    if (token === undefined) return undefined
    let session: Handle
    try {
      session = module.openSession(token.slot, false)
    } catch {
      return undefined
    }
    try {
      for (const { id, der } of certificatesOn(module.pkcs11, session)) {
        const certificate = new x509.X509Certificate(der)
        const uid = certificate.subjectName.getField(SERIAL_NUMBER_ATTRIBUTE)[0]
        if (uid === undefined) continue
        const info: CardInfo = { serial: certificate.serialNumber.toLowerCase(), uid, kind: 'pkcs11', certificate: certificate.toString('pem') }
        return { token, info, id }
      }
      return undefined
    } catch {
      // The token went while it was being read.
      return undefined
    } finally {
      module.closeSession(session)
    }
  }

  #check(): void {
    const module = this.#module
    for (const subscription of [...this.#subscriptions]) {
      if (module !== undefined && tokenPresent(module.pkcs11, subscription.token)) continue
      this.#subscriptions.delete(subscription)
      subscription.listener()
    }
    this.#stopPolling()
  }

  #stopPolling(): void {
    if (this.#subscriptions.size > 0 || this.#poll === undefined) return
    clearInterval(this.#poll)
    this.#poll = undefined
  }
}

class Pkcs11UnlockedCard implements UnlockedCard {
  readonly info: CardInfo
  readonly #module: ModuleHandle
  readonly #key: Handle
  #session: Handle | undefined
  readonly #onClose: () => void

  constructor(info: CardInfo, module: ModuleHandle, session: Handle, key: Handle, onClose: () => void) {
    this.info = info
    this.#module = module
    this.#session = session
    this.#key = key
    this.#onClose = onClose
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    if (this.#session === undefined) throw new Error('the card was closed')
    const { pkcs11 } = this.#module
    // CKM_ECDSA signs a digest the caller makes; its output is r || s, which is ES256's form.
    const digest = createHash('sha256').update(data).digest()
    pkcs11.C_SignInit(this.#session, { mechanism: lib().CKM_ECDSA }, this.#key)
    return new Uint8Array(pkcs11.C_Sign(this.#session, digest, Buffer.alloc(64)))
  }

  async close(): Promise<void> {
    const session = this.#session
    if (session === undefined) return
    this.#session = undefined
    this.#onClose()
    try {
      this.#module.pkcs11.C_Logout(session)
    } catch {
      // Logged out already, or the token is gone.
    }
    this.#module.closeSession(session)
  }
}
