/**
 * "Your sign-in methods" at `{issuer}/account`: a worker lists and removes their own credentials
 * and adds others, and a worker who holds none registers one with a Registration Authority's
 * enrolment code. cis2.md 4: "non-smartcard authenticators can be self-registered once the user
 * holds at least one authenticator; otherwise are issued by an RA".
 *
 * - It answers for the worker's live SSO session. Without one, the worker signs in through the
 *   ordinary authorization endpoint as Careid's own public client (`account_client.ts`): PKCE S256,
 *   a state bound to this browser, and the code redeemed at once, so no code is left unredeemed.
 * - From a session, an enroller is offered only up to the session's level ("the same or a lower
 *   level"); one above it is shown with a way to sign in again more strongly first.
 * - Adding drives an `Enroller` as the journey drives an `Authenticator`: a short-lived ceremony
 *   record bound to the browser by its cookie, an anti-forgery token on every post, and (from a
 *   session) bound to that session, so it stops when the session ends.
 * - Every change is audited: `credential.added`, `credential.removed`, `enrolment_code.used`.
 *
 * The core knows the enrolment port only: enrollers and credential kinds are registered on the
 * provider by the composition root, never imported.
 */
import type { Aal, CredentialKind, EnrolledCredential, Enroller, EnrolmentGrant, Json, SecretBox, SessionRecord, StepPage, StepView, Store } from '@careid/ports'
import { asOAuthError, loadPerson } from '../authorize.ts'
import type { ProviderConfig } from '../config.ts'
import { randomToken, safeEqual, sha256 } from '../crypto.ts'
import { OAuthError } from '../errors.ts'
import type { TokenResponse } from '../grants/grant.ts'
import { stepPages } from '../journey_state.ts'
import type { RawParams } from '../params.ts'
import { isLocked, type SessionService } from '../sessions.ts'
import { accountClientId, accountRedirectUri } from './account_client.ts'
import { ceremonyPrefix, ceremonyTtlMs, decodeCeremony, encodeCeremony, type CeremonyState } from './ceremony.ts'
import { useEnrolmentCode } from './enrolment_codes.ts'

export interface AccountDeps {
  store: Store
  sessions: SessionService
  config: ProviderConfig
  now: () => number
  /** Read on every request: enrollers and kinds registered later are offered from then on. */
  enrollers: readonly Enroller[]
  credentialKinds: readonly CredentialKind[]
  /** Seals what a ceremony keeps of its page (see ceremony.ts). */
  secrets: SecretBox
  /** The provider's token endpoint, which redeems the account client's codes. */
  token(params: RawParams): Promise<TokenResponse>
  /** Verifies a JWT this provider signed; its claims, or undefined. */
  verify(jwt: string): { payload: { [claim: string]: unknown } } | undefined
}

/** A credential as the page lists it. */
export interface AccountCredential extends EnrolledCredential {
  /** The credential kind's label ("Authenticator app"). */
  label: string
  /** False for the worker's last way to sign in. */
  removable: boolean
}

/** An enroller as the page offers it. */
export interface AccountMethod {
  method: string
  label: string
  description: string
  aal: Aal
}

/** What the overview says about the last change, or what was wrong with a post. */
export type AccountNotice = { type: 'added' | 'removed'; label: string }
export type AccountError = 'last_method' | 'not_removed' | 'missing_input' | 'stronger_sign_in_needed'

export type AccountView =
  | {
      kind: 'overview'
      csrf: string
      person_name: string
      username: string
      /** The session's level. */
      aal: Aal
      credentials: AccountCredential[]
      /** Enrollers the session may use now. */
      add: AccountMethod[]
      /** Enrollers above the session's level: a stronger sign-in first. */
      stronger: AccountMethod[]
      notice?: AccountNotice | undefined
      error?: AccountError | undefined
    }
  | {
      kind: 'step'
      ceremony: string
      csrf: string
      via: EnrolmentGrant['via']
      method: { id: string; label: string }
      view: StepView
    }
  /** Registered with an enrolment code: what to do next. */
  | { kind: 'registered'; method: string; label: string; username: string }
  | { kind: 'code'; csrf: string; username?: string | undefined; error?: 'invalid_code' | 'missing_input' | undefined }

export type AccountOutcome =
  | {
      type: 'show'
      view: AccountView
      status: number
      /** A new browser-binding secret to set as its cookie. */
      browserSecret?: string | undefined
    }
  | { type: 'redirect'; location: string; browserSecret?: string | undefined }
  | { type: 'error_page'; error: OAuthError }

export interface AccountInput {
  sessionSecret?: string | undefined
  browserSecret?: string | undefined
  /** The query (GET) or posted form (POST). */
  form: Record<string, string>
  source?: string | undefined
}

/** A page of the account area that can no longer go on: stale, forged, from another browser, or its session gone. */
export class AccountPageExpired extends OAuthError {
  constructor(description = 'This page has expired. Go back to your sign-in methods and start again.') {
    super('invalid_request', description, 400, { allowRedirect: false })
  }
}

/** The account sign-in's records (state, PKCE verifier, nonce) live under this prefix, keyed by the state. */
const signInPrefix = 'account-signin-'
/** Whatever level a worker may hold: a password alone (AAL1) or any stronger method. */
const acrForAnyLevel = 'AAL1_USERPASS AAL2_ANY'
const acrForLevel: Record<2 | 3, string> = { 2: 'AAL2_ANY', 3: 'AAL3_ANY' }

/** An anti-forgery token derived from a cookie secret: only that cookie's holder can know it. */
function tokenFor(purpose: string, secret: string): string {
  return sha256(`${purpose}\0${secret}`)
}

export function createAccountArea(deps: AccountDeps) {
  const issuer = deps.config.issuer
  const home = `${issuer}/account`
  const pages = (): ReadonlyMap<string, StepPage> => stepPages(deps.enrollers)
  const enrollerOf = (method: string | undefined) => deps.enrollers.find((e) => e.method === method)

  /** The live, unlocked session this browser's cookie holds. */
  async function liveSession(input: AccountInput): Promise<SessionRecord | undefined> {
    const session = await deps.sessions.resolve(input.sessionSecret)
    return session === undefined || isLocked(session) ? undefined : session
  }

  /**
   * Starts a sign-in through the authorization endpoint, back to the account area; `level` asks for
   * a sign-in at that level at least, afresh (a step-up).
   */
  async function signIn(input: AccountInput, level?: 2 | 3): Promise<AccountOutcome> {
    const browserSecret = input.browserSecret ?? randomToken(32)
    const state = randomToken(16)
    const verifier = randomToken(32)
    const nonce = randomToken(16)
    await deps.store.interactions.put({
      id: signInPrefix + state,
      expires_at: deps.now() + deps.config.interactionTtlMs,
      payload: { browser: sha256(browserSecret), verifier, nonce },
    })
    const url = new URL(`${issuer}/authorize`)
    const params: Record<string, string> = {
      response_type: 'code',
      client_id: accountClientId,
      redirect_uri: accountRedirectUri(issuer),
      scope: 'openid',
      state,
      nonce,
      code_challenge: sha256(verifier),
      code_challenge_method: 'S256',
      acr_values: level === undefined ? acrForAnyLevel : acrForLevel[level],
    }
    if (level !== undefined) params.prompt = 'login'
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
    return { type: 'redirect', location: url.href, browserSecret: input.browserSecret === undefined ? browserSecret : undefined }
  }

  /** The overview for `session`, with a notice or an error. */
  async function overview(session: SessionRecord, input: AccountInput, extra: { notice?: AccountNotice; error?: AccountError } = {}, status = 200): Promise<AccountOutcome> {
    const person = await loadPerson(deps.store, session.sub)
    if (person === undefined) return { type: 'error_page', error: new AccountPageExpired('Your account could not be found. Contact your Registration Authority.') }
    const credentials = await listCredentials(session.sub)
    const removable = credentials.length > 1
    const methods = deps.enrollers.map((e) => ({ method: e.method, label: e.label, description: e.description, aal: e.maxAal }))
    return {
      type: 'show',
      status,
      view: {
        kind: 'overview',
        csrf: tokenFor('account', input.sessionSecret ?? ''),
        person_name: person.display_name,
        username: person.username,
        aal: session.aal as Aal,
        credentials: credentials.map((c) => ({ ...c, removable })),
        add: methods.filter((m) => m.aal <= session.aal),
        stronger: methods.filter((m) => m.aal > session.aal),
        ...extra,
      },
    }
  }

  async function listCredentials(uid: string): Promise<Array<EnrolledCredential & { label: string }>> {
    const lists = await Promise.all(deps.credentialKinds.map(async (k) => (await k.list(uid)).map((c) => ({ ...c, label: k.label }))))
    return lists.flat()
  }

  /** The session a post from the overview acts for, its anti-forgery token checked. */
  async function postingSession(input: AccountInput): Promise<SessionRecord | OAuthError> {
    const session = await liveSession(input)
    if (session === undefined) return new AccountPageExpired('Your sign-in has ended. Sign in again to change your sign-in methods.')
    if (!safeEqual(input.form.csrf ?? '', tokenFor('account', input.sessionSecret ?? ''))) return new AccountPageExpired()
    return session
  }

  /** A new ceremony for `enroller` under `grant`, bound to this browser; the browser is sent to its first page. */
  async function startCeremony(input: AccountInput, enroller: Enroller, grant: EnrolmentGrant, sid: string | undefined): Promise<AccountOutcome> {
    const person = await loadPerson(deps.store, grant.uid)
    if (person === undefined) return { type: 'error_page', error: new AccountPageExpired('Your account could not be found. Contact your Registration Authority.') }
    const browserSecret = input.browserSecret ?? randomToken(32)
    const { state, view } = await enroller.start({ now: deps.now(), grant, username: person.username, display_name: person.display_name, source: input.source })
    const id = ceremonyPrefix + randomToken(16)
    const ceremony: CeremonyState = { browser: sha256(browserSecret), csrf: randomToken(16), grant, sid, method: enroller.method, enroller_state: state, view }
    await deps.store.interactions.put({ id, expires_at: deps.now() + ceremonyTtlMs, payload: encodeCeremony(ceremony, deps.secrets) })
    return { type: 'redirect', location: `${home}/add/${id}`, browserSecret: input.browserSecret === undefined ? browserSecret : undefined }
  }

  /** The ceremony `id`, if it is live, this browser's, (posting) carries its token, and (from a session) that session is still live. */
  async function loadCeremony(id: string, input: AccountInput, post: boolean): Promise<{ ceremony: CeremonyState; enroller: Enroller } | OAuthError> {
    if (!id.startsWith(ceremonyPrefix) || input.browserSecret === undefined) return new AccountPageExpired()
    const record = await deps.store.interactions.get(id, deps.now())
    const ceremony = record === undefined ? undefined : decodeCeremony(record.payload, pages(), deps.secrets)
    const enroller = enrollerOf(ceremony?.method)
    if (ceremony === undefined || enroller === undefined || !safeEqual(sha256(input.browserSecret), ceremony.browser)) return new AccountPageExpired()
    if (post && !safeEqual(input.form.csrf ?? '', ceremony.csrf)) return new AccountPageExpired()
    if (ceremony.grant.via === 'session') {
      // The grant came from the session: it stops with it (ended, locked, another person's, or now below the grant's level).
      const session = await liveSession(input)
      if (session === undefined || session.sid !== ceremony.sid || session.sub !== ceremony.grant.uid || session.aal < ceremony.grant.maxAal) {
        await deps.store.interactions.remove(id)
        return new AccountPageExpired('Your sign-in has ended, so adding a sign-in method has stopped. Sign in again to add it.')
      }
    }
    return { ceremony, enroller }
  }

  function stepView(id: string, ceremony: CeremonyState, enroller: Enroller, status = 200): AccountOutcome {
    return {
      type: 'show',
      status,
      view: { kind: 'step', ceremony: id, csrf: ceremony.csrf, via: ceremony.grant.via, method: { id: enroller.method, label: enroller.label }, view: ceremony.view },
    }
  }

  /** Any unexpected failure as a page: a store that did not answer, or a bug. */
  async function guarded(step: () => Promise<AccountOutcome>): Promise<AccountOutcome> {
    try {
      return await step()
    } catch (error) {
      return { type: 'error_page', error: asOAuthError(error) }
    }
  }

  return {
    /** GET `/account`: the overview, or a sign-in first. `form.added` / `form.removed` name the change just made. */
    show(input: AccountInput): Promise<AccountOutcome> {
      return guarded(async () => {
        const session = await liveSession(input)
        if (session === undefined) return signIn(input)
        const added = enrollerOf(input.form.added)
        const removed = deps.credentialKinds.find((k) => k.kind === input.form.removed)
        const notice: AccountNotice | undefined = added !== undefined ? { type: 'added', label: added.label } : removed !== undefined ? { type: 'removed', label: removed.label } : undefined
        return overview(session, input, notice === undefined ? {} : { notice })
      })
    },

    /** GET `/account/sign-in?level=3`: sign in again at that level (a step-up), back to the overview. */
    stepUp(input: AccountInput): Promise<AccountOutcome> {
      return guarded(async () => signIn(input, input.form.level === '2' ? 2 : 3))
    },

    /**
     * GET `/account/callback`: the authorization response. The state must be one this browser
     * started (once); the code is redeemed at the token endpoint with the PKCE verifier, and the ID
     * token must carry the nonce and name the session this browser now holds.
     */
    callback(input: AccountInput): Promise<AccountOutcome> {
      return guarded(async () => {
        const state = input.form.state ?? ''
        const record = state === '' || input.browserSecret === undefined ? undefined : await deps.store.interactions.get(signInPrefix + state, deps.now())
        const payload = record?.payload
        if (payload === undefined || typeof payload.browser !== 'string' || !safeEqual(sha256(input.browserSecret ?? ''), payload.browser)) {
          return { type: 'error_page', error: new AccountPageExpired('This sign-in has expired or was started in another browser. Go to your sign-in methods again.') }
        }
        // Once: a replayed response finds nothing.
        if (!(await deps.store.interactions.remove(signInPrefix + state))) return { type: 'error_page', error: new AccountPageExpired() }
        const code = input.form.code
        if (code === undefined || code === '') {
          return { type: 'error_page', error: new AccountPageExpired('You did not finish signing in. Go to your sign-in methods to try again.') }
        }
        let tokens: TokenResponse
        try {
          tokens = await deps.token({ grant_type: 'authorization_code', client_id: accountClientId, code, redirect_uri: accountRedirectUri(issuer), code_verifier: String(payload.verifier) })
        } catch (error) {
          if (error instanceof OAuthError) return { type: 'error_page', error: new AccountPageExpired('This sign-in could not be completed. Go to your sign-in methods to try again.') }
          throw error
        }
        const claims = tokens.id_token === undefined ? undefined : deps.verify(tokens.id_token)?.payload
        const session = await liveSession(input)
        if (claims === undefined || claims.nonce !== payload.nonce || claims.aud !== accountClientId || session === undefined || claims.sid !== session.sid || claims.sub !== session.sub) {
          return { type: 'error_page', error: new AccountPageExpired('This sign-in could not be completed. Go to your sign-in methods to try again.') }
        }
        return { type: 'redirect', location: home }
      })
    },

    /** POST `/account/remove` (kind, id): removes one of the worker's own credentials, never their last. */
    remove(input: AccountInput): Promise<AccountOutcome> {
      return guarded(async () => {
        const session = await postingSession(input)
        if (session instanceof OAuthError) return { type: 'error_page', error: session }
        const kind = deps.credentialKinds.find((k) => k.kind === input.form.kind)
        const credentials = await listCredentials(session.sub)
        const target = credentials.find((c) => c.kind === kind?.kind && c.id === input.form.id)
        if (kind === undefined || target === undefined) return overview(session, input, { error: 'missing_input' }, 400)
        // A worker must keep a way to sign in: the last one is never removed here.
        if (credentials.length <= 1) return overview(session, input, { error: 'last_method' }, 400)
        if (!(await kind.remove(session.sub, target.id))) return overview(session, input, { error: 'not_removed' }, 400)
        await deps.store.audit.append({ at: deps.now(), type: 'credential.removed', actor: session.sub, subject: session.sub, detail: { kind: kind.kind, credential_id: target.id, sid: session.sid } })
        return { type: 'redirect', location: `${home}?removed=${encodeURIComponent(kind.kind)}` }
      })
    },

    /** POST `/account/add` (method): starts an enroller the session's level allows. */
    add(input: AccountInput): Promise<AccountOutcome> {
      return guarded(async () => {
        const session = await postingSession(input)
        if (session instanceof OAuthError) return { type: 'error_page', error: session }
        const enroller = enrollerOf(input.form.method)
        if (enroller === undefined) return overview(session, input, { error: 'missing_input' }, 400)
        // "The same or a lower level" (cis2.md 4): above the session's, the worker signs in more strongly first.
        if (enroller.maxAal > session.aal) return overview(session, input, { error: 'stronger_sign_in_needed' }, 403)
        return startCeremony(input, enroller, { uid: session.sub, maxAal: session.aal as Aal, via: 'session' }, session.sid)
      })
    },

    /** GET `/account/add/:id`: the ceremony's current page. */
    step(id: string, input: AccountInput): Promise<AccountOutcome> {
      return guarded(async () => {
        const loaded = await loadCeremony(id, input, false)
        if (loaded instanceof OAuthError) return { type: 'error_page', error: loaded }
        return stepView(id, loaded.ceremony, loaded.enroller)
      })
    },

    /** POST `/account/add/:id`: the ceremony's current step. */
    submit(id: string, input: AccountInput): Promise<AccountOutcome> {
      return guarded(async () => {
        const loaded = await loadCeremony(id, input, true)
        if (loaded instanceof OAuthError) return { type: 'error_page', error: loaded }
        const { ceremony, enroller } = loaded
        const { grant } = ceremony
        const person = await loadPerson(deps.store, grant.uid)
        if (person === undefined) return { type: 'error_page', error: new AccountPageExpired('Your account could not be found. Contact your Registration Authority.') }
        const ctx = { now: deps.now(), grant, username: person.username, display_name: person.display_name, source: input.source }
        const result = await enroller.submit(ctx, ceremony.enroller_state, input.form)
        if (result.type !== 'registered') {
          const next: CeremonyState = { ...ceremony, enroller_state: result.state, view: result.view }
          await deps.store.interactions.put({ id, expires_at: deps.now() + ceremonyTtlMs, payload: encodeCeremony(next, deps.secrets) })
          return stepView(id, next, enroller, result.type === 'failure' ? 400 : 200)
        }
        await deps.store.interactions.remove(id)
        if (result.aal > grant.maxAal) {
          // An enroller must keep within its grant; one that did not has its credential taken back.
          await deps.credentialKinds.find((k) => k.kind === result.credential.kind)?.remove(grant.uid, result.credential.id)
          throw new Error(`enroller ${enroller.method} registered a credential above its grant`)
        }
        const actor = grant.via === 'session' ? grant.uid : 'ra-code'
        await deps.store.audit.append({
          at: deps.now(),
          type: 'credential.added',
          actor,
          subject: grant.uid,
          detail: { kind: result.credential.kind, credential_id: result.credential.id, method: enroller.method, aal: result.aal, via: grant.via } satisfies { [key: string]: Json },
        })
        if (grant.via === 'code') return { type: 'show', status: 200, view: { kind: 'registered', method: enroller.method, label: enroller.label, username: person.username } }
        return { type: 'redirect', location: `${home}?added=${encodeURIComponent(enroller.method)}` }
      })
    },

    /** GET `/account/enrol`: the enrolment code form. */
    codeForm(input: AccountInput): Promise<AccountOutcome> {
      return guarded(async () => {
        const browserSecret = input.browserSecret ?? randomToken(32)
        return {
          type: 'show',
          status: 200,
          view: { kind: 'code', csrf: tokenFor('enrolment-code', browserSecret) },
          browserSecret: input.browserSecret === undefined ? browserSecret : undefined,
        }
      })
    },

    /**
     * POST `/account/enrol` (username, code): a good code for that person starts the enroller of its
     * method with a code grant, and is used up. A wrong, used or expired code and an unknown username
     * all get one answer, so the form tells nobody who exists or which codes were issued.
     */
    useCode(input: AccountInput): Promise<AccountOutcome> {
      return guarded(async () => {
        if (input.browserSecret === undefined || !safeEqual(input.form.csrf ?? '', tokenFor('enrolment-code', input.browserSecret))) return { type: 'error_page', error: new AccountPageExpired('This page has expired. Open the enrolment page again.') }
        const csrf = input.form.csrf as string
        const username = (input.form.username ?? '').trim()
        const code = input.form.code ?? ''
        if (username === '' || code.trim() === '') return { type: 'show', status: 400, view: { kind: 'code', csrf, username, error: 'missing_input' } }
        const refused: AccountOutcome = { type: 'show', status: 400, view: { kind: 'code', csrf, username, error: 'invalid_code' } }
        const json = await deps.store.people.getByUsername(username)
        const uid = json !== null && typeof json === 'object' && !Array.isArray(json) && typeof json.uid === 'string' ? json.uid : undefined
        if (uid === undefined) return refused
        const method = await useEnrolmentCode(deps.store.credentials, uid, code, deps.now())
        if (method === undefined) return refused
        await deps.store.audit.append({ at: deps.now(), type: 'enrolment_code.used', actor: 'ra-code', subject: uid, detail: { method } })
        const enroller = enrollerOf(method)
        if (enroller === undefined) return { type: 'error_page', error: new AccountPageExpired('This sign-in method is no longer offered. Ask your Registration Authority for a new enrolment code.') }
        return startCeremony(input, enroller, { uid, maxAal: 3, via: 'code', method }, undefined)
      })
    },
  }
}

export type AccountArea = ReturnType<typeof createAccountArea>
