/**
 * NHS numbers: ten digits, the last a modulus 11 check digit over the first nine (weights 10 down
 * to 2; a remainder giving a check of 11 means 0, and a check of 10 means the nine digits can never
 * form a valid number).
 */

/** The check digit for nine leading digits, or undefined when no valid number starts with them. */
export function nhsCheckDigit(nineDigits: string): number | undefined {
  if (!/^[0-9]{9}$/.test(nineDigits)) return undefined
  let sum = 0
  for (let i = 0; i < 9; i++) sum += Number(nineDigits[i]) * (10 - i)
  const check = 11 - (sum % 11)
  if (check === 10) return undefined
  return check === 11 ? 0 : check
}

/** Whether `value` is ten digits whose last one is the modulus 11 check digit of the others. */
export function isValidNhsNumber(value: string): boolean {
  if (!/^[0-9]{10}$/.test(value)) return false
  return nhsCheckDigit(value.slice(0, 9)) === Number(value[9])
}
