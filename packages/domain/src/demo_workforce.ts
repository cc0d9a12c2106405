/**
 * The demo workforce: people who can sign in to a fresh Careid, chosen so every branch of the
 * journey can be tried by hand: exactly one role (chosen automatically), 2 to 5 roles (a plain
 * picker), more than 5 (a picker with search), no role at all, roles at several organisations, a
 * Registration Authority manager, a lower identity assurance level, and each kind of professional
 * registration. All ids are 12 digits and unique across the whole workforce (UIDs, person_orgids
 * and person_roleids), so a test or a log line can never confuse one for another.
 *
 * DEMO ONLY: the passwords below are published in this repository. TOTP secrets are generated when
 * the store is seeded, not here.
 */
import type { AreaOfWork, OrgMembership, Person, Position, Workgroup } from './types.ts'

function membership(person_orgid: string, org_code: string, codes?: Record<string, string>): OrgMembership {
  return codes === undefined ? { person_orgid, org_code } : { person_orgid, org_code, codes }
}

function position(
  person_roleid: string,
  person_orgid: string,
  org_code: string,
  job_role_code: string,
  activity_codes: string[],
  extra: { workgroups?: Workgroup[]; areas_of_work?: AreaOfWork[] } = {},
): Position {
  return {
    person_roleid,
    person_orgid,
    org_code,
    job_role_code,
    activity_codes,
    workgroups: extra.workgroups ?? [],
    areas_of_work: extra.areas_of_work ?? [],
  }
}

// Passwords sit next to their person so the two lists cannot drift apart.
const demo: { person: Person; password: string }[] = [
  {
    // One role: selected automatically. Also the one with workgroups and an area of work.
    password: 'bluebell-ward-demo',
    person: {
      uid: '555254239107',
      username: 'nurse.jones',
      title: 'Mrs',
      given_name: 'Sarah',
      family_name: 'Jones',
      middle_names: 'Elizabeth',
      initials: 'SE',
      display_name: 'Sarah Jones',
      email: 'sarah.jones@nhs.net',
      id_assurance_level: 3,
      registrations: { nmc_id: '12A3456E', rcn_id: 'RCN0456123' },
      org_memberships: [membership('555254240109', 'RBA')],
      positions: [
        position('555254241106', '555254240109', 'RBA', 'R8001', ['B0278', 'B0401', 'B0028'], {
          workgroups: [{ code: '555254250103', name: 'WARD 7 NURSING' }],
          areas_of_work: [{ code: 'P0020:Q0300:T0640', name: '"Pathology":"Pathology":"Phlebotomy"' }],
        }),
      ],
    },
  },
  {
    // Three roles at two practices, one of them Registration Authority work; an org-scoped gnc.
    password: 'surgery-oak-demo',
    person: {
      uid: '555260118104',
      username: 'dr.patel',
      title: 'Dr',
      given_name: 'Anil',
      family_name: 'Patel',
      initials: 'A',
      display_name: 'Dr Anil Patel',
      email: 'anil.patel@nhs.net',
      id_assurance_level: 3,
      registrations: { gmc_id: '4512345', gmp_id: 'G8123456' },
      org_memberships: [membership('555260119101', 'A81001', { gnc: 'G8123456' }), membership('555260120102', 'A81002')],
      positions: [
        position('555260121109', '555260119101', 'A81001', 'R0260', ['B0380', 'B0440', 'B0825', 'B0168', 'B0017']),
        position('555260122106', '555260119101', 'A81001', 'R5090', ['B1302', 'B1310']),
        position('555260123103', '555260120102', 'A81002', 'R8000', ['B0380', 'B0440', 'B0062']),
      ],
    },
  },
  {
    // A locum with seven roles at six organisations (two at RBA): the picker needs its search box.
    password: 'locum-kestrel-demo',
    person: {
      uid: '555271406102',
      username: 'locum.okafor',
      title: 'Dr',
      given_name: 'Chidi',
      family_name: 'Okafor',
      middle_names: 'Emeka',
      initials: 'CE',
      display_name: 'Dr Chidi Okafor',
      email: 'chidi.okafor@nhs.net',
      id_assurance_level: 3,
      registrations: { gmc_id: '7034567', gmp_id: 'G8765432' },
      org_memberships: [
        membership('555271407109', 'A81001'),
        membership('555271408106', 'A81002'),
        membership('555271409103', 'B81016'),
        membership('555271410104', 'C81006'),
        membership('555271411101', 'D82015'),
        membership('555271412108', 'RBA'),
      ],
      positions: [
        position('555271413105', '555271407109', 'A81001', 'R6300', ['B0380', 'B0440', 'B0168']),
        position('555271414102', '555271408106', 'A81002', 'R6300', ['B0380', 'B0440', 'B0168']),
        position('555271415109', '555271409103', 'B81016', 'R6300', ['B0380', 'B0440']),
        position('555271416106', '555271410104', 'C81006', 'R6300', ['B0380', 'B0440']),
        position('555271417103', '555271411101', 'D82015', 'R6300', ['B0380', 'B0440', 'B0047']),
        position('555271418100', '555271412108', 'RBA', 'R8000', ['B0380', 'B0440', 'B0264']),
        position('555271419107', '555271412108', 'RBA', 'R8024', ['B0370', 'B0401']),
      ],
    },
  },
  {
    // A pharmacist at two community pharmacies.
    password: 'mortar-pestle-demo',
    person: {
      uid: '555283950106',
      username: 'pharm.singh',
      title: 'Mr',
      given_name: 'Harpreet',
      family_name: 'Singh',
      initials: 'H',
      display_name: 'Harpreet Singh',
      email: 'harpreet.singh@nhs.net',
      id_assurance_level: 3,
      registrations: { gphc_id: '2087654' },
      org_memberships: [membership('555283951103', 'FA123'), membership('555283952100', 'FQ560')],
      positions: [
        position('555283953107', '555283951103', 'FA123', 'R1290', ['B0572', 'B0278', 'B0017']),
        position('555283954104', '555283952100', 'FQ560', 'R8003', ['B0570', 'B0062']),
      ],
    },
  },
  {
    // One role and the one lower identity assurance level (RPs asking for level 3 must refuse him).
    password: 'front-desk-demo',
    person: {
      uid: '555290337101',
      username: 'reception.brown',
      title: 'Mr',
      given_name: 'Tom',
      family_name: 'Brown',
      initials: 'T',
      display_name: 'Tom Brown',
      email: 'tom.brown@nhs.net',
      id_assurance_level: 2,
      registrations: {},
      org_memberships: [membership('555290338108', 'A81002')],
      positions: [
        position('555290339105', '555290338108', 'A81002', 'R8009', ['B0101', 'B0047'], {
          workgroups: [{ code: '555290345109', name: 'FRONT DESK' }],
        }),
      ],
    },
  },
  {
    // The Registration Authority manager, shaped like the cis2.md 3.8 user (X09 and Y51, gnc at Y51).
    password: 'sponsor-badge-demo',
    person: {
      uid: '555301742109',
      username: 'ra.whitfield',
      title: 'Ms',
      given_name: 'Karen',
      family_name: 'Whitfield',
      middle_names: 'Anne',
      initials: 'KA',
      display_name: 'Karen Whitfield',
      email: 'karen.whitfield@nhs.net',
      id_assurance_level: 3,
      registrations: {},
      org_memberships: [
        membership('555301743106', 'X09'),
        membership('555301744103', 'Y51', { gnc: 'GNC4471' }),
        membership('555301745100', 'RJ1'),
      ],
      positions: [
        position('555301746107', '555301743106', 'X09', 'R5080', ['B1300', 'B1310'], {
          workgroups: [{ code: '555301750102', name: 'CAR-384' }],
        }),
        position('555301747104', '555301744103', 'Y51', 'R8008', ['B0145']),
        position('555301748101', '555301745100', 'RJ1', 'R5090', ['B1302', 'B1310']),
      ],
    },
  },
  {
    // A member of an organisation who has not been given a role yet.
    password: 'first-day-demo',
    person: {
      uid: '555312604103',
      username: 'new.starter',
      title: 'Mr',
      given_name: 'Liam',
      family_name: "O'Neill",
      initials: 'L',
      display_name: "Liam O'Neill",
      email: 'liam.oneill@nhs.net',
      id_assurance_level: 3,
      registrations: {},
      org_memberships: [membership('555312605100', 'RJ1')],
      positions: [],
    },
  },
  {
    // Two roles at two trusts, one with an area of work.
    password: 'stork-river-demo',
    person: {
      uid: '555323871105',
      username: 'midwife.taylor',
      title: 'Mrs',
      given_name: 'Grace',
      family_name: 'Taylor',
      initials: 'G',
      display_name: 'Grace Taylor',
      email: 'grace.taylor@nhs.net',
      id_assurance_level: 3,
      registrations: { nmc_id: '98B7654C' },
      org_memberships: [membership('555323872102', 'RJ1'), membership('555323873109', 'RTH')],
      positions: [
        position('555323874106', '555323872102', 'RJ1', 'R8016', ['B0380', 'B0062', 'B0028'], {
          areas_of_work: [{ code: 'P0040:Q0410:T0880', name: '"Maternity":"Obstetrics":"Antenatal Care"' }],
        }),
        position('555323875103', '555323873109', 'RTH', 'R8024', ['B0370', 'B0401']),
      ],
    },
  },
  {
    // A dentist: the dental registrations.
    password: 'molar-smile-demo',
    person: {
      uid: '555334059108',
      username: 'dentist.walker',
      title: 'Dr',
      given_name: 'Emma',
      family_name: 'Walker',
      initials: 'E',
      display_name: 'Dr Emma Walker',
      email: 'emma.walker@nhs.net',
      id_assurance_level: 3,
      registrations: { gdc_id: '112233', gdp_id: '701234' },
      org_memberships: [membership('555334060109', 'V00123')],
      positions: [position('555334061106', '555334060109', 'V00123', 'R0250', ['B0370', 'B0401', 'B0820'])],
    },
  },
  {
    // A hospital consultant with an honorary contract elsewhere: the consultant_id registration.
    password: 'heart-valve-demo',
    person: {
      uid: '555345216100',
      username: 'dr.hughes',
      title: 'Dr',
      given_name: 'Rhiannon',
      family_name: 'Hughes',
      middle_names: 'Mair',
      initials: 'RM',
      display_name: 'Dr Rhiannon Hughes',
      email: 'rhiannon.hughes@nhs.net',
      id_assurance_level: 3,
      registrations: { gmc_id: '6123987', consultant_id: 'C6123987' },
      org_memberships: [membership('555345217107', 'RJ1'), membership('555345218104', 'RTH')],
      positions: [
        position('555345219101', '555345217107', 'RJ1', 'R0050', ['B0380', 'B0440', 'B0168', 'B0264']),
        position('555345220102', '555345218104', 'RTH', 'R8000', ['B0380', 'B0017']),
      ],
    },
  },
  {
    // An agency nurse between placements: a registration but no organisation and no role.
    password: 'agency-shift-demo',
    person: {
      uid: '555356483102',
      username: 'agency.clark',
      title: 'Mr',
      given_name: 'Daniel',
      family_name: 'Clark',
      initials: 'D',
      display_name: 'Daniel Clark',
      email: 'daniel.clark@nhs.net',
      id_assurance_level: 3,
      registrations: { nmc_id: '03C1234D' },
      org_memberships: [],
      positions: [],
    },
  },
]

/** The demo people, in a stable order. */
export const demoWorkforce: Person[] = demo.map((d) => d.person)

/** DEMO ONLY: each demo person's password, by UID. Seeding hashes these; never reuse them. */
export const demoCredentials: Record<string, { password: string }> = Object.fromEntries(
  demo.map((d) => [d.person.uid, { password: d.password }]),
)
