/**
 * Demo organisations by ODS code. Codes follow ODS formats (three characters for trusts, a letter
 * and five digits for GP practices, F codes for community pharmacies, V codes for dental
 * practices, X/Y codes for national bodies). Y51 and X09 are as in cis2.md 3.8; B81016, C81006 and
 * D82015 are as seen in NHS test fixtures; FA123, FQ560 and V00123 are invented. Names are demo
 * data and need not match the live ODS record.
 */
import type { Organisation } from '@careid/ports'

/** The organisations the demo workforce works at. */
export const demoOrganisations: readonly Organisation[] = [
  { org_code: 'RBA', org_name: 'SOMERSET NHS FOUNDATION TRUST' },
  // Its workstations keep sessions locked, not ended, when a smartcard is removed.
  { org_code: 'RJ1', org_name: "GUY'S AND ST THOMAS' NHS FOUNDATION TRUST", card_removal: 'lock' },
  { org_code: 'RTH', org_name: 'OXFORD UNIVERSITY HOSPITALS NHS FOUNDATION TRUST' },
  { org_code: 'A81001', org_name: 'THE DENSHAM SURGERY' },
  { org_code: 'A81002', org_name: 'QUEENS PARK MEDICAL CENTRE' },
  { org_code: 'B81016', org_name: 'PELHAM MEDICAL GROUP' },
  { org_code: 'C81006', org_name: 'CHARNWOOD SURGERY' },
  { org_code: 'D82015', org_name: 'BRIDGE STREET SURGERY' },
  { org_code: 'FA123', org_name: 'HIGH STREET PHARMACY' },
  { org_code: 'FQ560', org_name: 'PARKSIDE PHARMACY' },
  { org_code: 'V00123', org_name: 'RIVERSIDE DENTAL PRACTICE' },
  { org_code: 'Y51', org_name: 'THE NORTH MIDLANDS AND EAST PROGRAMME FOR IT (NMEPFIT)' },
  { org_code: 'X09', org_name: 'NHS CONNECTING FOR HEALTH' },
  { org_code: 'X26', org_name: 'NHS DIGITAL' },
]
