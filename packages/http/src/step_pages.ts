/**
 * The page of an authenticator's step, whoever drives it: the sign-in journey (an `Authenticator`)
 * or the account area (an `Enroller` registering a credential). One case per page authenticators
 * declare (`StepPages`), and no default, so a page declared and not rendered here fails to compile
 * rather than falling back to another page.
 */
import type { AuthenticationMethod, StepView } from '@careid/ports'
import type { PageModel } from './pages.ts'

/** What the page around a step shows, from whoever drives it. */
export interface StepFrame {
  /** Where the step's form posts, and its anti-forgery token. */
  form: { action: string; csrf: string }
  /** The application signed in to (the account area: the service's own name). */
  client_name: string
  /** The method the step belongs to. */
  method: Pick<AuthenticationMethod, 'id' | 'label'>
  /** Link back to the choice of method, when there was a choice. */
  back?: string | undefined
  /** Link to the choice of method, offered as another way when the step began without one (the method last used). */
  anotherWay?: string | undefined
  /** The other methods the request accepts (a smartcard page offers them when the card fails). */
  alternatives: readonly Pick<AuthenticationMethod, 'label'>[]
  /** The step's own page again (a fresh try). */
  retry: string
}

export function stepPageOf(step: StepView, frame: StepFrame): PageModel {
  const common = { form: frame.form, client_name: frame.client_name, back: frame.back, another_way: frame.anotherWay }
  switch (step.page) {
    case 'password':
      return { page: 'password', ...common, method_label: frame.method.label, username: step.values?.username, error: step.error, locked_minutes: step.data?.locked_minutes }
    case 'totp':
      return { page: 'totp', ...common, error: step.error, locked_minutes: step.data?.locked_minutes }
    case 'smartcard':
      return {
        page: 'smartcard',
        ...common,
        challenge: step.data?.challenge ?? '',
        agent_origin: step.data?.agent_origin ?? '',
        alternatives: frame.alternatives.map((m) => m.label),
        retry: frame.retry,
        error: step.error,
      }
    case 'mobile_username':
      return { page: 'mobile_username', ...common, method_label: frame.method.label, username: step.values?.username, error: step.error }
    case 'mobile_wait': {
      const expires = step.data?.expires_at ?? 0
      return {
        page: 'mobile_wait',
        ...common,
        number: step.data?.number ?? '',
        request: step.data?.request ?? '',
        status_url: step.data?.status_url ?? '',
        expires_at: expires,
        expires_time: new Date(expires).toISOString().slice(11, 16),
        error: step.error,
      }
    }
    case 'webauthn':
      return {
        page: 'webauthn',
        ...common,
        kind: step.data?.kind ?? 'passkey',
        method_label: frame.method.label,
        options: step.data?.options ?? '',
        alternatives: frame.alternatives.map((m) => m.label),
        retry: frame.retry,
        error: step.error,
      }
    case 'webauthn_register':
      return {
        page: 'webauthn_register',
        ...common,
        kind: step.data?.kind ?? 'passkey',
        method_label: frame.method.label,
        options: step.data?.options ?? '',
        max_aal: step.data?.max_aal ?? 1,
        retry: frame.retry,
        error: step.error,
      }
    case 'totp_enrol':
      return {
        page: 'totp_enrol',
        form: frame.form,
        back: frame.back,
        secret: step.data?.secret ?? '',
        otpauth_url: step.data?.otpauth_url ?? '',
        qr: step.data?.qr ?? '',
        error: step.error,
      }
    default:
      return unrendered(step)
  }
}

/** Reached only if a declared step page has no case above, which the type `never` rules out. */
function unrendered(step: never): never {
  throw new TypeError(`no page renders the step page ${JSON.stringify(step)}`)
}
