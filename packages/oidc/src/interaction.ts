/**
 * The sign-in journey between /authorize and the redirect back: choose an authenticator that
 * meets acr_values, go through its steps, choose a role when asked, return. It is bound to the
 * browser that started it (a cookie whose hash the interaction keeps) and every form post carries
 * the interaction's anti-forgery token, so a journey can be neither hijacked nor forced on
 * someone else (login CSRF).
 *
 * A method whose proof comes from a program on the person's computer (`Authenticator.handoff`)
 * may instead be the first step by redirect: the browser is sent to that program, which sends it
 * back by GET with its answer, and the journey goes on by redirects only (no page is shown when
 * the answer signs the person in with a role already chosen). It does so when the `agentHandoff`
 * setting allows it for this browser, at most once a journey; an answer with nothing to give
 * (`declined`) leads to the pages as if no handoff had happened.
 *
 * A browser that signed in before is remembered by the method it used (a cookie the HTTP layer
 * keeps): a journey whose request accepts that method among others starts it at once, as it does a
 * method that is the only one accepted, and its page offers the choice as another way. It does so
 * at most once a journey, so going back to the choice stays there.
 */
import type { Aal, Authenticator, AuthenticationError, AuthenticationMethod, Directory, StepPageName, StepResult, StepView } from '@careid/ports'
import { roleOptions, type Person } from '@careid/domain'
import type { InteractionRecord, SessionRecord } from '@careid/ports'
import { meets } from './acr.ts'
import { asOAuthError, loadPerson, type AuthorizeDeps } from './authorize.ts'
import { errorRedirect, type AuthorizationRequest } from './authorization_request.ts'
import { decideRole, issueCode, SessionNotLive } from './authorization_response.ts'
import { safeEqual, sha256 } from './crypto.ts'
import { LoginRequired, OAuthError } from './errors.ts'
import { decodeJourneyState, encodeJourneyState, encodeStepView, stepPages, type JourneyState } from './journey_state.ts'
import { withClient } from './request_codec.ts'

export interface JourneyDeps extends AuthorizeDeps {
  authenticators: readonly Authenticator[]
  directory: Directory
}

export type JourneyView =
  | {
      kind: 'choose'
      client_name: string
      csrf: string
      options: AuthenticationMethod[]
      unavailable: AuthenticationMethod[]
      /** The choice was posted without one of the options. */
      missing?: boolean
    }
  | {
      kind: 'step'
      client_name: string
      csrf: string
      method: AuthenticationMethod
      view: StepView
      canGoBack: boolean
      /** The other methods the request accepts. */
      alternatives: AuthenticationMethod[]
      /** Started because this browser last signed in with it, not chosen: the page offers another way. */
      remembered: boolean
    }
  | {
      kind: 'select_role'
      client_name: string
      csrf: string
      person_name: string
      roles: ReturnType<typeof roleOptions>
      total: number
      query?: string | undefined
      missing?: boolean
    }

export type JourneyOutcome =
  | {
      type: 'show'
      view: JourneyView
      status: number
      session?: NewSession | undefined
      /** Origins the page's forms may lead to (the client's redirect URI), for CSP form-action. */
      formTargets?: string[] | undefined
      /** A posted step that failed (which method, and why), or signed the person in before the role page. */
      attempt?: SignInAttempt | undefined
      /** A method whose handoff party proved the person through this browser: the browser reaches it (for the hint cookie). */
      handoffReady?: string | undefined
    }
  | {
      type: 'redirect'
      location: string
      session?: NewSession | undefined
      /** A posted step that signed the person in. */
      attempt?: SignInAttempt | undefined
      /** As for `show`. */
      handoffReady?: string | undefined
      /** The error the location sends to the client's redirect URI, if it sends one. */
      error?: OAuthError | undefined
    }
  | { type: 'error_page'; error: OAuthError }

/** What a posted authenticator step came to, when it ended in a sign-in or a failure (not a further step). */
export interface SignInAttempt {
  /** The authenticator's id: `password`, `totp`, `smartcard`. */
  method: string
  result: 'success' | AuthenticationError
}

/** A session cookie to set: the journey signed the person in. */
export interface NewSession {
  secret: string
  maxAgeMs: number
}

export interface JourneyInput {
  interactionId: string
  browserSecret: string | undefined
  sessionSecret?: string | undefined
  /** The posted form (POST) or query (GET). */
  form: Record<string, string>
  /** The client's address: authenticators limit guesses per source. */
  source?: string | undefined
  /** The methods whose handoff party this browser is known to reach (for the `hinted` setting). */
  handoffHints?: readonly string[] | undefined
  /** The method this browser last signed in with, if it says. */
  lastMethod?: string | undefined
}

/** A journey that can't go on: expired, unknown, or from another browser. */
export class JourneyExpired extends OAuthError {
  constructor() {
    super('invalid_request', 'This sign-in has expired or is not valid. Go back to the application and start again.', 400, { allowRedirect: false })
  }
}

interface Loaded {
  record: InteractionRecord
  state: JourneyState
  request: AuthorizationRequest
}

export function createJourney(deps: JourneyDeps) {
  /** The step pages of the authenticators offered now (plugins register theirs after creation). */
  const pages = () => stepPages(deps.authenticators)

  /** The journey's record and state, if it is live and decodes. */
  async function read(interactionId: string): Promise<{ record: InteractionRecord; state: JourneyState } | undefined> {
    const record = await deps.store.interactions.get(interactionId, deps.now())
    const state = record === undefined ? undefined : decodeJourneyState(record.payload, pages())
    return record === undefined || state === undefined ? undefined : { record, state }
  }

  async function load(input: JourneyInput, post: boolean): Promise<Loaded> {
    // A record that does not decode is no journey this provider can go on with: expired, not a crash.
    const found = await read(input.interactionId)
    if (found === undefined || input.browserSecret === undefined) throw new JourneyExpired()
    const { record, state } = found
    if (!safeEqual(sha256(input.browserSecret), state.browser)) throw new JourneyExpired()
    if (post && !safeEqual(input.form.csrf ?? '', state.csrf)) throw new JourneyExpired()
    const client = await deps.clients.get(state.request.client_id)
    if (client === undefined) throw new JourneyExpired()
    return { record, state, request: withClient(state.request, client) }
  }

  function methods(request: AuthorizationRequest) {
    const meetsRequest = (m: AuthenticationMethod) => request.acr_values.some((acr) => [m.amr, ...(m.otherAmr ?? [])].some((amr) => meets(acr, [amr], m.aal)))
    const options = deps.authenticators.filter((a) => meetsRequest(a.method))
    const unavailable = deps.authenticators.filter((a) => !meetsRequest(a.method))
    return { options, unavailable }
  }

  async function save(loaded: Loaded, changes: Partial<JourneyState>) {
    // A remembered start lasts while its method is the one at hand: any change of method (back to
    // the choice, another method, a handoff, a decline) leaves it, so it is never started again.
    if ('method' in changes && changes.remembered === undefined && loaded.state.remembered === 'started') changes = { ...changes, remembered: 'left' }
    Object.assign(loaded.state, changes)
    await deps.store.interactions.put({ ...loaded.record, payload: encodeJourneyState(loaded.state) })
  }

  /**
   * `view` saying the method ended in an `amr` the request does not accept, if its page can say so
   * (a smartcard's); as it is otherwise.
   */
  function notAccepted(view: StepView): StepView {
    return pages().get(view.page)?.decode({ ...encodeStepView(view), error: 'method_not_accepted' }) ?? view
  }

  function ctx(loaded: Loaded, source?: string) {
    const { client_id, client_name } = loaded.request.client
    return { now: deps.now(), loginHint: loaded.request.login_hint, source, client: { client_id, client_name } }
  }

  function show(view: JourneyView, status = 200): JourneyOutcome {
    return { type: 'show', view, status }
  }

  /** The page for the login stage; `missing` when the choice of method was posted without one. */
  async function loginView(loaded: Loaded, missing = false): Promise<JourneyOutcome> {
    // Back without the handoff's answer (the person went back, or the program never answered): on with pages.
    if (loaded.state.handoff === 'awaited') await save(loaded, { method: undefined, auth_state: null, view: undefined, handoff: 'answered' })
    const { options, unavailable } = methods(loaded.request)
    const chosen = options.find((a) => a.method.id === loaded.state.method)
    const base = { client_name: loaded.request.client.client_name, csrf: loaded.state.csrf }
    if (chosen === undefined && options.length === 1) return begin(loaded, options[0] as Authenticator)
    if (chosen === undefined) {
      const status = options.length === 0 ? 403 : missing ? 400 : 200
      return show({ kind: 'choose', ...base, options: options.map((a) => a.method), unavailable: unavailable.map((a) => a.method), missing }, status)
    }
    // A method chosen and no view of its step is a record no version writes: not a journey to go on with.
    if (loaded.state.view === undefined) throw new JourneyExpired()
    const alternatives = options.filter((a) => a !== chosen).map((a) => a.method)
    const remembered = alternatives.length > 0 && loaded.state.remembered === 'started'
    return show({ kind: 'step', ...base, method: chosen.method, view: loaded.state.view, canGoBack: options.length > 1, alternatives, remembered })
  }

  /**
   * The method this browser last signed in with, started at once when the request accepts it among
   * others and the journey has not started a remembered method before (nor any method yet);
   * undefined otherwise, for the choice.
   */
  async function startRemembered(loaded: Loaded, input: JourneyInput): Promise<JourneyOutcome | undefined> {
    const { stage, method, remembered } = loaded.state
    if (input.lastMethod === undefined || stage !== 'login' || method !== undefined || remembered !== undefined) return undefined
    const { options } = methods(loaded.request)
    const last = options.find((a) => a.method.id === input.lastMethod)
    // A single option starts by itself anyway, and with nothing else to offer there is no other way.
    if (last === undefined || options.length < 2) return undefined
    return begin(loaded, last, 'started')
  }


  /**
   * The first step as a redirect to the program that proves the person, when the setting allows it
   * for this browser (`always`; `hinted`: the browser is known to reach that program) and the
   * journey has not handed off before; undefined otherwise.
   */
  async function handOff(loaded: Loaded, input: JourneyInput): Promise<JourneyOutcome | undefined> {
    const setting = deps.config.agentHandoff
    const { stage, method, handoff } = loaded.state
    if (setting === 'never' || stage !== 'login' || method !== undefined || handoff !== undefined) return undefined
    const reachable = (a: Authenticator) => setting === 'always' || (input.handoffHints ?? []).includes(a.method.id)
    const target = methods(loaded.request).options.find((a) => a.handoff !== undefined && reachable(a))
    if (target?.handoff === undefined) return undefined
    const { state, location } = await target.handoff(ctx(loaded, input.source), loaded.record.id)
    await save(loaded, { method: target.method.id, auth_state: state, view: undefined, handoff: 'awaited' })
    return { type: 'redirect', location }
  }

  async function begin(loaded: Loaded, authenticator: Authenticator, remembered?: 'started'): Promise<JourneyOutcome> {
    const { state, view } = await authenticator.start(ctx(loaded))
    await save(loaded, { method: authenticator.method.id, auth_state: state, view, ...(remembered === undefined ? {} : { remembered }) })
    return loginView(loaded)
  }

  async function roleView(loaded: Loaded, person: Person, query?: string, missing = false): Promise<JourneyOutcome> {
    const all = roleOptions(person, deps.directory)
    const q = query?.trim().toLowerCase()
    const roles = q === undefined || q === '' ? all : all.filter((r) => [r.job_role, r.role_name, r.org_name, r.org_code].some((v) => v.toLowerCase().includes(q)))
    return show(
      {
        kind: 'select_role',
        client_name: loaded.request.client.client_name,
        csrf: loaded.state.csrf,
        person_name: person.display_name,
        roles,
        total: all.length,
        query,
        missing,
      },
      missing ? 400 : 200,
    )
  }

  /**
   * Back to the first stage: the session the journey was to answer from is locked, ended, timed out
   * or no longer this browser's. The person signs in again (with the card, a locked session is
   * unlocked); the application gets nothing until then.
   */
  async function backToSignIn(loaded: Loaded): Promise<JourneyOutcome> {
    await save(loaded, { stage: 'login', session: undefined, method: undefined, auth_state: null, view: undefined })
    return loginView(loaded)
  }

  /** Issues the code and ends the journey; back to sign-in if the session can no longer answer. */
  async function finish(loaded: Loaded, session: SessionRecord, person: Person, newSecret?: string): Promise<JourneyOutcome> {
    const cookie = newSecret === undefined ? undefined : { secret: newSecret, maxAgeMs: session.expires_at - deps.now() }
    let location: string
    try {
      location = await issueCode({ store: deps.store, sessions: deps.sessions, config: deps.config, now: deps.now, request: loaded.request, session, person })
    } catch (error) {
      if (!(error instanceof SessionNotLive)) throw error
      // The cookie still goes to the browser: a session locked meanwhile is unlocked through it.
      const outcome = await backToSignIn(loaded)
      return outcome.type === 'show' ? { ...outcome, session: cookie } : outcome
    }
    await deps.store.interactions.remove(loaded.record.id)
    return { type: 'redirect', location, session: cookie }
  }

  async function afterSignIn(loaded: Loaded, session: SessionRecord, secret: string | undefined): Promise<JourneyOutcome> {
    const person = await loadPerson(deps.store, session.sub)
    if (person === undefined) throw new LoginRequired('the End-User must sign in')
    const role = decideRole(loaded.request, session, person)
    if (role.kind === 'ask') {
      await save(loaded, { stage: 'select_role', session: session.session_hash })
      const outcome = await roleView(loaded, person)
      // The cookie is set now, so the session secret never waits in the interaction record.
      return secret === undefined || outcome.type !== 'show' ? outcome : { ...outcome, session: { secret, maxAgeMs: session.expires_at - deps.now() } }
    }
    if (role.kind === 'auto') {
      await deps.store.sessions.setSelectedRole(session.session_hash, role.roleId)
      session.selected_roleid = role.roleId
    }
    return finish(loaded, session, person, secret)
  }

  /** Where a step's result leads: its next page, its failure shown again, the method choice (declined), or signed in. */
  async function stepDone(loaded: Loaded, chosen: Authenticator, result: StepResult, input: JourneyInput): Promise<JourneyOutcome> {
    if (result.type === 'declined') {
      await save(loaded, { method: undefined, auth_state: null, view: undefined })
      return loginView(loaded)
    }
    if (result.type !== 'success') {
      await save(loaded, { auth_state: result.state, view: result.view })
      const outcome = await loginView(loaded)
      return result.type === 'failure' && outcome.type === 'show' ? { ...outcome, status: 400, attempt: { method: chosen.method.id, result: result.reason } } : outcome
    }
    // The level this proof reached: never above the method's, lower for a weaker credential (a synced passkey).
    const aal = Math.min(result.aal ?? chosen.method.aal, chosen.method.aal) as Aal
    // A method that may end in one of several amr values (a smartcard), or at a lower level than it
    // can reach (a passkey), must have ended in what the request accepts.
    if (!loaded.request.acr_values.some((acr) => meets(acr, result.amr, aal))) {
      const restarted = await chosen.start(ctx(loaded))
      await save(loaded, { auth_state: restarted.state, view: notAccepted(restarted.view) })
      const outcome = await loginView(loaded)
      return outcome.type === 'show' ? { ...outcome, status: 400, attempt: { method: chosen.method.id, result: 'method_not_accepted' } } : outcome
    }
    const hinted = loaded.request.id_token_hint_sub
    // OIDC Core 3.1.2.1 id_token_hint: a different End-User "SHOULD return an error, such as login_required".
    if (hinted !== undefined && hinted !== result.uid) throw new LoginRequired('signed in as a different End-User than id_token_hint')
    const signIn = {
      sub: result.uid,
      amr: result.amr,
      aal,
      auth_time: deps.now(),
      selected_roleid: result.selected_roleid,
      binding: result.binding,
      binding_ends_at: result.binding_ends_at,
    }
    const current = await deps.sessions.resolve(input.sessionSecret)
    const { session, secret } = current !== undefined ? await deps.sessions.signInAgain(current, signIn) : await deps.sessions.start(signIn)
    await deps.store.audit.append({ at: deps.now(), type: 'sign_in', subject: result.uid, client_id: loaded.request.client.client_id, detail: { amr: result.amr } })
    const outcome = await afterSignIn(loaded, session, secret)
    if (outcome.type === 'error_page') return outcome
    return { ...outcome, attempt: { method: chosen.method.id, result: 'success' }, handoffReady: result.handoff_ready === true ? chosen.method.id : undefined }
  }

  /** Runs a step, turning protocol errors into a redirect when the redirect URI is trusted. */
  async function guarded(input: JourneyInput, post: boolean, step: (loaded: Loaded) => Promise<JourneyOutcome>): Promise<JourneyOutcome> {
    let loaded: Loaded
    try {
      loaded = await load(input, post)
    } catch (error) {
      return { type: 'error_page', error: asOAuthError(error) }
    }
    try {
      const outcome = await step(loaded)
      // A form post ends in a redirect to the client; CSP form-action must allow that hop.
      return outcome.type === 'show' ? { ...outcome, formTargets: [new URL(loaded.request.redirect_uri).origin] } : outcome
    } catch (error) {
      const oauth = asOAuthError(error)
      if (!oauth.allowRedirect) return { type: 'error_page', error: oauth }
      await deps.store.interactions.remove(loaded.record.id)
      return { type: 'redirect', location: errorRedirect(loaded.request, oauth, deps.config.issuer), error: oauth }
    }
  }

  /**
   * The session a role-selection stage answers from: still live and unlocked, and still the one
   * this browser's cookie holds (the cookie was set before the role page was shown).
   */
  async function existingSession(loaded: Loaded, input: JourneyInput): Promise<SessionRecord | undefined> {
    const hash = loaded.state.session
    if (hash === undefined || input.sessionSecret === undefined || !safeEqual(sha256(input.sessionSecret), hash)) return undefined
    return deps.sessions.current(hash)
  }

  return {
    /**
     * The page of the authenticator step the journey is at (`password`, `totp`, `smartcard`), so
     * the HTTP layer knows what the next post answers; undefined when none is (no live journey, no
     * method chosen yet, or past sign-in). Reveals nothing else and changes nothing.
     */
    async currentPage(interactionId: string): Promise<StepPageName | undefined> {
      const found = await read(interactionId)
      return found?.state.stage === 'login' ? found.state.view?.page : undefined
    },

    /** GET: the page for the journey's current stage (`query` filters the role list). */
    show(input: JourneyInput) {
      return guarded(input, false, async (loaded) => {
        if (loaded.state.stage === 'select_role') {
          const session = await existingSession(loaded, input)
          if (session === undefined) return backToSignIn(loaded)
          const person = await loadPerson(deps.store, session.sub)
          if (person === undefined) throw new LoginRequired('the End-User must sign in')
          return roleView(loaded, person, input.form.query)
        }
        return (await handOff(loaded, input)) ?? (await startRemembered(loaded, input)) ?? loginView(loaded)
      })
    },

    /** POST method=<id>: start the chosen authenticator. */
    choose(input: JourneyInput) {
      return guarded(input, true, async (loaded) => {
        const chosen = methods(loaded.request).options.find((a) => a.method.id === input.form.method)
        if (chosen === undefined || loaded.state.stage !== 'login') {
          await save(loaded, { method: undefined })
          // Nothing chosen, or something not offered: the choice again, saying what to do.
          return loginView(loaded, loaded.state.stage === 'login')
        }
        return begin(loaded, chosen)
      })
    },

    /** GET back: return to the choice of authenticator. */
    back(input: JourneyInput) {
      return guarded(input, false, async (loaded) => {
        if (loaded.state.stage === 'login') await save(loaded, { method: undefined, auth_state: null, view: undefined })
        return loginView(loaded)
      })
    },

    /** POST: the current authenticator step's form. */
    submit(input: JourneyInput) {
      return guarded(input, true, async (loaded) => {
        const chosen = methods(loaded.request).options.find((a) => a.method.id === loaded.state.method)
        if (chosen === undefined || loaded.state.stage !== 'login' || loaded.state.handoff === 'awaited') return loginView(loaded)
        return stepDone(loaded, chosen, await chosen.submit(ctx(loaded, input.source), loaded.state.auth_state, input.form), input)
      })
    },

    /**
     * GET `{issuer}/interaction/:id/:method/return`: the answer of the program the journey handed
     * the browser off to, its query as the step's input. Only from the browser that started the
     * journey (its cookie, as for every step), and once: a replayed answer, an answer for another
     * method, or one the journey never asked for is refused as an expired journey.
     */
    handoffReturn(input: JourneyInput, methodId: string) {
      return guarded(input, false, async (loaded) => {
        const chosen = methods(loaded.request).options.find((a) => a.method.id === loaded.state.method)
        if (loaded.state.stage !== 'login' || loaded.state.handoff !== 'awaited' || chosen === undefined || chosen.method.id !== methodId) throw new JourneyExpired()
        await save(loaded, { handoff: 'answered' })
        return stepDone(loaded, chosen, await chosen.submit(ctx(loaded, input.source), loaded.state.auth_state, input.form), input)
      })
    },

    /** POST role=<person_roleid>. */
    selectRole(input: JourneyInput) {
      return guarded(input, true, async (loaded) => {
        if (loaded.state.stage !== 'select_role') return loginView(loaded)
        const session = await existingSession(loaded, input)
        if (session === undefined) return backToSignIn(loaded)
        const person = await loadPerson(deps.store, session.sub)
        if (person === undefined) throw new LoginRequired('the End-User must sign in')
        const roleId = input.form.role
        if (roleId === undefined || !person.positions.some((p) => p.person_roleid === roleId)) return roleView(loaded, person, undefined, true)
        await deps.store.sessions.setSelectedRole(session.session_hash, roleId)
        session.selected_roleid = roleId
        return finish(loaded, session, person)
      })
    },
  }
}

export type Journey = ReturnType<typeof createJourney>
