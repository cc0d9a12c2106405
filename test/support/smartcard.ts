/**
 * Smartcard helpers for end-to-end tests: cards issued by the deployment's real card authority,
 * and the agent protocol spoken by hand (with the agent package's own signing), so a test can
 * also speak it wrongly.
 */
import { X509Certificate, createPrivateKey, sign as nodeSign, webcrypto } from 'node:crypto'
import { generateKeyPair } from 'jose'
import { createAgentKey, signCompact, signGeneral, type AgentKey } from '@careid/agent'
import { attemptPasscode, issueVirtualCard, openCardAuthority, type CardFile } from '@careid/cards'
import type { AeadSecretBox } from '@careid/ports'
import type { CardRecord } from '@careid/ports'
import type { TestCareid } from './careid.ts'
import { baseUrl } from './rp.ts'

/** A card key held by the test (the protocol's view of a card: a certificate and a signing key). */
export interface TestCard {
  record: CardRecord
  x5c: string
  sign(data: Uint8Array): Promise<Uint8Array>
}

/**
 * Issues a card for `uid` through the deployment's card authority (optionally as if at `now`; a
 * new authority is made as if at `authorityNow`).
 */
export async function issueTestCard(careid: Pick<TestCareid, 'context'>, uid: string, now = Date.now(), authorityNow = now): Promise<TestCard> {
  const store = careid.context.store
  const authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets: careid.context.secrets as AeadSecretBox, now: () => authorityNow })
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: false })
  const record = await authority.issueCard({ uid, publicKey: publicKey as webcrypto.CryptoKey, kind: 'virtual', now })
  return {
    record,
    x5c: new X509Certificate(record.certificate).raw.toString('base64'),
    async sign(data) {
      return new Uint8Array(await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey as webcrypto.CryptoKey, data))
    },
  }
}

/**
 * A virtual card issued as `careid cards issue` does: its file (key sealed under passcode and
 * provider share) and its record. The person's earlier cards are revoked first, as a Registration
 * Authority replacing a card would.
 */
export async function issueTestVirtualCard(careid: Pick<TestCareid, 'context'>, uid: string, passcode: string): Promise<{ file: CardFile; record: CardRecord }> {
  const store = careid.context.store
  for (const earlier of await store.cards.listByPerson(uid)) await store.cards.revoke(earlier.serial, Date.now())
  const authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets: careid.context.secrets as AeadSecretBox })
  const { card, file } = await issueVirtualCard({ authority, uid, passcode, now: Date.now() })
  return { file, record: card }
}

/** One passcode attempt at `/agent/passcode`, as the agent makes it, over a fresh challenge (or the one given). */
export async function passcodeAttempt(careid: TestCareid, file: CardFile, passcode: string, challengeValue?: string): Promise<{ response: Response; challenge: string }> {
  let value = challengeValue
  if (value === undefined) {
    const issued = await challenge(careid, file.serial)
    if (issued.status !== 200) throw new Error(`no challenge: ${await issued.text()}`)
    value = ((await issued.json()) as { challenge: string }).challenge
  }
  const proofs = (await attemptPasscode(file, passcode)).proofs(value)
  return { response: await postJson(agentUrl(careid, '/agent/passcode'), { serial: file.serial, challenge: value, ...proofs }), challenge: value }
}

/** The card of a virtual card file opened with the provider's share: what the agent signs with. */
export async function openedVirtualCard(file: CardFile, record: CardRecord, passcode: string, share: string): Promise<TestCard> {
  const pkcs8 = (await attemptPasscode(file, passcode)).open(share)
  if (pkcs8 === undefined) throw new Error('the share does not open the card')
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
  return {
    record,
    x5c: new X509Certificate(record.certificate).raw.toString('base64'),
    sign: async (data) => new Uint8Array(nodeSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })),
  }
}

export function agentUrl(careid: TestCareid, path: string): string {
  return `${baseUrl(careid)}${path}`
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
}

export function claims(careid: TestCareid, challenge: string, purpose: string, extra: Record<string, unknown> = {}) {
  const iat = Math.floor(Date.now() / 1000)
  return { purpose, challenge, aud: careid.issuer, iat, exp: iat + 60, ...extra }
}

/** The card-session assertion: the card's signature over a provider challenge, naming the agent key. */
export async function cardAssertion(careid: TestCareid, card: TestCard, challenge: string, agent: AgentKey, extra: Record<string, unknown> = {}): Promise<string> {
  return signCompact(card.sign, { typ: 'JWT', x5c: [card.x5c] }, claims(careid, challenge, 'card_session', { agent_jkt: agent.thumbprint, ...extra }))
}

export async function challenge(careid: TestCareid, serial: string): Promise<Response> {
  return postJson(agentUrl(careid, '/agent/challenge'), { serial })
}

export interface OpenedSession {
  card_session_secret: string
  card_session: string
  uid: string
  roles: Array<{ person_roleid: string }>
  selected_roleid?: string
}

/** Challenge → card signature → card session, as a well-behaved agent does it. */
export async function openCardSession(careid: TestCareid, card: TestCard, agent: AgentKey): Promise<OpenedSession> {
  const issued = (await (await challenge(careid, card.record.serial)).json()) as { challenge: string }
  const response = await postJson(agentUrl(careid, '/agent/session'), { assertion: await cardAssertion(careid, card, issued.challenge, agent), agent_key: agent.publicJwk })
  const body = (await response.json()) as OpenedSession
  if (response.status !== 200) throw new Error(`card session refused: ${JSON.stringify(body)}`)
  return body
}

/** A one-use proof by an agent key for a call to `path`. */
export function agentProof(careid: TestCareid, agent: AgentKey, path: string, overrides: Record<string, unknown> = {}): Promise<string> {
  return signCompact(agent.sign, { typ: 'agent-proof+jwt' }, { htm: 'POST', htu: careid.issuer + path, iat: Math.floor(Date.now() / 1000), jti: webcrypto.randomUUID(), ...overrides })
}

/** An Identity Agent ticket for a sign-in page's challenge: signed by the card and by the agent key. */
export function identityAgentTicket(
  careid: TestCareid,
  card: TestCard,
  agent: AgentKey,
  cardSession: string,
  pageChallenge: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  return signGeneral(
    [
      { sign: card.sign, header: { typ: 'JWT' } },
      { sign: agent.sign, header: { kid: agent.thumbprint } },
    ],
    claims(careid, pageChallenge, 'ticket', { card_session: cardSession, ...extra }),
  )
}

export { createAgentKey }
