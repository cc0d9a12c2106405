/**
 * The smartcards a Registration Authority manages: issue, unlock, revoke. Each change and its audit
 * entry are written in one unit of work. The passcode is never audited, logged or stored.
 */
import { rm } from 'node:fs/promises'
import { createAdminSessions } from '@careid/oidc'
import { endCardSignIns } from '@careid/smartcard'
import type { CardAuthority } from '@careid/cards'
import type { CardRecord, UnitOfWork } from '@careid/ports'
import { auditEntry } from './audit_entry.ts'
import type { AdminDeps } from './deps.ts'
import { AdminRefusal } from './refusal.ts'

export interface IssueVirtualCard {
  uid: string
  passcode: string
  /** Where the card file is written; it must not exist yet. */
  path: string
}

export interface IssueTokenCard {
  uid: string
  /** The PKCS#11 module that reaches the token. */
  module: string
  tokenLabel: string
  /** The token's user PIN, which is the card's passcode. */
  pin: string
}

export interface RevokedCard {
  card: CardRecord
  /** False when the card was revoked already (nothing changed, nothing audited). */
  revoked: boolean
  /** The sign-ins made with the card that were ended. */
  sessionsEnded: number
}

/**
 * The card authority's code (and its X.509 library) is loaded when a card is first issued: a process
 * that never issues one, as most `careid` runs and nodes never do, never holds it in memory.
 */
const cardAuthorityCode = () => import('@careid/cards')

export function createCardAdmin(deps: AdminDeps) {
  const { store, secrets, now } = deps

  /**
   * Runs `issue` with the card authority as the unit sees it (a first card makes the authority in
   * the same unit); the authority's refusal (no such person, a card still current) is the
   * administrator's to put right.
   */
  async function issued<T>(tx: UnitOfWork, issue: (cards: typeof import('@careid/cards'), authority: CardAuthority) => Promise<T>): Promise<T> {
    const cards = await cardAuthorityCode()
    try {
      return await issue(cards, await cards.openCardAuthority({ cards: tx.cards, people: tx.people, secrets, now }))
    } catch (error) {
      if (error instanceof cards.CardIssueRefused) throw new AdminRefusal(error.message)
      throw error
    }
  }

  async function known(tx: UnitOfWork, serial: string): Promise<CardRecord> {
    const card = await tx.cards.get(serial.toLowerCase())
    if (card === undefined) throw new AdminRefusal(`no card ${serial}`)
    return card
  }

  return {
    list: (uid?: string) => (uid === undefined ? store.cards.list() : store.cards.listByPerson(uid)),

    /**
     * Issues a virtual card and writes its file. The file is written inside the unit, before the
     * audit entry: a file that cannot be written rolls the card back (it would exist without its
     * only key), and a unit that fails after the file was written removes the file again (it would
     * be the key of a card that does not exist).
     */
    async issueVirtual({ uid, passcode, path }: IssueVirtualCard, actor: string): Promise<CardRecord> {
      let written = false
      try {
        return await store.transaction(async (tx) => {
          const at = now()
          const { card, file } = await issued(tx, (cards, authority) => cards.issueVirtualCard({ authority, uid, passcode, now: at }))
          try {
            await (await cardAuthorityCode()).writeCardFile(path, file)
          } catch (error) {
            const reason = (error as NodeJS.ErrnoException).code === 'EEXIST' ? 'the file exists' : (error as Error).message
            throw new AdminRefusal(`cannot write the card file ${path} (${reason}); no card was issued`)
          }
          written = true
          await tx.audit.append(auditEntry({ at, type: 'card.issued', actor, subject: uid, before: undefined, after: card, detail: { serial: card.serial, kind: 'virtual' } }))
          return card
        })
      } catch (error) {
        if (written) await rm(path, { force: true })
        throw error
      }
    },

    /**
     * Issues a card on a PKCS#11 token. The token is written inside the unit; if the unit then
     * fails, the certificate left on the token names a card the store does not know, which signs
     * nobody in, and the token is simply issued again.
     */
    async issueOnToken({ uid, module, tokenLabel, pin }: IssueTokenCard, actor: string): Promise<CardRecord> {
      return store.transaction(async (tx) => {
        const at = now()
        const card = await issued(tx, (cards, authority) => cards.issuePkcs11Card({ authority, uid, module, tokenLabel, pin, now: at }))
        await tx.audit.append(auditEntry({ at, type: 'card.issued', actor, subject: uid, before: undefined, after: card, detail: { serial: card.serial, kind: 'pkcs11' } }))
        return card
      })
    },

    /** The Registration Authority's unlock: the holder has every passcode attempt again. Returns the card as it was. */
    async unlock(serial: string, actor: string): Promise<CardRecord> {
      return store.transaction(async (tx) => {
        const card = await known(tx, serial)
        if (card.status === 'revoked') throw new AdminRefusal(`card ${card.serial} is revoked; issue a new card instead`)
        const at = now()
        await tx.cards.unlock(card.serial, at)
        const after = await tx.cards.get(card.serial)
        await tx.audit.append(auditEntry({ at, type: 'card.unlocked', actor, subject: card.uid, before: card, after, detail: { serial: card.serial } }))
        return card
      })
    },

    /**
     * Revokes the card, then ends what it signed in. The revocation and its audit entry commit
     * first: from then on the card signs nobody in, on every node. Ending its sessions comes after,
     * outside the unit (they may live in Redis; each end queues its relying parties' logout
     * notifications and tells every node), and is safe to repeat: revoking the card again ends
     * whatever is still left of it.
     */
    async revoke(serial: string, actor: string): Promise<RevokedCard> {
      const { card, revoked } = await store.transaction(async (tx) => {
        const card = await known(tx, serial)
        if (card.status === 'revoked') return { card, revoked: false }
        const at = now()
        await tx.cards.revoke(card.serial, at)
        const after = await tx.cards.get(card.serial)
        await tx.audit.append(auditEntry({ at, type: 'card.revoked', actor, subject: card.uid, before: card, after, detail: { serial: card.serial } }))
        return { card, revoked: true }
      })
      const sessions = createAdminSessions({ store, issuer: deps.issuer, now, announce: deps.announce })
      const sessionsEnded = await endCardSignIns({ sessions, store, now }, card)
      return { card, revoked, sessionsEnded }
    },
  }
}
