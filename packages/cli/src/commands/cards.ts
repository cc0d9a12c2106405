/**
 * `careid cards issue|list|unlock|revoke`: the smartcards the card authority issues, as a
 * Registration Authority manages them. The passcode is never logged: a generated one is printed once,
 * on stdout, for the holder alone.
 */
import { randomInt } from 'node:crypto'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { isWellFormedPasscode } from '@careid/cards'
import type { CardRecord } from '@careid/ports'
import type { CareidContext } from '../context.ts'
import { adminServices, cliActor, refusalsAsUsage } from './admin.ts'
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

export async function issueCard(ctx: CareidContext, uid: string, flags: IssueCardFlags, out: (s: string) => void): Promise<void> {
  const given = chosenPasscode(flags)
  if (!/^[0-9]{12}$/.test(uid)) throw new UsageError('a UID is 12 digits')
  if (flags.pkcs11Module !== undefined || flags.tokenLabel !== undefined) return issueOnToken(ctx, uid, given, flags, out)
  const path = resolve(flags.out ?? `card-${uid}.json`)
  if (existsSync(path)) throw new UsageError(`the card file ${path} exists already; give another --out`)
  const passcode = given ?? generatePasscode()
  const card = await refusalsAsUsage(adminServices(ctx).cards.issueVirtual({ uid, passcode, path }, cliActor()))
  report(card, path, given === undefined ? passcode : undefined, flags, out)
}

/** A card on a PKCS#11 token, whose user PIN (set when the token was initialised) is the passcode. */
async function issueOnToken(ctx: CareidContext, uid: string, pin: string | undefined, flags: IssueCardFlags, out: (s: string) => void): Promise<void> {
  if (flags.pkcs11Module === undefined || flags.tokenLabel === undefined) throw new UsageError('a card on a token needs both --pkcs11-module and --token-label')
  if (flags.out !== undefined) throw new UsageError('--out is for virtual cards; a token card stays on the token')
  if (pin === undefined) throw new UsageError("a card on a token needs --passcode (or CAREID_CARD_PASSCODE): the token's user PIN")
  const card = await refusalsAsUsage(adminServices(ctx).cards.issueOnToken({ uid, module: flags.pkcs11Module, tokenLabel: flags.tokenLabel, pin }, cliActor()))
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
  const cards = await adminServices(ctx).cards.list(flags.uid)
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
  const card = await refusalsAsUsage(adminServices(ctx).cards.unlock(serial, cliActor()))
  const token = card.kind === 'pkcs11' ? " (a token's own PIN lock is reset on the token, with its SO PIN)" : ''
  out(card.locked_at === undefined ? `Card ${card.serial} was not locked; its attempts are reset.` : `Card ${card.serial} unlocked; its holder has 3 passcode attempts again${token}.`)
}

/**
 * Revokes the card, then ends what it signed in (on every node: the sessions are in the shared
 * store). Run again on a revoked card, it ends whatever is still left of it.
 */
export async function revokeCard(ctx: CareidContext, serial: string, out: (s: string) => void): Promise<void> {
  const { card, revoked, sessionsEnded } = await refusalsAsUsage(adminServices(ctx).cards.revoke(serial, cliActor()))
  out(revoked ? `Card ${card.serial} revoked: it signs nobody in from now on.` : `Card ${card.serial} was already revoked (${iso(card.revoked_at ?? 0)}).`)
  if (sessionsEnded > 0) out(`${sessionsEnded} sign-in(s) made with it ended; their applications are being told.`)
}
