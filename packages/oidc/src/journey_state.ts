/**
 * The state of a sign-in journey (an interaction), as kept in the store between the browser's
 * requests, and its codec. The store holds it as JSON; reading it back checks every field, so a
 * record that does not decode (corrupted, or written by a version that meant something else) ends
 * the journey as expired rather than being half-read.
 *
 * The shape written is the one every earlier version wrote (absent values as null), so a journey
 * in flight during a rolling upgrade goes on whichever node serves its next request.
 */
import type { Json, StepPage, StepView } from '@careid/ports'
import { decoded, isJsonObject, JsonFields, NotDecodable } from './json_fields.ts'
import { encodeAuthorizationRequest, readAuthorizationRequest, storedRequest, type StoredAuthorizationRequest } from './request_codec.ts'
import type { AuthorizationRequest } from './authorization_request.ts'

/** Signing in (choosing an authenticator, going through its steps), or choosing a role. */
export type InteractionStage = 'login' | 'select_role'

const stages: readonly InteractionStage[] = ['login', 'select_role']

/**
 * A handoff of the browser to the party that proves the person (`Authenticator.handoff`):
 * `awaited` while its answer has not come back, `answered` once it has (or the browser came back
 * without it), so a journey hands off at most once.
 */
export type HandoffStage = 'awaited' | 'answered'

const handoffStages: readonly HandoffStage[] = ['awaited', 'answered']

/**
 * A method the journey started by itself because this browser last signed in with it: `started`
 * while it is the current method, `left` once the person went to the choice (or another method
 * began), so a journey starts a remembered method at most once.
 */
export type RememberedStage = 'started' | 'left'

const rememberedStages: readonly RememberedStage[] = ['started', 'left']

export interface JourneyState {
  request: StoredAuthorizationRequest
  /** SHA-256 of the secret in the cookie of the browser that started the journey. */
  browser: string
  /** The anti-forgery token every form post must carry. */
  csrf: string
  stage: InteractionStage
  /** The hash of the session the journey answers from once signed in (the role stage). */
  session?: string | undefined
  /** The chosen authenticator's id, at the login stage. */
  method?: string | undefined
  /** The chosen authenticator's own state between its steps (null before its first). */
  auth_state: Json
  /** The page of the authenticator's current step (none while a handoff is awaited). */
  view?: StepView | undefined
  /** Whether the journey handed the browser off (to `method`'s party); absent if it never did. */
  handoff?: HandoffStage | undefined
  /** Whether the journey started `method` because this browser last used it; absent if it never did. */
  remembered?: RememberedStage | undefined
}

/** The state of a journey starting now for `request`. */
export function newJourneyState(request: AuthorizationRequest, fields: Pick<JourneyState, 'browser' | 'csrf' | 'stage' | 'session'>): JourneyState {
  return { request: storedRequest(request), ...fields, auth_state: null }
}

export function encodeJourneyState(state: JourneyState): { [key: string]: Json } {
  return {
    request: encodeAuthorizationRequest(state.request),
    browser: state.browser,
    csrf: state.csrf,
    stage: state.stage,
    session: state.session ?? null,
    method: state.method ?? null,
    auth_state: state.auth_state,
    view: state.view === undefined ? null : encodeStepView(state.view),
    // Only when there was a handoff: a journey without one is stored as earlier versions stored it.
    ...(state.handoff === undefined ? {} : { handoff: state.handoff }),
    ...(state.remembered === undefined ? {} : { remembered: state.remembered }),
  }
}

/**
 * The state, or undefined if `payload` is not one `encodeJourneyState` (or an earlier version)
 * wrote. `pages` are the step pages of the configured authenticators, by name: a stored view must
 * be one of theirs.
 */
export function decodeJourneyState(payload: Json, pages: ReadonlyMap<string, StepPage>): JourneyState | undefined {
  return decoded(() => {
    const f = JsonFields.of(payload)
    return {
      request: readAuthorizationRequest(f.object('request')),
      browser: f.string('browser'),
      csrf: f.string('csrf'),
      stage: f.oneOf('stage', stages),
      session: f.optionalString('session'),
      method: f.optionalString('method'),
      auth_state: f.json('auth_state') ?? null,
      view: f.absent('view') ? undefined : decodeStepView(f.json('view'), pages),
      ...(f.absent('handoff') ? {} : { handoff: f.oneOf('handoff', handoffStages) }),
      ...(f.absent('remembered') ? {} : { remembered: f.oneOf('remembered', rememberedStages) }),
    }
  })
}

/** The step pages of `authenticators`, by name, for `decodeJourneyState`. */
export function stepPages(authenticators: readonly { pages: readonly StepPage[] }[]): ReadonlyMap<string, StepPage> {
  return new Map(authenticators.flatMap((a) => a.pages.map((page) => [page.name, page] as const)))
}

/** A step view as JSON: its page, and its values, error and data when it has them. */
export function encodeStepView(view: StepView): { [key: string]: Json } {
  const json: { [key: string]: Json } = { page: view.page }
  if (view.values !== undefined) json.values = definedFields(view.values)
  if (view.error !== undefined) json.error = view.error
  if (view.data !== undefined) json.data = definedFields(view.data)
  return json
}

function decodeStepView(json: Json | undefined, pages: ReadonlyMap<string, StepPage>): StepView {
  const page = isJsonObject(json) && typeof json.page === 'string' ? pages.get(json.page) : undefined
  const view = page !== undefined && isJsonObject(json) ? page.decode(json) : undefined
  if (view === undefined) throw new NotDecodable('$.view')
  return view
}

function definedFields(fields: { [key: string]: string | number | boolean | undefined }): { [key: string]: Json } {
  const json: { [key: string]: Json } = {}
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) json[key] = value
  return json
}
