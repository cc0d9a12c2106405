/**
 * The mobile app authenticator (CIS2's iPad app, `AAL3_IOS`, cis2.md 3.6 and 4): the sign-in page
 * asks for the username, then shows a number; the worker's registered device (a tablet or phone the
 * Registration Authority registered with them present) shows the request, the worker enters the
 * number and confirms with the device's biometric (WebAuthn user verification), and the device signs
 * its approval with its own key. The page then goes on (its script polls the request's status; a
 * "Continue" button does the same without script).
 *
 * A username nobody holds gets a request too, which no device ever sees: the page waits and expires
 * exactly as for a worker who does not answer, so the page tells nobody which usernames exist.
 *
 * AAL3: two factors, the device (its non-extractable key) and the worker's biometric on it. The
 * sign-in is bound to the device (`mobile:<device id>`): revoking the device ends it.
 */
import { parsePerson } from '@careid/domain'
import { sha256 } from '@careid/oidc'
import { storedStepView, type AuthenticationMethod, type Authenticator, type AuthenticatorContext, type Directory, type Json, type PersonStore, type RateCounter, type StepPage, type StepResult, type StepView } from '@careid/ports'
import type { Devices } from './devices.ts'
import type { Requests, SignInRequest } from './requests.ts'

export const MOBILE_METHOD_ID = 'mobile'
/**
 * At most this many sign-in requests a minute reach a worker's devices: anyone can type a username,
 * and a device flooded with requests wears its worker down. Requests beyond it are made and wait
 * as any other (the page tells nothing), but no device sees them.
 */
export const requestsPerMinute = 5

/** What the username page can say: why the last request came to nothing. */
type UsernameError = 'missing_input' | 'request_expired' | 'number_mismatch' | 'request_declined' | 'method_not_accepted'
const usernameErrors: readonly UsernameError[] = ['missing_input', 'request_expired', 'number_mismatch', 'request_declined', 'method_not_accepted']
type WaitError = 'not_approved_yet'
const waitErrors: readonly WaitError[] = ['not_approved_yet']

declare module '@careid/ports' {
  interface StepPages {
    /** The username whose device is asked. */
    mobile_username: { error: UsernameError; values: { username?: string | undefined }; data: {} }
    /** The number to enter on the device, while the page waits for the device's approval. */
    mobile_wait: { error: WaitError; values: {}; data: { number: string; request: string; status_url: string; expires_at: number } }
  }
}

const usernamePage: StepPage<'mobile_username'> = {
  name: 'mobile_username',
  decode(stored) {
    const parts = storedStepView(stored, usernameErrors)
    if (parts === undefined) return undefined
    const username = parts.values?.username
    return { page: 'mobile_username', error: parts.error, values: username === undefined ? {} : { username }, data: {} }
  },
}

const waitPage: StepPage<'mobile_wait'> = {
  name: 'mobile_wait',
  decode(stored) {
    const parts = storedStepView(stored, waitErrors)
    const { number, request, status_url, expires_at } = parts?.data ?? {}
    if (parts === undefined || typeof number !== 'string' || typeof request !== 'string' || typeof status_url !== 'string' || typeof expires_at !== 'number') return undefined
    return { page: 'mobile_wait', error: parts.error, values: {}, data: { number, request, status_url, expires_at } }
  },
}

export interface MobileAuthenticatorOptions {
  issuer: string
  devices: Devices
  requests: Requests
  people: Pick<PersonStore, 'getByUsername'>
  /** Counts the requests put before a worker's devices. */
  rates: Pick<RateCounter, 'hit'>
  directory: Directory
  label?: string | undefined
  description?: string | undefined
}

type State = { stage: 'username' } | { stage: 'wait'; request: string; username: string }

export function mobileAuthenticator(options: MobileAuthenticatorOptions): Authenticator {
  const method: AuthenticationMethod = {
    id: MOBILE_METHOD_ID,
    amr: 'IOS',
    aal: 3,
    acr: 'AAL3_IOS',
    label: options.label ?? 'NHS CIS2 app on your tablet or phone',
    description: options.description ?? 'Approve the sign-in on the tablet or phone your Registration Authority registered for you.',
  }
  const statusUrl = `${options.issuer}/mobile/status`

  function askUsername(username: string | undefined, error?: UsernameError): { state: Json; view: StepView<'mobile_username'> } {
    return { state: { stage: 'username' }, view: { page: 'mobile_username', error, values: username === undefined || username === '' ? {} : { username }, data: {} } }
  }

  function waiting(request: SignInRequest, username: string, error?: WaitError): { state: Json; view: StepView<'mobile_wait'> } {
    return {
      state: { stage: 'wait', request: request.id, username },
      view: { page: 'mobile_wait', error, values: {}, data: { number: request.number, request: request.id, status_url: statusUrl, expires_at: request.expires_at } },
    }
  }

  function refused(username: string, reason: UsernameError): StepResult {
    return { type: 'failure', reason, ...askUsername(username, reason) }
  }

  /** The organisations of the person's roles, as the device names them. */
  function organisationsOf(person: Json | undefined): { uid: string | undefined; organisations: string[] } {
    if (person === undefined) return { uid: undefined, organisations: [] }
    const parsed = parsePerson(person)
    const names = new Set(parsed.positions.map((p) => options.directory.organisation(p.org_code)?.org_name ?? p.org_code))
    return { uid: parsed.uid, organisations: [...names] }
  }

  async function request(ctx: AuthenticatorContext, username: string): Promise<StepResult> {
    const { uid, organisations } = organisationsOf(await options.people.getByUsername(username))
    const created = await options.requests.create({ uid, organisations, client_name: ctx.client?.client_name ?? 'an application', source: ctx.source }, ctx.now)
    if (uid !== undefined && (await options.rates.hit(sha256(`mobile-requests:${uid}`), 60_000, ctx.now)) <= requestsPerMinute) {
      await options.devices.offer(uid, { id: created.id, exp: created.expires_at }, ctx.now)
    }
    return { type: 'continue', ...waiting(created, username) }
  }

  async function answer(ctx: AuthenticatorContext, state: Extract<State, { stage: 'wait' }>): Promise<StepResult> {
    const found = await options.requests.get(state.request, ctx.now)
    if (found === undefined || (found.status === 'pending' && found.expires_at <= ctx.now)) return refused(state.username, 'request_expired')
    if (found.status === 'number_mismatch') return refused(state.username, 'number_mismatch')
    if (found.status === 'declined') return refused(state.username, 'request_declined')
    if (found.status === 'pending') return { type: 'failure', reason: 'not_approved_yet', ...waiting(found, state.username, 'not_approved_yet') }
    // Approved: by a device of this worker that is still active now, and used once.
    const device = found.device === undefined ? undefined : await options.devices.get(found.device)
    if (device === undefined || device.status !== 'active' || device.uid !== found.uid) return refused(state.username, 'request_declined')
    if (!(await options.requests.use(found, ctx.now))) return refused(state.username, 'request_expired')
    return { type: 'success', uid: device.uid, amr: ['IOS'], binding: `mobile:${device.id}` }
  }

  return {
    method,
    pages: [usernamePage, waitPage],
    async start(ctx) {
      return askUsername(ctx.loginHint)
    },
    async submit(ctx, raw, input) {
      const state = raw as State | null
      if (state !== null && state.stage === 'wait' && typeof state.request === 'string' && typeof state.username === 'string') {
        // "Use another username" from the waiting page.
        if (input.action === 'restart') return { type: 'continue', ...askUsername(state.username) }
        return answer(ctx, state)
      }
      const username = (input.username ?? '').trim()
      if (username === '' || username.length > 256) return { type: 'failure', reason: 'missing_input', ...askUsername(undefined, 'missing_input') }
      return request(ctx, username)
    },
  }
}
