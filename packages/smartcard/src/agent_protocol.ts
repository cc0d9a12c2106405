/**
 * The provider's side of the Identity Agent protocol (cis2.md 5.1: the agent asks the card and
 * passcode, the provider validates them and opens a session whose roles go back to the agent, and
 * removing the card ends it). Typed in, typed out; agent_routes.ts maps it onto `{issuer}/agent/...`.
 *
 * - `challenge`: a card challenge for one card (counts nothing: a serial is public; locked, revoked
 *   and unknown cards get none).
 * - `passcode`: a virtual card's passcode attempt over a challenge (card proof + passcode proof);
 *   counted, and the right passcode gets the provider's share of the card's key (card_passcodes.ts).
 *   A PKCS#11 token checks and counts its PIN itself.
 * - `cardLocked`: a PKCS#11 token answered that its PIN is locked; the report, signed by the card's
 *   authentication key over a challenge, records the card locked (card_locks.ts).
 * - `openSession`: the card's signature over the challenge (compact JWS, ES256, `x5c` = the card
 *   certificate) proves card and passcode; the provider checks the certificate with the card
 *   authority, resets the passcode counter, and opens a card session bound to the agent instance
 *   key named in the signed assertion.
 * - `selectRole`, `endSession`: the card session secret as a Bearer token AND a proof signed by the
 *   agent instance key (`Agent-Proof`, one use, 60 seconds): a secret copied to another agent is
 *   useless. Ending the card session ends every CIS2 session bound to it, through the session
 *   service's one ending path (back-channel logout to every relying party in them), or, when the
 *   organisation of the chosen role says `lock`, locks them until the card is presented again.
 *   `endSession` also takes a card session that ran out (for a day after), since a card removed
 *   after that must still end whatever is left; one that ran out is never locked.
 * - A CIS2 session made with a card session lasts no longer than it (see sessions.ts), so the
 *   session sweep ends those sign-ins when their card session runs out.
 */
import { parsePerson, roleOptions, type Person, type RoleOption } from '@careid/domain'
import { PluginRefusal, type AgentErrorCode, type CardContext, type Directory } from '@careid/ports'
import { cardRefusal, type CardCertificateVerifier, type CardChallenges } from './card_challenges.ts'
import type { CardLocks } from './card_locks.ts'
import type { CardPasscodes } from './card_passcodes.ts'
import { hashSecret, type CardSession, type CardSessions } from './card_sessions.ts'
import { agentKeyOf, pemOfX5c, verifyCompact } from './jws.ts'

export type { AgentErrorCode } from '@careid/ports'

/** A refusal: the `error` code and HTTP status the route answers with; the text says why, never a secret. */
export class AgentError extends PluginRefusal {
  override name = 'AgentError'
  declare readonly error: AgentErrorCode
  /** With `wrong_passcode`: the wrong passcodes the card still takes before it locks. */
  readonly attempts_left: number | undefined
  constructor(error: AgentErrorCode, status: number, description: string, attemptsLeft?: number) {
    super(error, status, description, attemptsLeft === undefined ? undefined : { attempts_left: attemptsLeft })
    this.attempts_left = attemptsLeft
  }
}

export interface AgentProtocolDeps {
  store: Pick<CardContext, 'people' | 'replay' | 'audit'>
  directory: Directory
  issuer: string
  now: () => number
  verifyCard: CardCertificateVerifier
  cardSessions: CardSessions
  cardChallenges: CardChallenges
  cardPasscodes: CardPasscodes
  cardLocks: CardLocks
  passcodeProven: (serial: string) => Promise<boolean>
  /** Ends every CIS2 session bound to a card session; returns how many. */
  endBoundSessions: (cardSessionId: string) => Promise<number>
  /** Locks them instead (organisation policy `lock`); returns how many. */
  lockBoundSessions: (cardSessionId: string) => Promise<number>
  /** A card session lasts at most this (default 12 hours, CIS2's absolute session limit). */
  cardSessionMaxMs?: number | undefined
}

/** Who calls `selectRole` / `endSession`: the Authorization header and the Agent-Proof header. */
export interface AgentCaller {
  authorization?: string | undefined
  proof?: string | undefined
}

export interface OpenedCardSession {
  card_session_secret: string
  card_session: string
  uid: string
  roles: RoleOption[]
  /** Set when the person holds exactly one role. */
  selected_roleid?: string | undefined
  expires_at: number
}

const assertionMaxLifetimeS = 120
const proofWindowS = 60

/** The paths under the issuer; a proof names the one it was made for (`htu`). */
export const agentPaths = {
  challenge: '/agent/challenge',
  passcode: '/agent/passcode',
  cardLocked: '/agent/card/locked',
  session: '/agent/session',
  role: '/agent/session/role',
  end: '/agent/session/end',
} as const

function field(body: unknown, name: string): unknown {
  return body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined
}

function stringField(body: unknown, name: string, max = 8192): string {
  const value = field(body, name)
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new AgentError('invalid_request', 400, `${name} is missing or not a string`)
  return value
}

function serialField(body: unknown): string {
  const serial = stringField(body, 'serial', 64)
  if (!/^[0-9a-f]{2,64}$/.test(serial)) throw new AgentError('invalid_request', 400, 'serial must be the card certificate serial in lowercase hex')
  return serial
}

export function createAgentProtocol(deps: AgentProtocolDeps) {
  const maxMs = deps.cardSessionMaxMs ?? 12 * 60 * 60_000

  async function loadPerson(uid: string): Promise<Person | undefined> {
    const json = await deps.store.people.get(uid)
    return json === undefined ? undefined : parsePerson(json)
  }

  /**
   * The card session a caller holds, proven by its agent instance key. `toEnd`: one that ran out
   * (and is still known) is accepted too, since ending is always safe; it takes the same secret and
   * the same key's proof, so it ends nothing but what that agent's card opened.
   */
  async function authenticate(caller: AgentCaller, path: string, toEnd = false): Promise<CardSession> {
    const match = /^Bearer ([A-Za-z0-9_-]{20,100})$/.exec(caller.authorization ?? '')
    const id = match?.[1] === undefined ? undefined : hashSecret(match[1])
    const session = id === undefined ? undefined : toEnd ? await deps.cardSessions.getToEnd(id, deps.now()) : await deps.cardSessions.get(id, deps.now())
    if (session === undefined) throw new AgentError('invalid_card_session', 401, 'no card session for this secret')
    const claims = caller.proof === undefined || caller.proof.length > 4096 ? undefined : await verifyCompact(caller.proof, { jwk: session.agent_jwk })
    const nowS = Math.floor(deps.now() / 1000)
    const fresh =
      claims !== undefined &&
      claims.htm === 'POST' &&
      claims.htu === deps.issuer + path &&
      typeof claims.iat === 'number' &&
      Math.abs(nowS - claims.iat) <= proofWindowS &&
      typeof claims.jti === 'string' &&
      claims.jti.length >= 16 &&
      claims.jti.length <= 100
    if (!fresh) throw new AgentError('invalid_agent_proof', 401, 'the request is not signed by the agent that opened this card session')
    if (!(await deps.store.replay.markUsed(`agent-proof:${claims.jti as string}`, (nowS + proofWindowS * 2) * 1000, deps.now()))) {
      throw new AgentError('invalid_agent_proof', 401, 'this agent proof was already used')
    }
    return session
  }

  /** The organisation of the role chosen at the agent decides; without a role, sign-ins end. */
  async function removalPolicy(session: CardSession): Promise<'end' | 'lock'> {
    if (session.selected_roleid === undefined) return 'end'
    const person = await loadPerson(session.uid)
    const position = person?.positions.find((p) => p.person_roleid === session.selected_roleid)
    return position === undefined ? 'end' : (deps.directory.organisation(position.org_code)?.card_removal ?? 'end')
  }

  return {
    async challenge(body: unknown): Promise<{ challenge: string; expires_at: number; attempts_left?: number | undefined }> {
      const serial = serialField(body)
      const issued = await deps.cardChallenges.issue(serial, deps.now())
      if (!issued.ok) throw new AgentError(issued.error, 403, `no challenge: ${issued.error.replaceAll('_', ' ')}`)
      return { challenge: issued.challenge, expires_at: issued.expires_at, attempts_left: issued.attempts_left }
    },

    async passcode(body: unknown): Promise<{ share: string }> {
      const input = {
        serial: serialField(body),
        challenge: stringField(body, 'challenge', 100),
        card_proof: stringField(body, 'card_proof', 100),
        passcode_proof: stringField(body, 'passcode_proof', 100),
      }
      const checked = await deps.cardPasscodes.check(input, deps.now())
      if (checked.ok) return { share: checked.share }
      switch (checked.error) {
        case 'wrong_passcode':
          throw new AgentError('wrong_passcode', 401, 'the passcode is wrong', checked.attempts_left)
        case 'card_locked':
          throw new AgentError('card_locked', 403, 'the card is locked: three wrong passcodes')
        case 'invalid_challenge':
          throw new AgentError('invalid_challenge', 401, 'the challenge is unknown, for another card, or already used for a passcode')
        case 'challenge_expired':
          throw new AgentError('challenge_expired', 401, 'the challenge expired; ask for a new one')
        case 'invalid_card_proof':
          throw new AgentError('invalid_card_proof', 401, 'the card proof is wrong: the attempt was not made with this card')
        case 'not_a_virtual_card':
          throw new AgentError('not_a_virtual_card', 400, 'this card checks its passcode itself')
        default:
          throw new AgentError(checked.error, 403, `card refused: ${checked.error.replaceAll('_', ' ')}`)
      }
    },

    async cardLocked(body: unknown): Promise<{ locked: true }> {
      const input = { serial: serialField(body), challenge: stringField(body, 'challenge', 100), signature: stringField(body, 'signature', 100) }
      const reported = await deps.cardLocks.report(input, deps.now())
      if (reported.ok) return { locked: true }
      switch (reported.error) {
        case 'invalid_card_proof':
          throw new AgentError('invalid_card_proof', 401, "the report is not signed by this card's authentication key")
        case 'invalid_challenge':
          throw new AgentError('invalid_challenge', 401, 'the challenge is unknown, for another card, or already used')
        case 'challenge_expired':
          throw new AgentError('challenge_expired', 401, 'the challenge expired; ask for a new one')
        default:
          throw new AgentError(reported.error, 403, `card refused: ${reported.error.replaceAll('_', ' ')}`)
      }
    },

    async openSession(body: unknown): Promise<OpenedCardSession> {
      const assertion = stringField(body, 'assertion')
      const agentKey = await agentKeyOf(field(body, 'agent_key'))
      if (agentKey === undefined) throw new AgentError('invalid_request', 400, 'agent_key must be an EC P-256 public JWK')
      let x5c: unknown
      try {
        x5c = (JSON.parse(Buffer.from(assertion.split('.')[0] ?? '', 'base64url').toString('utf8')) as { x5c?: unknown }).x5c
      } catch {
        x5c = undefined
      }
      const pem = Array.isArray(x5c) && typeof x5c[0] === 'string' ? pemOfX5c(x5c[0]) : undefined
      if (pem === undefined) throw new AgentError('invalid_assertion', 401, 'the assertion carries no card certificate (x5c)')
      const now = deps.now()
      const verified = await deps.verifyCard(pem, now)
      if (!verified.ok) throw new AgentError(cardRefusal[verified.reason], 403, `card refused: ${verified.reason.replaceAll('_', ' ')}`)
      const card = verified.card
      const claims = await verifyCompact(assertion, { pem })
      const nowS = Math.floor(now / 1000)
      const valid =
        claims !== undefined &&
        claims.purpose === 'card_session' &&
        claims.aud === deps.issuer &&
        typeof claims.iat === 'number' &&
        typeof claims.exp === 'number' &&
        claims.exp > nowS &&
        claims.exp - claims.iat <= assertionMaxLifetimeS &&
        claims.agent_jkt === agentKey.thumbprint &&
        typeof claims.challenge === 'string'
      if (!valid) throw new AgentError('invalid_assertion', 401, 'the card signature, audience, purpose, lifetime or agent key of the assertion is wrong')
      const used = await deps.cardChallenges.use(claims.challenge as string, card.serial, now)
      if (used === 'unknown') throw new AgentError('invalid_challenge', 401, 'the challenge is unknown, for another card, or already used')
      if (used === 'expired') throw new AgentError('challenge_expired', 401, 'the challenge expired; ask for a new one')
      // Only now is the passcode proven right (the card would not sign without it).
      if (!(await deps.passcodeProven(card.serial))) throw new AgentError('card_locked', 403, 'the card was locked or revoked meanwhile')
      const person = await loadPerson(card.uid)
      if (person === undefined) throw new AgentError('unknown_card', 403, 'the card holder is not known')
      const roles = roleOptions(person, deps.directory)
      const { secret, session } = await deps.cardSessions.create({
        serial: card.serial,
        uid: card.uid,
        certificate: pem,
        agent_jwk: agentKey.jwk,
        agent_jkt: agentKey.thumbprint,
        created_at: now,
        expires_at: Math.min(now + maxMs, card.not_after),
        // One role needs no choice (cis2.md 3.5: the role is chosen at card insertion).
        selected_roleid: roles.length === 1 ? roles[0]?.person_roleid : undefined,
      })
      await deps.store.audit.append({ at: now, type: 'card_session.started', subject: card.uid, detail: { serial: card.serial } })
      return { card_session_secret: secret, card_session: session.id, uid: card.uid, roles, selected_roleid: session.selected_roleid, expires_at: session.expires_at }
    },

    async selectRole(caller: AgentCaller, body: unknown): Promise<{ selected_roleid: string }> {
      const session = await authenticate(caller, agentPaths.role)
      const roleId = stringField(body, 'person_roleid', 64)
      // cis2.md 4: a role change after Identity Agent sign-in needs the card removed.
      if (session.selected_roleid !== undefined) throw new AgentError('role_already_selected', 409, 'a role is already chosen for this card session; remove the card to change it')
      const person = await loadPerson(session.uid)
      if (person === undefined || !person.positions.some((p) => p.person_roleid === roleId)) throw new AgentError('unknown_role', 400, 'the card holder holds no such role')
      await deps.cardSessions.setRole(session, roleId)
      return { selected_roleid: roleId }
    },

    async endSession(caller: AgentCaller): Promise<{ sessions_ended: number; sessions_locked: number }> {
      const session = await authenticate(caller, agentPaths.end, true)
      // The card session goes first, so no new ticket is honoured while its sign-ins are ended.
      await deps.cardSessions.end(session.id)
      // A card session that ran out has nothing left to unlock: its sign-ins end whatever the policy.
      const policy = session.expires_at <= deps.now() ? 'end' : await removalPolicy(session)
      const ended = policy === 'end' ? await deps.endBoundSessions(session.id) : 0
      const locked = policy === 'lock' ? await deps.lockBoundSessions(session.id) : 0
      await deps.store.audit.append({ at: deps.now(), type: 'card_session.ended', subject: session.uid, detail: { serial: session.serial, sessions_ended: ended, sessions_locked: locked } })
      return { sessions_ended: ended, sessions_locked: locked }
    },
  }
}

export type AgentProtocol = ReturnType<typeof createAgentProtocol>
