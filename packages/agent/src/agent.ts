/**
 * The Identity Agent: the program on a worker's computer that holds the smartcard reader.
 *
 * Identity Agent mode (CIS1, cis2.md 5.1): when a card is present the agent asks its passcode,
 * proves it to the provider (a card challenge signed by the card), opens a card session and lets
 * the person choose a role for the whole session. Browser sign-ins then get tickets without a
 * passcode (amr N3_SMARTCARD). Removing the card ends the card session at the provider, which ends
 * every CIS2 session bound to it with back-channel logout.
 *
 * Smartcard Connect mode (cis2.md 4): no card session; each ticket asks the passcode and the card
 * signs that sign-in's challenge (amr CIS2_SMARTCARD); removing the card ends nothing.
 *
 * The passcode goes from the prompt to the card and nowhere else: never logged, never sent.
 */
import type { CardInfo, CardReader, UnlockResult, UnlockedCard } from '@careid/cards'
import { isWellFormedPasscode, lockReportData } from '@careid/cards'
import { ProviderRefusal, ProviderUnreachable, type OpenedCardSession, type ProviderClient, type RoleOption } from './provider_client.ts'
import { signCompact, signGeneral, x5cOf, type AgentKey } from './signing.ts'

export type AgentMode = 'identity-agent' | 'smartcard-connect'

/** How the agent asks the person things (the terminal UI, or a script in tests). */
export interface Prompter {
  /** The card's passcode; undefined when the person cancels. `attemptsLeft`: when the provider counts (a virtual card). */
  passcode(context: { uid: string; attemptsLeft?: number | undefined }): Promise<string | undefined>
  /** One of the roles' person_roleid; undefined when the person cancels. */
  chooseRole(roles: RoleOption[]): Promise<string | undefined>
  /** A line of status for the person (never a secret). */
  say(line: string): void
}

/** Why a ticket could not be given: the local API's `error` code. */
export type TicketRefusal = 'no_card' | 'no_session' | 'cancelled' | 'card_locked' | 'card_refused' | 'provider_unreachable'

export type TicketResult = { ok: true; ticket: string } | { ok: false; error: TicketRefusal }

export interface AgentStatus {
  mode: AgentMode
  provider: string
  card: { present: false } | { present: true; serial: string; uid: string; kind: string }
  signed_in: boolean
  uid?: string | undefined
  selected_roleid?: string | undefined
}

export interface AgentOptions {
  issuer: string
  mode: AgentMode
  reader: CardReader
  provider: ProviderClient
  key: AgentKey
  prompter: Prompter
  /** How often to look for an inserted card (default 500 ms). */
  pollMs?: number | undefined
}

interface CardSessionState {
  secret: string
  id: string
  uid: string
  roles: RoleOption[]
  selected_roleid?: string | undefined
  card: UnlockedCard
}

const ticketLifetimeS = 60

export function createAgent(options: AgentOptions) {
  const { issuer, mode, reader, provider, key, prompter } = options
  let present: CardInfo | undefined
  let session: CardSessionState | undefined
  let signingIn: Promise<TicketRefusal | undefined> | undefined
  let unsubscribe: (() => void) | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  const idle: Array<() => void> = []

  const claims = (challenge: string, purpose: string, extra: Record<string, unknown> = {}) => {
    const iat = Math.floor(Date.now() / 1000)
    return { purpose, challenge, aud: issuer, iat, exp: iat + ticketLifetimeS, ...extra }
  }

  /**
   * Unlocks the card for a provider card challenge. Asking for the challenge counts nothing; the
   * passcode is counted where it is tried: by the token's chip, or (a virtual card) by the provider,
   * whose share of the card's key the right passcode gets.
   */
  async function unlockWithChallenge(info: CardInfo): Promise<{ card: UnlockedCard; challenge: string } | { refusal: TicketRefusal }> {
    for (;;) {
      let issued: { challenge: string; attempts_left?: number | undefined }
      try {
        issued = await provider.challenge(info.serial)
      } catch (error) {
        return { refusal: refusalOf(error) }
      }
      const challenge = issued.challenge
      const passcode = await prompter.passcode({ uid: info.uid, attemptsLeft: issued.attempts_left })
      if (passcode === undefined) return { refusal: 'cancelled' }
      if (!isWellFormedPasscode(passcode)) {
        prompter.say('A passcode is 6 to 8 digits.')
        continue
      }
      let unlocked: UnlockResult
      try {
        unlocked = await reader.unlock(passcode, { challenge, prove: (proofs) => provider.passcode(info.serial, challenge, proofs) })
      } catch (error) {
        return { refusal: refusalOf(error) }
      }
      if (unlocked.ok) return { card: unlocked.card, challenge }
      if (unlocked.reason === 'no_card') return { refusal: 'no_card' }
      if (unlocked.reason === 'locked') {
        prompter.say('The card is locked. Ask your Registration Authority to unlock it.')
        // A token counted the PINs itself (a virtual card's lock was recorded by the provider already).
        if (info.kind === 'pkcs11') await reportLocked(info)
        return { refusal: 'card_locked' }
      }
      const left = unlocked.attemptsLeft
      prompter.say(left === undefined ? 'Wrong passcode.' : `Wrong passcode. ${left} attempt${left === 1 ? '' : 's'} left before the card locks.`)
    }
  }

  /**
   * Tells the provider that the token locked its PIN, so the card shows locked at once. Signed by
   * the card's authentication key (no PIN needed) over a fresh challenge; best effort: the token is
   * locked whatever the provider hears.
   */
  async function reportLocked(info: CardInfo): Promise<void> {
    try {
      const { challenge } = await provider.challenge(info.serial)
      const signature = await reader.authenticate?.(lockReportData(info.serial, challenge))
      if (signature === undefined) return
      await provider.cardLocked(info.serial, challenge, Buffer.from(signature).toString('base64url'))
    } catch {
      // Already recorded locked (no challenge), or the provider is unreachable: nothing more to do.
    }
  }

  function refusalOf(error: unknown): TicketRefusal {
    if (error instanceof ProviderUnreachable) {
      prompter.say('The sign-in service cannot be reached.')
      return 'provider_unreachable'
    }
    if (!(error instanceof ProviderRefusal)) {
      prompter.say(`The card cannot be used (${error instanceof Error ? error.message : 'unknown error'}).`)
      return 'card_refused'
    }
    if (error.error === 'card_locked') {
      prompter.say('The card is locked. Ask your Registration Authority to unlock it.')
      return 'card_locked'
    }
    prompter.say(`The sign-in service refused the card (${error.error}).`)
    return 'card_refused'
  }

  /** Identity Agent mode: card + passcode → card session → role. */
  async function openCardSession(): Promise<TicketRefusal | undefined> {
    const info = await reader.present()
    if (info === undefined) return 'no_card'
    const unlocked = await unlockWithChallenge(info)
    if ('refusal' in unlocked) return unlocked.refusal
    const { card } = unlocked
    let opened: OpenedCardSession
    try {
      const assertion = await signCompact((data) => card.sign(data), { typ: 'JWT', x5c: [x5cOf(card)] }, claims(unlocked.challenge, 'card_session', { agent_jkt: key.thumbprint }))
      opened = await provider.openSession(assertion)
    } catch (error) {
      await card.close()
      return refusalOf(error)
    }
    const state: CardSessionState = { secret: opened.card_session_secret, id: opened.card_session, uid: opened.uid, roles: opened.roles, selected_roleid: opened.selected_roleid, card }
    session = state
    if (state.selected_roleid === undefined && opened.roles.length > 1) {
      const chosen = await prompter.chooseRole(opened.roles)
      if (chosen !== undefined && session === state) {
        try {
          state.selected_roleid = (await provider.selectRole(state.secret, chosen)).selected_roleid
        } catch (error) {
          prompter.say(`The role could not be chosen (${error instanceof ProviderRefusal ? error.error : 'provider unreachable'}).`)
        }
      }
    }
    if (session !== state) return 'no_card'
    const role = state.roles.find((r) => r.person_roleid === state.selected_roleid)
    prompter.say(`Signed in as ${state.uid}${role === undefined ? '' : ` (${role.job_role} at ${role.org_name})`}. Remove the card to sign out.`)
    return undefined
  }

  function signIn(): Promise<TicketRefusal | undefined> {
    signingIn ??= openCardSession().finally(() => {
      signingIn = undefined
    })
    return signingIn
  }

  /** The card left the reader (or the agent stops): in Identity Agent mode the card session and its sign-ins end. */
  async function removed(why: 'removed' | 'stopping' = 'removed'): Promise<void> {
    present = undefined
    unsubscribe?.()
    unsubscribe = undefined
    const ending = session
    session = undefined
    const what = why === 'removed' ? 'Card removed' : 'Agent stopping'
    if (ending === undefined) {
      if (why === 'removed') prompter.say('Card removed.')
      return
    }
    await ending.card.close().catch(() => undefined)
    try {
      const { sessions_ended, sessions_locked } = await provider.endSession(ending.secret)
      const plural = (n: number) => `${n} sign-in${n === 1 ? '' : 's'}`
      prompter.say(
        sessions_locked > 0
          ? `${what}: ${plural(sessions_locked)} locked until the card and its passcode are presented again.`
          : `${what}: signed out (${plural(sessions_ended)} ended).`,
      )
    } catch (error) {
      prompter.say(`${what}, but the sign-in service could not be told (${error instanceof ProviderRefusal ? error.error : 'unreachable'}).`)
    }
  }

  let removing: Promise<void> = Promise.resolve()

  /** Watches the reader: a new card is announced (and, in Identity Agent mode, signed in). */
  async function poll(): Promise<void> {
    if (present === undefined) {
      const info = await reader.present().catch(() => undefined)
      if (info !== undefined && present === undefined) {
        present = info
        unsubscribe = reader.onRemoved(() => {
          removing = removing.then(() => removed('removed'))
        })
        prompter.say(`Card inserted: ${info.uid} (serial ${info.serial}).`)
        if (mode === 'identity-agent') await signIn()
      }
    }
    for (const wake of idle.splice(0)) wake()
  }

  function loop(): void {
    if (stopped) return
    timer = setTimeout(() => {
      void poll().finally(loop)
    }, options.pollMs ?? 500)
  }

  return {
    /** The provider's issuer: tickets are for it, and a handoff sends the browser back to it. */
    issuer,

    async start(): Promise<void> {
      prompter.say(`Identity Agent (${mode === 'identity-agent' ? 'Identity Agent mode' : 'Smartcard Connect mode'}) for ${issuer}.`)
      await poll()
      if (present === undefined) prompter.say('Insert your smartcard.')
      loop()
    },

    /** A ticket for a provider challenge (getTicket; `noAuth`: getTicketNoAuth, no prompt). */
    async ticket(challenge: string, noAuth: boolean): Promise<TicketResult> {
      const info = await reader.present()
      if (info === undefined) return { ok: false, error: 'no_card' }
      if (mode === 'smartcard-connect') {
        if (noAuth) return { ok: false, error: 'no_session' }
        // Each sign-in asks the passcode (cis2.md 4); the card signs this sign-in's challenge together with a card challenge.
        prompter.say('A sign-in needs your smartcard passcode.')
        const unlocked = await unlockWithChallenge(info)
        if ('refusal' in unlocked) return { ok: false, error: unlocked.refusal }
        try {
          const ticket = await signCompact((data) => unlocked.card.sign(data), { typ: 'JWT', x5c: [x5cOf(unlocked.card)] }, claims(challenge, 'connect', { card_challenge: unlocked.challenge }))
          return { ok: true, ticket }
        } catch {
          // The card went between the passcode and the signature.
          return { ok: false, error: 'no_card' }
        } finally {
          await unlocked.card.close()
        }
      }
      if (session === undefined) {
        if (noAuth) return { ok: false, error: 'no_session' }
        const refusal = await signIn()
        if (refusal !== undefined) return { ok: false, error: refusal }
      }
      const current = session
      if (current === undefined) return { ok: false, error: 'no_session' }
      try {
        const ticket = await signGeneral(
          [
            { sign: (data) => current.card.sign(data), header: { typ: 'JWT' } },
            { sign: key.sign, header: { kid: key.thumbprint } },
          ],
          claims(challenge, 'ticket', { card_session: current.id }),
        )
        return { ok: true, ticket }
      } catch {
        // The card was removed while signing (its removal is being handled).
        return { ok: false, error: 'no_card' }
      }
    },

    /** Signs in at the agent now (the terminal's "sign in" command). */
    signIn,

    status(): AgentStatus {
      return {
        mode,
        provider: issuer,
        card: present === undefined ? { present: false } : { present: true, serial: present.serial, uid: present.uid, kind: present.kind },
        signed_in: session !== undefined,
        uid: session?.uid,
        selected_roleid: session?.selected_roleid,
      }
    },

    /** Resolves after the next look at the reader (tests wait on it instead of sleeping). */
    settled(): Promise<void> {
      return new Promise<void>((resolve) => idle.push(() => resolve())).then(() => removing)
    },

    /** Stops watching; an open card session is ended at the provider as if the card were removed. */
    async stop(): Promise<void> {
      stopped = true
      clearTimeout(timer)
      await removing
      if (session !== undefined) await removed('stopping')
      unsubscribe?.()
      await reader.close()
    },
  }
}

export type Agent = ReturnType<typeof createAgent>
