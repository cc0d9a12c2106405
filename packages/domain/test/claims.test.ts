// Userinfo and ID token claims for every demo person, checked against cis2.md section 3.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Directory } from '@careid/ports'
import type { Person } from '../src/index.ts'
import {
  createDirectory,
  demoWorkforce,
  findPosition,
  idTokenPersonClaims,
  registrationKeys,
  roleOptions,
  userinfoClaims,
} from '../src/index.ts'

const directory = createDirectory()

const scopeNames = [
  'profile',
  'email',
  'nhsperson',
  'nationalrbacaccess',
  'associatedorgs',
  'professionalmemberships',
  'organisationalmemberships',
  'selectedrole',
] as const
type Scope = (typeof scopeNames)[number]

const allScopes: ReadonlySet<string> = new Set(['openid', ...scopeNames])

function person(username: string): Person {
  const found = demoWorkforce.find((p) => p.username === username)
  assert.ok(found, `no demo person ${username}`)
  return found
}

/** The claims (besides `sub`) each scope releases for this person, per cis2.md 3.2. */
function expectedKeys(p: Person, scope: Scope): string[] {
  switch (scope) {
    case 'profile':
      return ['uid', 'name', 'given_name', 'family_name']
    case 'email':
      return ['email']
    case 'nhsperson':
      return ['nhsid_useruid', 'title', 'idassurancelevel', 'initials', 'display_name', ...(p.middle_names ? ['middle_names'] : [])]
    case 'nationalrbacaccess':
      return ['nhsid_nrbac_roles']
    case 'associatedorgs':
      return ['nhsid_user_orgs']
    case 'professionalmemberships':
      return registrationKeys.filter((k) => p.registrations[k] !== undefined)
    case 'organisationalmemberships':
      return ['nhsid_org_memberships', 'nhsid_org_roles']
    case 'selectedrole':
      return p.positions.length > 0 ? ['selected_roleid'] : []
  }
}

function selectedFor(p: Person): string | undefined {
  return p.positions[0]?.person_roleid
}

function sortedKeys(o: object): string[] {
  return Object.keys(o).sort()
}

/** Every leaf of a claims value is a string: no numbers, booleans or nulls reach the wire. */
function assertAllStrings(value: unknown, path: string): void {
  if (typeof value === 'string') return
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertAllStrings(v, `${path}[${i}]`))
    return
  }
  assert.ok(typeof value === 'object' && value !== null, `${path} is ${JSON.stringify(value)}, not a string`)
  for (const [k, v] of Object.entries(value)) assertAllStrings(v, `${path}.${k}`)
}

const twelveDigits = /^\d{12}$/
const roleCodePattern = /^S\d{4}:G\d{4}:R\d{4}$/
const roleNamePattern = /^"([^"]+)":"([^"]+)":"([^"]+)"$/

function assertNrbacRole(role: Record<string, unknown>, p: Person, dir: Directory): void {
  const required = ['person_orgid', 'person_roleid', 'org_code', 'role_name', 'role_code']
  const optional = ['activities', 'activity_codes', 'workgroups', 'workgroups_codes', 'aow', 'aow_codes']
  for (const k of required) assert.equal(typeof role[k], 'string', `${k} is a string`)
  for (const k of Object.keys(role)) assert.ok(required.includes(k) || optional.includes(k), `unexpected key ${k}`)
  for (const [names, codes] of [
    ['activities', 'activity_codes'],
    ['workgroups', 'workgroups_codes'],
    ['aow', 'aow_codes'],
  ] as const) {
    assert.equal(names in role, codes in role, `${names} and ${codes} come together`)
    if (names in role) {
      assert.ok(Array.isArray(role[names]) && Array.isArray(role[codes]))
      assert.equal((role[names] as unknown[]).length, (role[codes] as unknown[]).length, `${names} parallel to ${codes}`)
    }
  }
  // The brief's contract: activities are always present; workgroups and aow only when non-empty.
  assert.ok('activities' in role)
  if ('workgroups' in role) assert.ok((role.workgroups as unknown[]).length > 0)
  if ('aow' in role) assert.ok((role.aow as unknown[]).length > 0)

  assert.match(role.person_roleid as string, twelveDigits)
  assert.match(role.person_orgid as string, twelveDigits)
  assert.match(role.role_code as string, roleCodePattern)
  const nameParts = roleNamePattern.exec(role.role_name as string)
  assert.ok(nameParts, `role_name ${String(role.role_name)} is a quoted triple`)
  const [s, g, r] = (role.role_code as string).split(':') as [string, string, string]
  const job = dir.jobRole(r)
  assert.ok(job, `job role ${r} in the directory`)
  assert.deepEqual([job.sector.code, job.group.code], [s, g])
  assert.deepEqual(nameParts.slice(1), [job.sector.name, job.group.name, job.name])

  const position = findPosition(p, role.person_roleid as string)
  assert.ok(position, 'the role is one the person holds')
  assert.equal(role.person_orgid, position.person_orgid)
  assert.equal(role.org_code, position.org_code)
  assert.equal(r, position.job_role_code)
  // The position's own activities, not the expanded closure.
  assert.deepEqual(role.activity_codes, position.activity_codes)
  assert.deepEqual(
    role.activities,
    position.activity_codes.map((c) => dir.activity(c)?.name),
  )
  assert.deepEqual(role.workgroups_codes ?? [], position.workgroups.map((w) => w.code))
  assert.deepEqual(role.aow_codes ?? [], position.areas_of_work.map((a) => a.code))
  for (const code of (role.aow_codes ?? []) as string[]) assert.match(code, /^P\d{4}:Q\d{4}:T\d{4}$/)
  for (const code of (role.workgroups_codes ?? []) as string[]) assert.match(code, twelveDigits)
}

describe('userinfoClaims for every demo person', () => {
  for (const p of demoWorkforce) {
    describe(p.username, () => {
      const all = userinfoClaims(p, allScopes, directory, selectedFor(p))

      it('releases exactly each scope’s claims, and nothing without a scope', () => {
        assert.deepEqual(userinfoClaims(p, new Set(['openid']), directory, selectedFor(p)), { sub: p.uid })
        for (const scope of scopeNames) {
          const claims = userinfoClaims(p, new Set(['openid', scope]), directory, selectedFor(p))
          assert.deepEqual(sortedKeys(claims), ['sub', ...expectedKeys(p, scope)].sort(), scope)
        }
      })

      it('with all scopes releases the union of the scopes’ claims', () => {
        const union = new Set(['sub', ...scopeNames.flatMap((s) => expectedKeys(p, s))])
        assert.deepEqual(sortedKeys(all), [...union].sort())
      })

      it('leaks no claim into a request that did not ask for its scope', () => {
        for (const scope of scopeNames) {
          const others = new Set([...allScopes].filter((s) => s !== scope))
          const claims = userinfoClaims(p, others, directory, selectedFor(p))
          for (const key of expectedKeys(p, scope)) assert.ok(!(key in claims), `${key} without ${scope}`)
        }
      })

      it('identifies the person with 12-digit string ids', () => {
        assert.match(p.uid, twelveDigits)
        assert.equal(all.sub, p.uid)
        assert.equal(all.uid, p.uid)
        assert.equal(all.nhsid_useruid, p.uid)
        assert.equal(all.idassurancelevel, String(p.id_assurance_level))
        assert.match(all.idassurancelevel as string, /^[0-3]$/)
        assert.equal(all.name, `${p.given_name} ${p.family_name}`)
      })

      it('has only strings at the leaves, and list claims as arrays', () => {
        assertAllStrings(all, 'userinfo')
        for (const key of ['nhsid_nrbac_roles', 'nhsid_user_orgs', 'nhsid_org_memberships', 'nhsid_org_roles']) {
          assert.ok(Array.isArray(all[key]), `${key} is an array`)
        }
      })

      it('shapes every nhsid_nrbac_roles element as in cis2.md 3.3', () => {
        const roles = all.nhsid_nrbac_roles as Record<string, unknown>[]
        assert.equal(roles.length, p.positions.length)
        for (const role of roles) assertNrbacRole(role, p, directory)
      })

      it('lists organisations and memberships consistently', () => {
        const userOrgs = all.nhsid_user_orgs as { org_code: string; org_name: string }[]
        const memberships = all.nhsid_org_memberships as Record<string, string>[]
        const orgRoles = all.nhsid_org_roles as Record<string, string>[]
        assert.deepEqual(userOrgs.map((o) => o.org_code), [...new Set(p.org_memberships.map((m) => m.org_code))])
        for (const o of [...userOrgs, ...memberships, ...orgRoles]) {
          assert.equal(o.org_name, directory.organisation(o.org_code as string)?.org_name)
        }
        for (const o of userOrgs) assert.deepEqual(sortedKeys(o), ['org_code', 'org_name'])
        assert.deepEqual(memberships.map((m) => m.person_orgid), p.org_memberships.map((m) => m.person_orgid))
        for (const [i, m] of memberships.entries()) {
          assert.match(m.person_orgid as string, twelveDigits)
          const codes = Object.keys(p.org_memberships[i]?.codes ?? {})
          assert.deepEqual(sortedKeys(m), ['org_code', 'org_name', 'person_orgid', ...codes].sort())
        }
        const withRole = new Set(p.positions.map((pos) => pos.person_orgid))
        assert.deepEqual(orgRoles.map((o) => o.person_orgid), p.org_memberships.filter((m) => withRole.has(m.person_orgid)).map((m) => m.person_orgid))
        for (const o of orgRoles) assert.deepEqual(sortedKeys(o), ['org_code', 'org_name', 'person_orgid'])
        // Every role's membership is one the person has, at the same organisation.
        for (const role of all.nhsid_nrbac_roles as Record<string, string>[]) {
          assert.ok(orgRoles.some((o) => o.person_orgid === role.person_orgid && o.org_code === role.org_code))
        }
      })

      it('builds a role picker entry per role', () => {
        const options = roleOptions(p, directory)
        assert.deepEqual(options.map((o) => o.person_roleid).sort(), p.positions.map((pos) => pos.person_roleid).sort())
        for (const o of options) {
          assert.match(o.role_name, roleNamePattern)
          assert.ok(o.role_name.endsWith(`:"${o.job_role}"`))
          assert.equal(o.org_name, directory.organisation(o.org_code)?.org_name)
        }
      })

      it('puts the identity assurance level in the ID token as a string', () => {
        assert.deepEqual(idTokenPersonClaims(p), { id_assurance_level: String(p.id_assurance_level) })
      })
    })
  }
})

describe('userinfoClaims, exactly', () => {
  it('nurse.jones with all scopes: one role with workgroups and an area of work', () => {
    assert.deepEqual(userinfoClaims(person('nurse.jones'), allScopes, directory, '555254241106'), {
      sub: '555254239107',
      uid: '555254239107',
      nhsid_useruid: '555254239107',
      name: 'Sarah Jones',
      given_name: 'Sarah',
      family_name: 'Jones',
      middle_names: 'Elizabeth',
      display_name: 'Sarah Jones',
      title: 'Mrs',
      initials: 'SE',
      idassurancelevel: '3',
      email: 'sarah.jones@nhs.net',
      nmc_id: '12A3456E',
      rcn_id: 'RCN0456123',
      nhsid_user_orgs: [{ org_code: 'RBA', org_name: 'SOMERSET NHS FOUNDATION TRUST' }],
      nhsid_org_memberships: [{ person_orgid: '555254240109', org_name: 'SOMERSET NHS FOUNDATION TRUST', org_code: 'RBA' }],
      nhsid_org_roles: [{ person_orgid: '555254240109', org_name: 'SOMERSET NHS FOUNDATION TRUST', org_code: 'RBA' }],
      nhsid_nrbac_roles: [
        {
          person_orgid: '555254240109',
          person_roleid: '555254241106',
          org_code: 'RBA',
          role_name: '"Clinical":"Clinical Provision":"Nurse Access Role"',
          role_code: 'S8000:G8000:R8001',
          activities: ['Perform Prescription Preparation', 'View Patient Medication', 'Manage Allergies'],
          activity_codes: ['B0278', 'B0401', 'B0028'],
          workgroups: ['WARD 7 NURSING'],
          workgroups_codes: ['555254250103'],
          aow: ['"Pathology":"Pathology":"Phlebotomy"'],
          aow_codes: ['P0020:Q0300:T0640'],
        },
      ],
      selected_roleid: '555254241106',
    })
  })

  it('ra.whitfield with all scopes: three roles at three organisations, an org-scoped gnc', () => {
    const claims = userinfoClaims(person('ra.whitfield'), allScopes, directory, '555301746107')
    assert.deepEqual(claims, {
      sub: '555301742109',
      uid: '555301742109',
      nhsid_useruid: '555301742109',
      name: 'Karen Whitfield',
      given_name: 'Karen',
      family_name: 'Whitfield',
      middle_names: 'Anne',
      display_name: 'Karen Whitfield',
      title: 'Ms',
      initials: 'KA',
      idassurancelevel: '3',
      email: 'karen.whitfield@nhs.net',
      nhsid_user_orgs: [
        { org_code: 'X09', org_name: 'NHS CONNECTING FOR HEALTH' },
        { org_code: 'Y51', org_name: 'THE NORTH MIDLANDS AND EAST PROGRAMME FOR IT (NMEPFIT)' },
        { org_code: 'RJ1', org_name: "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST" },
      ],
      nhsid_org_memberships: [
        { person_orgid: '555301743106', org_name: 'NHS CONNECTING FOR HEALTH', org_code: 'X09' },
        { person_orgid: '555301744103', org_name: 'THE NORTH MIDLANDS AND EAST PROGRAMME FOR IT (NMEPFIT)', org_code: 'Y51', gnc: 'GNC4471' },
        { person_orgid: '555301745100', org_name: "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST", org_code: 'RJ1' },
      ],
      nhsid_org_roles: [
        { person_orgid: '555301743106', org_name: 'NHS CONNECTING FOR HEALTH', org_code: 'X09' },
        { person_orgid: '555301744103', org_name: 'THE NORTH MIDLANDS AND EAST PROGRAMME FOR IT (NMEPFIT)', org_code: 'Y51' },
        { person_orgid: '555301745100', org_name: "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST", org_code: 'RJ1' },
      ],
      nhsid_nrbac_roles: [
        {
          person_orgid: '555301743106',
          person_roleid: '555301746107',
          org_code: 'X09',
          role_name: '"Admin & Clerical":"Management - A & C":"Registration Authority Manager"',
          role_code: 'S0080:G0450:R5080',
          activities: ['Approve Access Requests', 'Manage Smartcards'],
          activity_codes: ['B1300', 'B1310'],
          workgroups: ['CAR-384'],
          workgroups_codes: ['555301750102'],
        },
        {
          person_orgid: '555301744103',
          person_roleid: '555301747104',
          org_code: 'Y51',
          role_name: '"Support":"Support":"Admin/Clinical Support Access Role"',
          role_code: 'S8001:G8002:R8008',
          activities: ['Execute CDS DQ Extracts (Clear)'],
          activity_codes: ['B0145'],
        },
        {
          person_orgid: '555301745100',
          person_roleid: '555301748101',
          org_code: 'RJ1',
          role_name: '"Admin & Clerical":"Admin":"Registration Authority Agent"',
          role_code: 'S0080:G0440:R5090',
          activities: ['Raise Access Requests', 'Manage Smartcards'],
          activity_codes: ['B1302', 'B1310'],
        },
      ],
      selected_roleid: '555301746107',
    })
    // Claim order follows the cis2.md 3.8 example.
    assert.deepEqual(Object.keys(claims).slice(0, 3), ['sub', 'uid', 'nhsid_useruid'])
    assert.equal(Object.keys(claims).at(-1), 'selected_roleid')
  })

  it('new.starter: a membership but no role gives empty role lists, not missing ones', () => {
    const claims = userinfoClaims(person('new.starter'), allScopes, directory, undefined)
    assert.deepEqual(claims.nhsid_nrbac_roles, [])
    assert.deepEqual(claims.nhsid_org_roles, [])
    assert.deepEqual(claims.nhsid_org_memberships, [
      { person_orgid: '555312605100', org_name: "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST", org_code: 'RJ1' },
    ])
    assert.ok(!('selected_roleid' in claims))
  })

  it('agency.clark: no organisation at all gives empty arrays everywhere', () => {
    const claims = userinfoClaims(person('agency.clark'), allScopes, directory)
    for (const key of ['nhsid_nrbac_roles', 'nhsid_user_orgs', 'nhsid_org_memberships', 'nhsid_org_roles']) {
      assert.deepEqual(claims[key], [], key)
    }
    assert.equal(claims.nmc_id, '03C1234D')
  })

  it('omits middle_names when the person has none', () => {
    const claims = userinfoClaims(person('dr.patel'), new Set(['openid', 'nhsperson']), directory)
    assert.ok(!('middle_names' in claims))
    assert.ok(!('middle_names' in userinfoClaims({ ...person('nurse.jones'), middle_names: '' }, allScopes, directory)))
  })
})

describe('selected_roleid in userinfo', () => {
  const p = person('dr.patel')
  const role = '555260122106'

  it('is released under selectedrole or changedrole', () => {
    assert.equal(userinfoClaims(p, new Set(['openid', 'selectedrole']), directory, role).selected_roleid, role)
    assert.equal(userinfoClaims(p, new Set(['openid', 'changedrole']), directory, role).selected_roleid, role)
  })

  it('is not released without a role scope, even when a role was selected', () => {
    const claims = userinfoClaims(p, new Set([...allScopes].filter((s) => s !== 'selectedrole')), directory, role)
    assert.ok(!('selected_roleid' in claims))
  })

  it('is not released for a role the person does not hold (any more)', () => {
    assert.ok(!('selected_roleid' in userinfoClaims(p, allScopes, directory, '555254241106')))
  })

  it('is not released when no role was selected', () => {
    assert.ok(!('selected_roleid' in userinfoClaims(p, allScopes, directory)))
  })
})

describe('claims need a complete directory', () => {
  it('throws rather than invent names for a job role, activity or organisation it does not know', () => {
    const p = person('nurse.jones')
    const missing = (what: keyof Directory): Directory => ({
      organisation: (c) => (what === 'organisation' ? undefined : directory.organisation(c)),
      jobRole: (c) => (what === 'jobRole' ? undefined : directory.jobRole(c)),
      activity: (c) => (what === 'activity' ? undefined : directory.activity(c)),
    })
    assert.throws(() => userinfoClaims(p, allScopes, missing('jobRole')), /job role R8001 is not in the directory/)
    assert.throws(() => userinfoClaims(p, allScopes, missing('activity')), /activity B0278 is not in the directory/)
    assert.throws(() => userinfoClaims(p, allScopes, missing('organisation')), /organisation RBA is not in the directory/)
    assert.throws(() => roleOptions(p, missing('jobRole')), /job role R8001/)
    // Scopes that need no lookup still work.
    assert.deepEqual(userinfoClaims(p, new Set(['openid', 'email']), missing('organisation')), { sub: p.uid, email: p.email })
  })
})

describe('idTokenPersonClaims', () => {
  it('gives the level as a string', () => {
    assert.deepEqual(idTokenPersonClaims(person('nurse.jones')), { id_assurance_level: '3' })
    assert.deepEqual(idTokenPersonClaims(person('reception.brown')), { id_assurance_level: '2' })
  })
})

describe('roleOptions', () => {
  it('lists dr.patel’s roles sorted by organisation name, then job role', () => {
    assert.deepEqual(roleOptions(person('dr.patel'), directory), [
      {
        person_roleid: '555260123103',
        role_name: '"Clinical":"Clinical Provision":"Clinical Practitioner Access Role"',
        job_role: 'Clinical Practitioner Access Role',
        org_code: 'A81002',
        org_name: 'QUEENS PARK MEDICAL CENTRE',
      },
      {
        person_roleid: '555260121109',
        role_name: '"Medical & Dental":"Medical Practitioner":"General Medical Practitioner"',
        job_role: 'General Medical Practitioner',
        org_code: 'A81001',
        org_name: 'THE DENSHAM SURGERY',
      },
      {
        person_roleid: '555260122106',
        role_name: '"Admin & Clerical":"Admin":"Registration Authority Agent"',
        job_role: 'Registration Authority Agent',
        org_code: 'A81001',
        org_name: 'THE DENSHAM SURGERY',
      },
    ])
  })

  it('sorts the locum’s seven roles', () => {
    const options = roleOptions(person('locum.okafor'), directory)
    assert.equal(options.length, 7)
    assert.deepEqual(
      options.map((o) => `${o.org_name} / ${o.job_role}`),
      [
        'BRIDGE STREET SURGERY / Sessional GP',
        'CHARNWOOD SURGERY / Sessional GP',
        'PELHAM MEDICAL GROUP / Sessional GP',
        'QUEENS PARK MEDICAL CENTRE / Sessional GP',
        'SOMERSET NHS FOUNDATION TRUST / Bank Access Role',
        'SOMERSET NHS FOUNDATION TRUST / Clinical Practitioner Access Role',
        'THE DENSHAM SURGERY / Sessional GP',
      ],
    )
  })

  it('is empty for a person with no role', () => {
    assert.deepEqual(roleOptions(person('new.starter'), directory), [])
  })
})

describe('findPosition', () => {
  it('finds a held role by URID and nothing else', () => {
    const p = person('locum.okafor')
    assert.equal(findPosition(p, '555271418100')?.org_code, 'RBA')
    assert.equal(findPosition(p, '555254241106'), undefined)
    assert.equal(findPosition(p, ''), undefined)
  })
})
