/**
 * The authorization request as stored JSON. One codec for every place a request waits in the
 * store: a sign-in journey's state while the person signs in (`journey_state.ts`), the part a code
 * keeps until it is redeemed (`code_payload.ts`), and the request a pushed authorization request
 * (PAR, RFC 9126) will keep behind its `request_uri`. All read back what was written, checked: a
 * stored request that does not decode is refused, never half-read.
 *
 * The client is kept by id and looked up again when the request is read back, so what the request
 * answers to is the client as registered now (a client removed meanwhile ends the journey).
 */
import type { ClientRecord, Json } from '@careid/ports'
import { acrValuesSupported } from './acr.ts'
import type { AuthorizationRequest, Prompt } from './authorization_request.ts'
import { decoded, JsonFields } from './json_fields.ts'

/** A request as stored: the client by id. */
export type StoredAuthorizationRequest = Omit<AuthorizationRequest, 'client'> & { client_id: string }

const prompts: readonly Prompt[] = ['none', 'login']

/** The request as stored: the client by its id. */
export function storedRequest(r: AuthorizationRequest): StoredAuthorizationRequest {
  const { client, ...request } = r
  return { ...request, client_id: client.client_id }
}

/** The request as JSON. Absent optional values are written as null. */
export function encodeAuthorizationRequest(r: StoredAuthorizationRequest): { [key: string]: Json } {
  return {
    client_id: r.client_id,
    redirect_uri: r.redirect_uri,
    redirect_uri_given: r.redirect_uri_given,
    state: r.state ?? null,
    scopes: r.scopes,
    nonce: r.nonce ?? null,
    code_challenge: r.code_challenge ?? null,
    prompt: [...r.prompt],
    max_age: r.max_age ?? null,
    acr_values: r.acr_values,
    login_hint: r.login_hint ?? null,
    id_token_hint_sub: r.id_token_hint_sub ?? null,
    ui_locales: r.ui_locales,
  }
}

/** The stored request, or undefined if `json` is not one `encodeAuthorizationRequest` wrote. */
export function decodeAuthorizationRequest(json: Json | undefined): StoredAuthorizationRequest | undefined {
  return decoded(() => readAuthorizationRequest(JsonFields.of(json)))
}

/** The stored request's fields; throws `NotDecodable` (for codecs that hold a request). */
export function readAuthorizationRequest(f: JsonFields): StoredAuthorizationRequest {
  return {
    client_id: f.string('client_id'),
    redirect_uri: f.string('redirect_uri'),
    redirect_uri_given: f.boolean('redirect_uri_given'),
    state: f.optionalString('state'),
    scopes: f.strings('scopes'),
    nonce: f.optionalString('nonce'),
    code_challenge: f.optionalString('code_challenge'),
    prompt: new Set(f.listOf('prompt', prompts)),
    max_age: f.optionalNumber('max_age'),
    acr_values: f.listOf('acr_values', acrValuesSupported),
    login_hint: f.optionalString('login_hint'),
    id_token_hint_sub: f.optionalString('id_token_hint_sub'),
    ui_locales: f.strings('ui_locales'),
  }
}

/** The request again, answering to `client` (the stored client id's record, looked up now). */
export function withClient(stored: StoredAuthorizationRequest, client: ClientRecord): AuthorizationRequest {
  const { client_id: _clientId, ...request } = stored
  return { ...request, client }
}
