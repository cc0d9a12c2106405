/**
 * What an authorization code keeps until it is redeemed: read back as written, read as the
 * previous version wrote it (a code issued before an upgrade is redeemed after it), and refused
 * whole when it is not a payload the codec writes.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Json } from '@careid/ports'
import { decodeCodePayload, encodeCodePayload, type CodePayload } from '../src/code_payload.ts'

/** A code payload as the previous version stored it (undefined values left out by JSON). */
const previousVersionPayload = `{
  "redirect_uri_given":true,"scopes":["openid","selectedrole"],"nonce":"n-1",
  "code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","state":"st-1",
  "facts":{"sub":"555260118104","sid":"sid-1","acr":"AAL3_ANY","amr":["N3_SMARTCARD"],"aal":3,
    "auth_time":1765000000000,"id_assurance_level":"3","selected_roleid":"555260119105"}
}`

const withEverything: CodePayload = {
  redirect_uri_given: true,
  scopes: ['openid', 'selectedrole'],
  nonce: 'n-1',
  code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  state: 'st-1',
  facts: {
    sub: '555260118104',
    sid: 'sid-1',
    acr: 'AAL3_ANY',
    amr: ['N3_SMARTCARD'],
    aal: 3,
    auth_time: 1765000000000,
    id_assurance_level: '3',
    selected_roleid: '555260119105',
  },
}

const withNothingOptional: CodePayload = {
  redirect_uri_given: false,
  scopes: ['openid'],
  nonce: undefined,
  code_challenge: undefined,
  state: undefined,
  facts: { sub: 'uid-1', sid: 'sid-2', acr: 'AAL1_USERPASS', amr: ['USERPASS'], aal: 1, auth_time: 1, id_assurance_level: '3', selected_roleid: undefined },
}

describe('the code payload codec', () => {
  it('reads back every payload it wrote', () => {
    for (const payload of [withEverything, withNothingOptional]) {
      assert.deepEqual(decodeCodePayload(JSON.parse(JSON.stringify(encodeCodePayload(payload))) as Json), payload)
    }
  })

  it('reads a code the previous version stored, and writes the same payload', () => {
    const stored = JSON.parse(previousVersionPayload) as Json
    const decoded = decodeCodePayload(stored)
    assert.deepEqual(decoded, withEverything)
    assert.deepEqual(encodeCodePayload(withEverything), stored)
  })

  it('leaves out what a code does not have, as the previous version did', () => {
    assert.deepEqual(encodeCodePayload(withNothingOptional), {
      redirect_uri_given: false,
      scopes: ['openid'],
      facts: { sub: 'uid-1', sid: 'sid-2', acr: 'AAL1_USERPASS', amr: ['USERPASS'], aal: 1, auth_time: 1, id_assurance_level: '3' },
    })
  })

  it('refuses a payload with any field missing or of the wrong kind', () => {
    const good = JSON.parse(previousVersionPayload) as { [key: string]: Json }
    const facts = good.facts as { [key: string]: Json }
    const broken: Array<{ [key: string]: Json }> = [
      { ...good, redirect_uri_given: 'yes' },
      { ...good, scopes: 'openid' },
      { ...good, nonce: 1 },
      { ...good, code_challenge: ['x'] },
      { ...good, state: {} },
      { ...good, facts: 'facts' },
      { redirect_uri_given: true, scopes: ['openid'] },
      { ...good, facts: { ...facts, sub: null } },
      { ...good, facts: { ...facts, amr: 'N3_SMARTCARD' } },
      { ...good, facts: { ...facts, aal: 4 } },
      { ...good, facts: { ...facts, aal: '3' } },
      { ...good, facts: { ...facts, auth_time: '1765000000000' } },
      { ...good, facts: { ...facts, selected_roleid: 555260119105 } },
    ]
    for (const payload of broken) assert.equal(decodeCodePayload(payload), undefined, JSON.stringify(payload))
    for (const notAnObject of [null, 'payload', 1, [good]]) assert.equal(decodeCodePayload(notAnObject), undefined)
  })
})
