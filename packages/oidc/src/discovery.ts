/**
 * The discovery document (OpenID Connect Discovery 1.0 3), listing exactly what Careid supports,
 * and the endpoint paths, which are CIS2's (ForgeRock AM's) relative to the issuer (cis2.md 1.2).
 */
import { acrValuesSupported } from './acr.ts'
import { scopesSupported } from './scopes.ts'

export interface Endpoints {
  authorization: string
  token: string
  userinfo: string
  jwks: string
  endSession: string
  revocation: string
  introspection: string
  discovery: string
}

/** The issuer string is used verbatim: an explicit `:443` must survive (cis2.md 1.1). */
export function endpointsOf(issuer: string): Endpoints {
  return {
    authorization: `${issuer}/authorize`,
    token: `${issuer}/access_token`,
    userinfo: `${issuer}/userinfo`,
    jwks: `${issuer}/connect/jwk_uri`,
    endSession: `${issuer}/connect/endSession`,
    revocation: `${issuer}/token/revoke`,
    introspection: `${issuer}/introspect`,
    discovery: `${issuer}/.well-known/openid-configuration`,
  }
}

export const clientAuthMethodsSupported = ['client_secret_post', 'client_secret_basic', 'private_key_jwt', 'none'] as const
export const clientAuthSigningAlgsSupported = ['RS256', 'RS512', 'PS256', 'ES256'] as const

export const claimsSupported = [
  'sub', 'iss', 'aud', 'azp', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'amr', 'sid', 'at_hash', 'c_hash', 's_hash',
  'auditTrackingId', 'tokenName', 'tokenType', 'realm', 'org.forgerock.openidconnect.ops',
  'id_assurance_level', 'authentication_assurance_level', 'selected_roleid',
  'name', 'family_name', 'given_name', 'uid', 'email',
  'nhsid_useruid', 'title', 'idassurancelevel', 'initials', 'middle_names', 'display_name',
  'nhsid_nrbac_roles', 'nhsid_user_orgs', 'nhsid_org_memberships', 'nhsid_org_roles',
  'gmc_id', 'nmc_id', 'gphc_id', 'gdc_id', 'gdp_id', 'rcn_id', 'gmp_id', 'consultant_id',
]

/** The grant types of the provider's token endpoint before any is registered (provider.ts). */
export const builtInGrantTypes: readonly string[] = ['authorization_code', 'refresh_token']

/** `grantTypes`: the token endpoint's registered grant types. */
export function discoveryDocument(issuer: string, idTokenAlg: string, grantTypes: readonly string[] = builtInGrantTypes): Record<string, unknown> {
  const e = endpointsOf(issuer)
  return {
    issuer,
    authorization_endpoint: e.authorization,
    token_endpoint: e.token,
    userinfo_endpoint: e.userinfo,
    jwks_uri: e.jwks,
    end_session_endpoint: e.endSession,
    revocation_endpoint: e.revocation,
    introspection_endpoint: e.introspection,
    scopes_supported: [...scopesSupported],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...grantTypes],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [idTokenAlg],
    token_endpoint_auth_methods_supported: [...clientAuthMethodsSupported],
    token_endpoint_auth_signing_alg_values_supported: [...clientAuthSigningAlgsSupported],
    revocation_endpoint_auth_methods_supported: [...clientAuthMethodsSupported],
    revocation_endpoint_auth_signing_alg_values_supported: [...clientAuthSigningAlgsSupported],
    introspection_endpoint_auth_methods_supported: [...clientAuthMethodsSupported],
    introspection_endpoint_auth_signing_alg_values_supported: [...clientAuthSigningAlgsSupported],
    code_challenge_methods_supported: ['S256'],
    acr_values_supported: [...acrValuesSupported],
    claims_supported: claimsSupported,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    prompt_values_supported: ['none', 'login'],
    ui_locales_supported: ['en-GB'],
    authorization_response_iss_parameter_supported: true,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    frontchannel_logout_supported: false,
  }
}
