/**
 * An enrolment ceremony as kept in the short-lived store between the browser's requests: who it
 * registers for, under which grant, bound to which browser (and, from a session, to which
 * session), and the enroller's own state and current page. Read back field by field: a record
 * that does not decode is no ceremony to go on with.
 */
import type { Aal, EnrolmentGrant, Json, StepPage, StepView } from '@careid/ports'
import { decoded, isJsonObject, JsonFields, NotDecodable } from '../json_fields.ts'
import { encodeStepView } from '../journey_state.ts'

/** Ceremony records' ids start with this, so no other short-lived record is ever read as one. */
export const ceremonyPrefix = 'enrol-'
/** Registering a credential takes a minute or two; ten is generous. */
export const ceremonyTtlMs = 10 * 60 * 1000

export interface CeremonyState {
  /** SHA-256 of the secret in the cookie of the browser that started it. */
  browser: string
  /** The anti-forgery token every post must carry. */
  csrf: string
  grant: EnrolmentGrant
  /** From a session: its public id; the ceremony stops when that session is gone. */
  sid?: string | undefined
  /** The enroller's method. */
  method: string
  enroller_state: Json
  view: StepView
}

const vias: readonly EnrolmentGrant['via'][] = ['session', 'code']
const levels: readonly Aal[] = [1, 2, 3]

export function encodeCeremony(state: CeremonyState): { [key: string]: Json } {
  return {
    browser: state.browser,
    csrf: state.csrf,
    uid: state.grant.uid,
    via: state.grant.via,
    max_aal: state.grant.maxAal,
    grant_method: state.grant.method ?? null,
    sid: state.sid ?? null,
    method: state.method,
    enroller_state: state.enroller_state,
    view: encodeStepView(state.view),
  }
}

/** The ceremony, or undefined if `payload` is not one `encodeCeremony` wrote with a view of one of `pages`. */
export function decodeCeremony(payload: Json, pages: ReadonlyMap<string, StepPage>): CeremonyState | undefined {
  return decoded(() => {
    const f = JsonFields.of(payload)
    const view = f.json('view')
    const page = isJsonObject(view) && typeof view.page === 'string' ? pages.get(view.page) : undefined
    const decodedView = page !== undefined && isJsonObject(view) ? page.decode(view) : undefined
    if (decodedView === undefined) throw new NotDecodable('$.view')
    return {
      browser: f.string('browser'),
      csrf: f.string('csrf'),
      grant: { uid: f.string('uid'), via: f.oneOf('via', vias), maxAal: f.oneOf('max_aal', levels), method: f.optionalString('grant_method') },
      sid: f.optionalString('sid'),
      method: f.string('method'),
      enroller_state: f.json('enroller_state') ?? null,
      view: decodedView,
    }
  })
}
