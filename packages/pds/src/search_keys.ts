/**
 * The search columns stored beside a patient: names and postcodes reduced to one comparable form,
 * and a phonetic key of the family name that finds the candidates a fuzzy search then scores.
 */

/** Upper case A-Z only: accents folded ("Zoë" → "ZOE"), spaces, hyphens and apostrophes dropped. */
export function normaliseName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toUpperCase()
    .replace(/[^A-Z]/g, '')
}

/** A postcode without spaces, upper case ("ls1 4ap" → "LS14AP"). */
export function normalisePostcode(postcode: string): string {
  return postcode.toUpperCase().replace(/[^A-Z0-9]/g, '')
}

const soundexCodes: Record<string, string> = {
  B: '1', F: '1', P: '1', V: '1',
  C: '2', G: '2', J: '2', K: '2', Q: '2', S: '2', X: '2', Z: '2',
  D: '3', T: '3',
  L: '4',
  M: '5', N: '5',
  R: '6',
}

/**
 * American Soundex of a name (the first letter and three digits, "SMITH" and "SMYTHE" → "S530"), the
 * usual candidate key for name matching: spellings that sound alike share it. H and W do not
 * separate letters of one code; vowels do. Empty for a name with no letters.
 */
export function soundex(name: string): string {
  const letters = normaliseName(name)
  if (letters === '') return ''
  let key = letters[0]!
  let previous = soundexCodes[letters[0]!] ?? ''
  for (const letter of letters.slice(1)) {
    const code = soundexCodes[letter]
    if (code !== undefined) {
      if (code !== previous) key += code
      previous = code
    } else if (letter !== 'H' && letter !== 'W') {
      previous = ''
    }
    if (key.length === 4) break
  }
  return key.padEnd(4, '0')
}
