/**
 * The virtual card reader: "a card is inserted" means a card file is at the reader's path
 * (`careid agent insert` copies one there, `careid agent eject` removes it).
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto'
import { watch, readFileSync, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { isWellFormedPasscode, type CardInfo, type CardReader, type PasscodeCheck, type UnlockResult, type UnlockedCard } from '../card_reader.ts'
import { attemptPasscode, parseCardFile, type CardFile } from './card_file.ts'

/** The fallback check for removal, for file systems where fs.watch misses events. */
const POLL_MS = 1000

interface Subscription {
  /** The card whose removal is awaited. */
  serial: string
  listener: () => void
}

export class VirtualCardReader implements CardReader {
  readonly #path: string
  readonly #subscriptions = new Set<Subscription>()
  #watcher: FSWatcher | undefined
  #poll: NodeJS.Timeout | undefined

  /** `path`: where an inserted card file is, e.g. `<agent data dir>/reader/card.json`. */
  constructor(path: string) {
    this.#path = path
  }

  async present(): Promise<CardInfo | undefined> {
    const file = await this.#read()
    return file === undefined ? undefined : infoOf(file)
  }

  /** The provider judges the passcode (and counts it); only its share, released for the right one, opens the key. */
  async unlock(passcode: string, check: PasscodeCheck): Promise<UnlockResult> {
    if (!isWellFormedPasscode(passcode)) return { ok: false, reason: 'wrong_passcode' }
    const file = await this.#read()
    if (file === undefined) return { ok: false, reason: 'no_card' }
    const attempt = await attemptPasscode(file, passcode)
    const checked = await check.prove(attempt.proofs(check.challenge))
    if (!checked.ok) return checked
    const pkcs8 = attempt.open(checked.share)
    // The provider took the passcode, so the file is not the one it was issued as.
    if (pkcs8 === undefined) throw new Error(`the card file of card ${file.serial} does not open with its passcode; it was altered`)
    return { ok: true, card: new VirtualUnlockedCard(infoOf(file), createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }), () => this.#serialNow()) }
  }

  onRemoved(listener: () => void): () => void {
    const serial = this.#serialNow()
    if (serial === undefined) {
      // No card now: the card the caller means is already gone.
      const pending = setImmediate(listener)
      return () => clearImmediate(pending)
    }
    const subscription = { serial, listener }
    this.#subscriptions.add(subscription)
    this.#startWatching()
    return () => {
      this.#subscriptions.delete(subscription)
      if (this.#subscriptions.size === 0) this.#stopWatching()
    }
  }

  async close(): Promise<void> {
    this.#subscriptions.clear()
    this.#stopWatching()
  }

  async #read(): Promise<CardFile | undefined> {
    try {
      return parseCardFile(await readFile(this.#path, 'utf8'))
    } catch {
      return undefined
    }
  }

  /** The serial of the card in the reader now (synchronously: the removal check runs from events). */
  #serialNow(): string | undefined {
    try {
      return parseCardFile(readFileSync(this.#path, 'utf8'))?.serial
    } catch {
      return undefined
    }
  }

  #check(): void {
    const serial = this.#serialNow()
    for (const subscription of [...this.#subscriptions]) {
      if (subscription.serial === serial) continue
      this.#subscriptions.delete(subscription)
      subscription.listener()
    }
    if (this.#subscriptions.size === 0) this.#stopWatching()
  }

  #startWatching(): void {
    if (this.#poll !== undefined) return
    this.#poll = setInterval(() => this.#check(), POLL_MS)
    this.#poll.unref()
    try {
      // The directory, not the file: a removed file's own watch may never fire again.
      const name = basename(this.#path)
      this.#watcher = watch(dirname(this.#path), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) this.#check()
      })
      this.#watcher.on('error', () => this.#stopWatcher())
    } catch {
      // No directory to watch: the poll still notices.
    }
  }

  #stopWatcher(): void {
    this.#watcher?.close()
    this.#watcher = undefined
  }

  #stopWatching(): void {
    this.#stopWatcher()
    if (this.#poll !== undefined) clearInterval(this.#poll)
    this.#poll = undefined
  }
}

function infoOf(file: CardFile): CardInfo {
  return { serial: file.serial, uid: file.uid, kind: 'virtual', certificate: file.certificate }
}

class VirtualUnlockedCard implements UnlockedCard {
  readonly info: CardInfo
  #key: KeyObject | undefined
  readonly #serialNow: () => string | undefined

  constructor(info: CardInfo, key: KeyObject, serialNow: () => string | undefined) {
    this.info = info
    this.#key = key
    this.#serialNow = serialNow
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    if (this.#key === undefined) throw new Error('the card was closed')
    // A real card signs only while inserted; so does this one.
    if (this.#serialNow() !== this.info.serial) throw new Error('the card is no longer in the reader')
    // ES256 as JOSE has it: ECDSA over SHA-256, the signature as r || s (IEEE P1363), 64 bytes.
    return new Uint8Array(sign('sha256', data, { key: this.#key, dsaEncoding: 'ieee-p1363' }))
  }

  async close(): Promise<void> {
    this.#key = undefined
  }
}
