// parsePerson: the check on people read back from the store.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { demoWorkforce, parsePerson } from '../src/index.ts'

// `any`: the tests reshape records freely to build bad ones.
type Json = { [key: string]: any }

function sample(username = 'ra.whitfield'): Json {
  const p = demoWorkforce.find((x) => x.username === username)
  assert.ok(p)
  return JSON.parse(JSON.stringify(p)) as Json
}

function rejects(mutate: (p: Json) => unknown, path: string, message?: RegExp): void {
  const p = sample()
  mutate(p)
  assert.throws(
    () => parsePerson(p),
    (e: unknown) => {
      assert.ok(e instanceof TypeError, `a TypeError, not ${String(e)}`)
      assert.ok(e.message.startsWith(`${path}: `), `"${e.message}" starts with ${path}`)
      if (message) assert.match(e.message, message)
      return true
    },
  )
}

describe('parsePerson', () => {
  it('returns a fresh equal person for a good record', () => {
    const json = sample()
    const parsed = parsePerson(json)
    assert.deepEqual(parsed, json)
    assert.notEqual(parsed, json)
    assert.notEqual(parsed.positions, json.positions)
  })

  it('accepts a person with no middle names, no memberships and no roles', () => {
    const parsed = parsePerson(sample('agency.clark'))
    assert.ok(!('middle_names' in parsed))
    assert.deepEqual(parsed.positions, [])
  })

  it('treats an undefined optional field as absent', () => {
    const json = { ...sample(), middle_names: undefined }
    assert.ok(!('middle_names' in parsePerson(json)))
  })

  it('rejects what is not an object', () => {
    for (const bad of [null, undefined, 'person', 42, [], true]) {
      assert.throws(() => parsePerson(bad), { name: 'TypeError', message: 'person: expected an object' })
    }
  })

  it('rejects missing and unexpected properties', () => {
    rejects((p) => delete p.uid, 'person.uid', /missing/)
    rejects((p) => delete p.positions, 'person.positions', /missing/)
    rejects((p) => (p.password = 'x'), 'person.password', /unexpected property/)
    rejects((p) => (p.positions[1].extra = 1), 'person.positions[1].extra', /unexpected property/)
    rejects((p) => (p.registrations.hcpc_id = 'PH1'), 'person.registrations.hcpc_id', /unexpected/)
  })

  it('rejects wrong types', () => {
    rejects((p) => (p.uid = 555301742109), 'person.uid', /expected a string/)
    rejects((p) => (p.id_assurance_level = '3'), 'person.id_assurance_level')
    rejects((p) => (p.id_assurance_level = 4), 'person.id_assurance_level')
    rejects((p) => (p.middle_names = null), 'person.middle_names')
    rejects((p) => (p.org_memberships = {}), 'person.org_memberships', /expected an array/)
    rejects((p) => (p.positions[0].activity_codes = 'B1300'), 'person.positions[0].activity_codes', /expected an array/)
    rejects((p) => (p.positions[0].workgroups[0] = 'CAR-384'), 'person.positions[0].workgroups[0]', /expected an object/)
    rejects((p) => (p.org_memberships[1].codes = null), 'person.org_memberships[1].codes', /expected an object/)
    rejects((p) => (p.org_memberships[1].codes.gnc = 4471), 'person.org_memberships[1].codes.gnc', /expected a string/)
    rejects((p) => (p.registrations = []), 'person.registrations', /expected an object/)
    rejects((p) => (p.registrations.gmc_id = null), 'person.registrations.gmc_id')
  })

  it('rejects badly formed ids and codes', () => {
    rejects((p) => (p.uid = '55530174210'), 'person.uid')
    rejects((p) => (p.username = 'ra whitfield'), 'person.username')
    rejects((p) => (p.email = 'not-an-email'), 'person.email')
    rejects((p) => (p.given_name = ' '), 'person.given_name')
    rejects((p) => (p.org_memberships[0].person_orgid = 'x55301743106'), 'person.org_memberships[0].person_orgid')
    rejects((p) => (p.org_memberships[0].org_code = 'x09'), 'person.org_memberships[0].org_code')
    rejects((p) => (p.positions[2].person_roleid = '1'), 'person.positions[2].person_roleid')
    rejects((p) => (p.positions[0].job_role_code = 'S0080:G0450:R5080'), 'person.positions[0].job_role_code')
    rejects((p) => (p.positions[0].activity_codes[1] = 'b1310'), 'person.positions[0].activity_codes[1]')
    rejects((p) => (p.positions[0].workgroups[0].code = 'CAR-384'), 'person.positions[0].workgroups[0].code')
    rejects((p) => (p.positions[0].areas_of_work = [{ code: 'P0020', name: 'Phlebotomy' }]), 'person.positions[0].areas_of_work[0].code')
    rejects(
      (p) => (p.positions[0].areas_of_work = [{ code: 'P0020:Q0300:T0640', name: 'Phlebotomy' }]),
      'person.positions[0].areas_of_work[0].name',
    )
  })

  it('rejects org-scoped codes that would overwrite a membership claim key', () => {
    rejects((p) => (p.org_memberships[1].codes.org_code = 'RJ1'), 'person.org_memberships[1].codes.org_code', /not an allowed code name/)
    rejects((p) => (p.org_memberships[1].codes['Bad Key'] = 'x'), 'person.org_memberships[1].codes.Bad Key')
  })

  it('rejects ids used twice and roles outside the person’s memberships', () => {
    rejects((p) => (p.positions[1].person_roleid = p.positions[0].person_roleid), 'person.positions[1]', /duplicate person_roleid/)
    rejects(
      (p) => (p.org_memberships[2].person_orgid = p.org_memberships[0].person_orgid),
      'person.org_memberships[2]',
      /duplicate person_orgid/,
    )
    rejects((p) => (p.positions[0].person_orgid = '999999999999'), 'person.positions[0].person_orgid', /no membership/)
    rejects((p) => (p.positions[0].org_code = 'RJ1'), 'person.positions[0].org_code', /is at X09, not RJ1/)
  })
})
