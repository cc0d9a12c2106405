/**
 * The national RBAC catalogue Careid serves: job roles (R codes in their job role group (G) and
 * sector (S)) and activities (B codes) with the activities each one includes.
 *
 * Provenance, because RPs compare these strings: entries marked `seen` have the code and name seen
 * in cis2.md (3.3, 3.8) or in NHS England code and fixtures; entries marked `name seen` pair a real
 * name with a code we chose; everything else is invented in the same style for the demo. The real
 * National RBAC Database is far larger; this is just enough to make the role picker and the
 * `nhsid_nrbac_roles` claim realistic.
 */
import type { Activity, JobRole } from '@careid/ports'

interface Level {
  code: string
  name: string
}

// Sectors (S codes).
const clinicalSector: Level = { code: 'S8000', name: 'Clinical' } // seen
const supportSector: Level = { code: 'S8001', name: 'Support' } // seen
const adminSector: Level = { code: 'S0080', name: 'Admin & Clerical' } // seen
const medicalSector: Level = { code: 'S0010', name: 'Medical & Dental' } // code seen
const professionalSector: Level = { code: 'S0050', name: 'Professional & Technical' }

// Job role groups (G codes).
const clinicalProvision: Level = { code: 'G8000', name: 'Clinical Provision' } // seen
const supportGroup: Level = { code: 'G8002', name: 'Support' } // seen
const healthProfessional: Level = { code: 'G8003', name: 'Health Professional' }
const managementAandC: Level = { code: 'G0450', name: 'Management - A & C' } // seen
const adminGroup: Level = { code: 'G0440', name: 'Admin' } // name seen
const medicalPractitioner: Level = { code: 'G0020', name: 'Medical Practitioner' } // code seen
const dentalPractitioner: Level = { code: 'G0030', name: 'Dental Practitioner' }
const pharmacyGroup: Level = { code: 'G0120', name: 'Pharmacy' }

function jobRole(sector: Level, group: Level, code: string, name: string): JobRole {
  return { code, name, group: { ...group }, sector: { ...sector } }
}

/** National RBAC job roles, each placed in its sector and job role group. */
export const nationalJobRoles: readonly JobRole[] = [
  jobRole(clinicalSector, clinicalProvision, 'R8000', 'Clinical Practitioner Access Role'), // seen
  jobRole(clinicalSector, clinicalProvision, 'R8001', 'Nurse Access Role'), // seen
  jobRole(clinicalSector, clinicalProvision, 'R8002', 'Nurse Manager Access Role'),
  jobRole(clinicalSector, clinicalProvision, 'R8016', 'Midwife Access Role'), // name seen
  jobRole(clinicalSector, clinicalProvision, 'R8024', 'Bank Access Role'), // name seen
  jobRole(clinicalSector, healthProfessional, 'R8003', 'Health Professional Access Role'), // name seen
  jobRole(clinicalSector, healthProfessional, 'R8004', 'Healthcare Student Access Role'), // name seen
  jobRole(supportSector, supportGroup, 'R8008', 'Admin/Clinical Support Access Role'), // seen
  jobRole(supportSector, supportGroup, 'R8006', 'Medical Secretary Access Role'), // name seen
  jobRole(supportSector, supportGroup, 'R8009', 'Receptionist Access Role'), // name seen
  jobRole(supportSector, supportGroup, 'R8010', 'Clerical Access Role'), // name seen
  jobRole(supportSector, supportGroup, 'R8015', 'Systems Support Access Role'), // name seen
  jobRole(adminSector, managementAandC, 'R5080', 'Registration Authority Manager'), // seen
  jobRole(adminSector, adminGroup, 'R5090', 'Registration Authority Agent'), // name seen
  jobRole(medicalSector, medicalPractitioner, 'R0050', 'Consultant'), // seen
  jobRole(medicalSector, medicalPractitioner, 'R0260', 'General Medical Practitioner'), // seen
  jobRole(medicalSector, medicalPractitioner, 'R0270', 'Salaried General Practitioner'), // seen
  jobRole(medicalSector, medicalPractitioner, 'R6300', 'Sessional GP'), // name seen
  jobRole(medicalSector, dentalPractitioner, 'R0250', 'General Dental Practitioner'), // name seen
  jobRole(professionalSector, pharmacyGroup, 'R1290', 'Pharmacist'), // name seen
  jobRole(professionalSector, pharmacyGroup, 'R9812', 'Pharmacy Technicians'), // name seen
]

function activity(code: string, name: string, includes: string[] = []): Activity {
  return { code, name, includes }
}

/**
 * National RBAC activities. `includes` is what holding the activity also grants (B0825 Amend
 * Patient Demographics includes B0820 View Patient Demographics, cis2.md 3.3); it may chain.
 */
export const nationalActivities: readonly Activity[] = [
  // Demographics.
  activity('B0820', 'View Patient Demographics'), // seen
  activity('B0825', 'Amend Patient Demographics', ['B0820']), // seen
  activity('B0830', 'Manage Sensitive Patient Demographics', ['B0825']),
  activity('B0101', 'Register Patient', ['B0825']),
  // Clinical record.
  activity('B0370', 'View Patient Clinical Record'),
  activity('B0380', 'Amend Patient Clinical Record', ['B0370']),
  activity('B0264', 'Access Sensitive Data', ['B0370']),
  activity('B0012', 'View Summary Care Record'),
  activity('B0017', 'View Summary Care Record Additional Information', ['B0012']),
  activity('B0027', 'View Allergies'),
  activity('B0028', 'Manage Allergies', ['B0027']), // seen
  activity('B0061', 'View Vaccination History'),
  activity('B0062', 'Record Vaccinations', ['B0061']),
  // Medicines.
  activity('B0401', 'View Patient Medication'), // seen
  activity('B0278', 'Perform Prescription Preparation', ['B0401']), // seen
  activity('B0440', 'Sign Prescriptions', ['B0278']),
  activity('B0570', 'Perform Pharmacy Activities', ['B0401']),
  activity('B0572', 'Manage Pharmacy Activities', ['B0570']),
  // Appointments and referrals.
  activity('B0046', 'View Appointments'),
  activity('B0047', 'Manage Appointments', ['B0046']),
  activity('B0167', 'View Referrals'),
  activity('B0168', 'Manage Referrals', ['B0167']),
  // Data quality and reporting.
  activity('B0145', 'Execute CDS DQ Extracts (Clear)'), // seen
  // Registration Authority.
  activity('B1301', 'View Registration Authority Users'),
  activity('B1302', 'Raise Access Requests', ['B1301']),
  activity('B1310', 'Manage Smartcards', ['B1301']),
  activity('B1300', 'Approve Access Requests', ['B1302']),
  // Local system administration.
  activity('B0090', 'Manage Local System Configuration'),
]
