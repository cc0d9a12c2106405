/**
 * `careid cards issue|list|unlock|revoke`: the smartcards the card authority issues, as a
 * Registration Authority manages them. The passcode is never logged: a generated one is printed once,
 * on stdout, for the holder alone.
 */
import { randomInt } from 'node:crypto'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { CardIssueRefused, isWellFormedPasscode, issuePkcs11Card, issueVirtualCard, openCardAuthority, writeCardFile, type CardAuthority } from '@careid/cards'
import type { CardRecord } from '@careid/ports'
import { endCardSignIns } from '@careid/smartcard'
import { adminSessions } from './sessions.ts'
import type { CareidContext } from '../context.ts'
import { UsageError } from './usage_error.ts'

export interface IssueCardFlags {
  passcode?: string
  out?: string
  pkcs11Module?: string
  tokenLabel?: string
  json?: boolean
}

const iso = (ms: number) => new Date(ms).toISOString()

/** A generated passcode: 6 random digits (leading zeros kept). */
function generatePasscode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0')
}

/** The passcode the issuer chose, from --passcode or CAREID_CARD_PASSCODE (which other users cannot read in the process list). */
function chosenPasscode(flags: IssueCardFlags): string | undefined {
  const passcode = flags.passcode ?? process.env.CAREID_CARD_PASSCODE
  if (passcode !== undefined && !isWellFormedPasscode(passcode)) throw new UsageError('a card passcode is 6 to 8 digits')
  return passcode
}

function authorityOf(ctx: CareidContext): Promise<CardAuthority> {
  return openCardAuthority({ cards: ctx.store.cards, people: ctx.store.people, secrets: ctx.secrets })
}

export async function issueCard(ctx: CareidContext, uid: string, flags: IssueCardFlags, out: (s: string) => void): Promise<void> {
  const given = chosenPasscode(flags)
  if (!/^[0-9]{12}$/.test(uid)) throw new UsageError('a UID is 12 digits')
  if (flags.pkcs11Module !== undefined || flags.tokenLabel !== undefined) return issueOnToken(ctx, uid, given, flags, out)
  const path = resolve(flags.out ?? `card-${uid}.json`)
  if (existsSync(path)) throw new UsageError(`the card file ${path} exists already; give another --out`)
  const passcode = given ?? generatePasscode()
  const now = Date.now()
  let issued
  try {
    issued = await issueVirtualCard({ authority: await authorityOf(ctx), uid, passcode, now })
  } catch (error) {
    if (error instanceof CardIssueRefused) throw new UsageError(error.message)
    throw error
  }
  try {
    await writeCardFile(path, issued.file)
  } catch (error) {
    // The card would exist without its only key: take it back before saying why.
    await ctx.store.cards.revoke(issued.card.serial, Date.now())
    const reason = (error as NodeJS.ErrnoException).code === 'EEXIST' ? 'the file exists' : (error as Error).message
    throw new UsageError(`cannot write the card file ${path} (${reason}); no card was issued`)
  }
  await ctx.store.audit.append({ at: now, type: 'card.issued', subject: uid, detail: { serial: issued.card.serial, kind: 'virtual' } })
  report(issued.card, path, given === undefined ? passcode : undefined, flags, out)
}

/** A card on a PKCS#11 token, whose user PIN (set when the token was initialised) is the passcode. */
async function issueOnToken(ctx: CareidContext, uid: string, pin: string | undefined, flags: IssueCardFlags, out: (s: string) => void): Promise<void> {
  if (flags.pkcs11Module === undefined || flags.tokenLabel === undefined) throw new UsageError('a card on a token needs both --pkcs11-module and --token-label')
  if (flags.out !== undefined) throw new UsageError('--out is for virtual cards; a token card stays on the token')
  if (pin === undefined) throw new UsageError("a card on a token needs --passcode (or CAREID_CARD_PASSCODE): the token's user PIN")
  const now = Date.now()
  let card: CardRecord
  try {
    card = await issuePkcs11Card({ authority: await authorityOf(ctx), uid, module: flags.pkcs11Module, tokenLabel: flags.tokenLabel, pin, now })
  } catch (error) {
    if (error instanceof CardIssueRefused) throw new UsageError(error.message)
    throw error
  }
  await ctx.store.audit.append({ at: now, type: 'card.issued', subject: uid, detail: { serial: card.serial, kind: 'pkcs11' } })
  report(card, `token "${flags.tokenLabel}"`, undefined, flags, out)
}

function report(card: CardRecord, where: string, generatedPasscode: string | undefined, flags: IssueCardFlags, out: (s: string) => void): void {
  if (flags.json === true) {
    const place = card.kind === 'virtual' ? { file: where } : { token: flags.tokenLabel }
    // The sealed unlock secrets are the provider's alone: never printed, even sealed.
    const { unlock_secrets_sealed: _sealed, ...shown } = card
    out(JSON.stringify({ ...shown, ...place, ...(generatedPasscode === undefined ? {} : { passcode: generatedPasscode }) }))
    return
  }
  out(`Issued card ${card.serial} to ${card.uid}, valid until ${iso(card.not_after)}.`)
  out(card.kind === 'virtual' ? `Card file: ${where}` : `On ${where}`)
  if (generatedPasscode !== undefined) out(`Passcode (shown once; give it to the holder only): ${generatedPasscode}`)
}

export async function listCards(ctx: CareidContext, flags: { uid?: string }, out: (s: string) => void): Promise<void> {
  const cards = flags.uid === undefined ? await ctx.store.cards.list() : await ctx.store.cards.listByPerson(flags.uid)
  if (cards.length === 0) return out(flags.uid === undefined ? 'No cards yet.' : `No cards for ${flags.uid}.`)
  const now = Date.now()
  for (const card of cards) {
    const state =
      card.status === 'revoked'
        ? `revoked ${iso(card.revoked_at ?? 0)}`
        : card.locked_at !== undefined
          ? `LOCKED ${iso(card.locked_at)}`
          : card.not_after < now
            ? 'expired'
            : `active, ${card.failed_attempts} unproven attempt(s)`
    out(`${card.serial}  ${card.uid}  ${card.kind.padEnd(7)}  valid until ${iso(card.not_after)}  ${state}`)
  }
}

export async function unlockCard(ctx: CareidContext, serial: string, out: (s: string) => void): Promise<void> {
  const card = await ctx.store.cards.get(serial.toLowerCase())
  if (card === undefined) throw new UsageError(`no card ${serial}`)
  if (card.status === 'revoked') throw new UsageError(`card ${card.serial} is revoked; issue a new card instead`)
  await ctx.store.cards.unlock(card.serial, Date.now())
  await ctx.store.audit.append({ at: Date.now(), type: 'card.unlocked', subject: card.uid, detail: { serial: card.serial } })
  const token = card.kind === 'pkcs11' ? " (a token's own PIN lock is reset on the token, with its SO PIN)" : ''
  out(card.locked_at === undefined ? `Card ${card.serial} was not locked; its attempts are reset.` : `Card ${card.serial} unlocked; its holder has 3 passcode attempts again${token}.`)
}

/**
 * Revokes the card, then ends what it signed in (on every node: the sessions are in the shared
 * store). Run again on a revoked card, it ends whatever is still left of it.
 */
export async function revokeCard(ctx: CareidContext, serial: string, out: (s: string) => void): Promise<void> {
  const card = await ctx.store.cards.get(serial.toLowerCase())
  if (card === undefined) throw new UsageError(`no card ${serial}`)
  if (card.status === 'revoked') {
    out(`Card ${card.serial} was already revoked (${iso(card.revoked_at ?? 0)}).`)
  } else {
    await ctx.store.cards.revoke(card.serial, Date.now())
    await ctx.store.audit.append({ at: Date.now(), type: 'card.revoked', subject: card.uid, detail: { serial: card.serial } })
    out(`Card ${card.serial} revoked: it signs nobody in from now on.`)
  }
  const ended = await endCardSignIns({ sessions: adminSessions(ctx), store: ctx.store, now: Date.now }, card)
  if (ended > 0) out(`${ended} sign-in(s) made with it ended; their applications are being told.`)
}
