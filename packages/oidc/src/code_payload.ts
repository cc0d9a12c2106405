/**
 * What an authorization code keeps until it is redeemed, beside the columns the code store has
 * (client, redirect URI, grant id): the parts of the authorization request the token request is
 * checked against or echoes (typed as the stored request of `request_codec.ts`), and the facts of
 * the sign-in its tokens state. A payload that does not decode is a code that cannot be redeemed.
 */
import type { Json } from '@careid/ports'
import { decoded, JsonFields } from './json_fields.ts'
import type { StoredAuthorizationRequest } from './request_codec.ts'
import type { AuthenticationFacts } from './tokens.ts'

export interface CodePayload extends Pick<StoredAuthorizationRequest, 'redirect_uri_given' | 'scopes' | 'nonce' | 'code_challenge' | 'state'> {
  facts: AuthenticationFacts
}

const aals = [1, 2, 3] as const

/** The payload as JSON; absent optional values are left out. */
export function encodeCodePayload(p: CodePayload): { [key: string]: Json } {
  const { facts } = p
  const storedFacts: { [key: string]: Json } = {
    sub: facts.sub,
    sid: facts.sid,
    acr: facts.acr,
    amr: facts.amr,
    aal: facts.aal,
    auth_time: facts.auth_time,
    id_assurance_level: facts.id_assurance_level,
  }
  if (facts.selected_roleid !== undefined) storedFacts.selected_roleid = facts.selected_roleid
  const json: { [key: string]: Json } = { redirect_uri_given: p.redirect_uri_given, scopes: p.scopes }
  if (p.nonce !== undefined) json.nonce = p.nonce
  if (p.code_challenge !== undefined) json.code_challenge = p.code_challenge
  if (p.state !== undefined) json.state = p.state
  json.facts = storedFacts
  return json
}

/** The payload, or undefined if `json` is not one `encodeCodePayload` wrote. */
export function decodeCodePayload(json: Json): CodePayload | undefined {
  return decoded(() => {
    const f = JsonFields.of(json)
    const facts = f.object('facts')
    return {
      redirect_uri_given: f.boolean('redirect_uri_given'),
      scopes: f.strings('scopes'),
      nonce: f.optionalString('nonce'),
      code_challenge: f.optionalString('code_challenge'),
      state: f.optionalString('state'),
      facts: {
        sub: facts.string('sub'),
        sid: facts.string('sid'),
        acr: facts.string('acr'),
        amr: facts.strings('amr'),
        aal: facts.oneOf('aal', aals),
        auth_time: facts.number('auth_time'),
        id_assurance_level: facts.string('id_assurance_level'),
        selected_roleid: facts.optionalString('selected_roleid'),
      },
    }
  })
}
