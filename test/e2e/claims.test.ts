/**
 * The CIS2 claims of every demo person, from a real sign-in and token exchange: the ID token
 * against cis2.md 3.4 and 3.7 (every claim, its type, the ForgeRock extras, the hashes computed
 * here), the access token's shape (1.5), and userinfo against the domain's claim builder plus shape
 * rules that hold whatever that builder does (3.2, 3.3, 3.8).
 *
 * The issuer carries an explicit `:443`, as CIS2's do (cis2.md 1.1): `iss` must keep it verbatim.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { createDirectory, demoCredentials, demoWorkforce, userinfoClaims } from '@careid/domain'
import { Browser, radioValues } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { signIn } from '../support/journey.ts'
import { addRp, authorizeUrl, fetchJwks, halfHash, redeem, userinfo, verifyJwt, type TestRp } from '../support/rp.ts'

const issuer = 'https://careid.example.test:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'
const scopes = ['openid', 'profile', 'email', 'nhsperson', 'associatedorgs', 'nationalrbacaccess', 'professionalmemberships', 'organisationalmemberships', 'selectedrole']
const twelveDigits = /^[0-9]{12}$/

/** The ID token claims of cis2.md 3.4/3.7 for a sign-in with a nonce; selected_roleid is added when a role was chosen. */
const idTokenClaimNames = [
  'at_hash', 'sub', 'auditTrackingId', 'amr', 'iss', 'tokenName', 'nonce', 'aud', 'c_hash', 'acr',
  'org.forgerock.openidconnect.ops', 's_hash', 'azp', 'auth_time', 'realm', 'exp', 'tokenType', 'iat', 'sid',
  'id_assurance_level', 'authentication_assurance_level',
]

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string')
}

function nonEmptyString(value: unknown, what: string): void {
  assert.equal(typeof value, 'string', `${what} is a string`)
  assert.notEqual(value, '', `${what} is not empty`)
}

/** Name and code arrays run in parallel; both present or both absent. */
function parallel(element: Record<string, unknown>, names: string, codes: string, what: string): void {
  assert.equal(names in element, codes in element, `${what}: ${names} and ${codes} come together`)
  if (!(names in element)) return
  assert.ok(isStringArray(element[names]) && isStringArray(element[codes]), `${what}: ${names}/${codes} are string arrays`)
  assert.equal((element[names] as string[]).length, (element[codes] as string[]).length, `${what}: ${names}/${codes} run in parallel`)
  assert.ok((element[names] as string[]).length > 0, `${what}: ${names} is left out rather than empty`)
}

describe('the CIS2 claims of every demo person', () => {
  let careid: TestCareid
  let rp: TestRp
  let kids: string[]

  before(async () => {
    careid = await startTestCareid({ issuer: () => issuer })
    rp = await addRp(careid)
    kids = (await fetchJwks(careid)).keys.map((k) => k.kid as string)
  })
  after(async () => {
    await careid.close()
  })

  for (const person of demoWorkforce) {
    it(`${person.username} (${person.positions.length} roles)`, async () => {
      const state = randomBytes(12).toString('base64url')
      const nonce = randomBytes(12).toString('base64url')
      const url = authorizeUrl(rp, { scope: scopes.join(' '), acr_values: 'AAL1_USERPASS', state, nonce })
      const { location, pages } = await signIn(new Browser(careid.origin), url, { username: person.username, password: demoCredentials[person.uid]?.password as string })
      const picker = pages.find((p) => p.html.includes('name="role"'))
      assert.equal(picker !== undefined, person.positions.length > 1, 'a picker exactly when there is a choice')
      // signIn chooses the first role offered; with one role there is nothing to offer.
      const expectedRole = picker === undefined ? person.positions[0]?.person_roleid : radioValues(picker, 'role')[0]
      const tokens = await redeem(rp, location)

      // --- the token response and the access token (cis2.md 1.5, 1.7)
      assert.equal(tokens.body.token_type, 'Bearer')
      assert.equal(tokens.body.expires_in, 3599)
      assert.equal(tokens.body.scope, scopes.join(' '))
      const access = await verifyJwt(careid, tokens.access_token)
      assert.equal(access.header.alg, 'RS256')
      assert.ok(kids.includes(access.header.kid as string), 'access token kid is in the JWKS')
      assert.equal(access.payload.iss, issuer)
      assert.equal('aud' in access.payload, false, 'CIS2 access tokens carry no aud')
      assert.equal(access.payload.tokenName, 'access_token')
      assert.equal(access.payload.expires_in, 3599)
      assert.equal((access.payload.exp as number) - (access.payload.iat as number), 3599)
      assert.deepEqual(access.payload.scope, scopes)
      assert.equal(access.payload.sub, person.uid)
      assert.equal(access.payload.client_id, rp.client_id)

      // --- the ID token (cis2.md 3.4, 3.7)
      const id = tokens.id
      assert.equal(tokens.idHeader.typ, 'JWT')
      assert.equal(tokens.idHeader.alg, 'RS256')
      assert.ok(kids.includes(tokens.idHeader.kid as string), 'ID token kid is in the JWKS')
      const expectedNames = person.positions.length > 0 ? [...idTokenClaimNames, 'selected_roleid'] : idTokenClaimNames
      assert.deepEqual(Object.keys(id).sort(), [...expectedNames].sort(), 'exactly the CIS2 ID token claims (person claims come from userinfo)')
      assert.equal(id.iss, issuer, 'iss verbatim, :443 included')
      assert.equal(id.aud, rp.client_id)
      assert.equal(id.azp, rp.client_id)
      assert.equal(id.sub, person.uid)
      assert.match(id.sub as string, twelveDigits)
      for (const name of ['auth_time', 'iat', 'exp'] as const) assert.ok(Number.isInteger(id[name]), `${name} is whole seconds`)
      assert.ok((id.auth_time as number) <= (id.iat as number))
      assert.ok((id.exp as number) > (id.iat as number))
      assert.equal(id.acr, 'AAL1_USERPASS')
      assert.deepEqual(id.amr, ['USERPASS'])
      assert.equal(id.at_hash, halfHash(tokens.access_token))
      assert.equal(id.c_hash, halfHash(tokens.code))
      assert.equal(id.s_hash, halfHash(state))
      nonEmptyString(id.auditTrackingId, 'auditTrackingId')
      assert.equal(id.tokenName, 'id_token')
      assert.equal(id.tokenType, 'JWTToken')
      assert.equal(id.realm, '/NHSIdentity/Healthcare')
      nonEmptyString(id['org.forgerock.openidconnect.ops'], 'org.forgerock.openidconnect.ops')
      nonEmptyString(id.sid, 'sid')
      assert.equal(id.id_assurance_level, String(person.id_assurance_level), 'a string')
      assert.equal(id.authentication_assurance_level, '1', 'a string')
      assert.equal(id.nonce, nonce)
      if (person.positions.length > 0) {
        assert.equal(id.selected_roleid, expectedRole)
        assert.ok(person.positions.some((p) => p.person_roleid === id.selected_roleid))
      } else {
        assert.equal('selected_roleid' in id, false)
      }

      // --- userinfo, against the domain's builder
      const info = await userinfo(careid, tokens.access_token)
      assert.deepStrictEqual(info, userinfoClaims(person, new Set(scopes), createDirectory(), id.selected_roleid as string | undefined))

      // --- userinfo, shape rules RPs rely on (independent of the builder)
      assert.equal(info.sub, id.sub, 'userinfo sub equals the ID token sub')
      assert.equal(info.uid, person.uid)
      assert.equal(info.nhsid_useruid, person.uid, 'always there with nhsperson')
      assert.equal(info.name, `${person.given_name} ${person.family_name}`)
      for (const name of ['given_name', 'family_name', 'display_name', 'title', 'initials', 'email'] as const) nonEmptyString(info[name], name)
      assert.equal(info.idassurancelevel, String(person.id_assurance_level))
      assert.match(info.idassurancelevel as string, /^[0-3]$/)
      assert.equal(info.middle_names, person.middle_names)
      for (const [key, value] of Object.entries(person.registrations)) assert.equal(info[key], value, `registration ${key}`)
      for (const key of ['gmc_id', 'nmc_id', 'gphc_id', 'gdc_id', 'gdp_id', 'rcn_id', 'gmp_id', 'consultant_id']) {
        if (key in info) assert.equal(typeof info[key], 'string', key)
      }

      const userOrgs = info.nhsid_user_orgs as Array<Record<string, unknown>>
      const memberships = info.nhsid_org_memberships as Array<Record<string, unknown>>
      const orgRoles = info.nhsid_org_roles as Array<Record<string, unknown>>
      const roles = info.nhsid_nrbac_roles as Array<Record<string, unknown>>
      for (const [name, list] of Object.entries({ nhsid_user_orgs: userOrgs, nhsid_org_memberships: memberships, nhsid_org_roles: orgRoles, nhsid_nrbac_roles: roles })) {
        assert.ok(Array.isArray(list), `${name} is always an array`)
      }
      assert.equal(memberships.length, person.org_memberships.length)
      assert.equal(roles.length, person.positions.length)
      assert.deepEqual(userOrgs.map((o) => o.org_code).sort(), [...new Set(person.org_memberships.map((m) => m.org_code))].sort())
      for (const org of userOrgs) {
        assert.deepEqual(Object.keys(org).sort(), ['org_code', 'org_name'])
        nonEmptyString(org.org_name, 'org_name')
      }
      const membershipIds = new Set<string>()
      for (const m of memberships) {
        assert.match(m.person_orgid as string, twelveDigits)
        nonEmptyString(m.org_code, 'org_code')
        nonEmptyString(m.org_name, 'org_name')
        for (const value of Object.values(m)) assert.equal(typeof value, 'string', 'membership values are strings')
        membershipIds.add(m.person_orgid as string)
      }
      for (const r of orgRoles) {
        assert.deepEqual(Object.keys(r).sort(), ['org_code', 'org_name', 'person_orgid'])
        assert.ok(membershipIds.has(r.person_orgid as string), 'an org role is one of the memberships')
      }
      for (const role of roles) {
        const what = `role ${String(role.person_roleid)}`
        assert.match(role.person_roleid as string, twelveDigits, what)
        assert.match(role.person_orgid as string, twelveDigits, what)
        assert.ok(membershipIds.has(role.person_orgid as string), `${what} is at one of the memberships`)
        nonEmptyString(role.org_code, `${what} org_code`)
        assert.match(role.role_code as string, /^S[0-9]{4}:G[0-9]{4}:R[0-9]{4}$/, what)
        assert.match(role.role_name as string, /^"[^"]+":"[^"]+":"[^"]+"$/, what)
        parallel(role, 'activities', 'activity_codes', what)
        for (const code of role.activity_codes as string[]) assert.match(code, /^B[0-9]{4}$/, what)
        parallel(role, 'workgroups', 'workgroups_codes', what)
        for (const code of (role.workgroups_codes ?? []) as string[]) assert.match(code, twelveDigits, what)
        parallel(role, 'aow', 'aow_codes', what)
      }
      assert.deepEqual(new Set(roles.map((r) => r.person_roleid)), new Set(person.positions.map((p) => p.person_roleid)))
      if (person.positions.length > 0) assert.equal(info.selected_roleid, id.selected_roleid)
      else assert.equal('selected_roleid' in info, false)
    })
  }
})
