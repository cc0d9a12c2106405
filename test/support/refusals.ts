/**
 * Assertions for refused requests. A refusal is checked whole: the exact `error` code, the HTTP
 * status, whether it redirected and where, and that the body gives nothing away (no stack trace,
 * no exception text, no file path, nothing the client sent as a secret). `rowCounts` reads the
 * store's tables directly, so a test can show a refused request wrote nothing.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import Database from 'libsql'
import { sha256 } from '@careid/oidc'
import type { TestCareid } from './careid.ts'

/** What a stack trace, an exception message or a source location looks like in a body. */
const leaks: Array<[RegExp, string]> = [
  [/^\s*at\s/m, 'a stack frame'],
  [/\bat\s+(?:async\s+)?[\w$.<>[\]]+\s+\(/, 'a stack frame'],
  [/\bat\s+(?:file|node):/, 'a stack frame'],
  [/Error:/, 'an exception message'],
  [/\bstack\b/i, 'a stack trace'],
  // At the start of a path only: Careid's own URLs contain /realms/root/.
  [/(?:^|[\s"'(=])\/(?:work|home|tmp|usr|var|root|opt|srv)\//, 'a file path'],
  [/node_modules|file:\/\/|node:internal/, 'a file path'],
  [/\.[cm]?[jt]sx?:\d+/, 'a source location'],
]

/**
 * Fails if `body` carries anything internal, or any of `secrets`. NHS pages that show a form
 * error say "Error: " in the <title> and in a visually hidden span before the message (the design
 * system's rule for screen readers); those are the page's own words, not an exception, so they
 * are set aside before checking.
 */
export function assertNoLeak(body: string, secrets: readonly string[] = []): void {
  const text = body.replace(/<title>Error: /g, '<title>').replace(/<span class="nhsuk-u-visually-hidden">Error: <\/span>/g, '')
  for (const [pattern, what] of leaks) assert.doesNotMatch(text, pattern, `the body contains ${what}: ${text.slice(0, 500)}`)
  for (const secret of secrets) assert.equal(text.includes(secret), false, 'the body echoes a submitted secret')
}

export interface ExpectedJsonError {
  status: number
  error: string
  /** The exact error_description, or a pattern it must match. */
  description?: string | RegExp | undefined
  /** Values the request carried that must not come back. */
  secrets?: readonly string[] | undefined
}

/** A JSON error body (RFC 6749 5.2): status, code, no redirect, no-store, nothing leaked. */
export async function expectJsonError(response: Response, expected: ExpectedJsonError): Promise<{ error: string; error_description?: string }> {
  const text = await response.text()
  assert.ok(response.status < 500, `status ${response.status}: ${text}`)
  assert.equal(response.status, expected.status, text)
  assert.equal(response.headers.get('location'), null, 'an error from a back-channel endpoint never redirects')
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/)
  assertNoLeak(text, expected.secrets)
  const body = JSON.parse(text) as { error: string; error_description?: string }
  assert.equal(body.error, expected.error, text)
  if (typeof expected.description === 'string') assert.equal(body.error_description, expected.description)
  else if (expected.description !== undefined) assert.match(body.error_description ?? '', expected.description)
  return body
}

export interface ExpectedErrorPage {
  status: number
  error: string
  secrets?: readonly string[] | undefined
}

/** An error shown as a page because no redirect was safe: status, code on the page, no Location. */
export async function expectErrorPage(response: Response, expected: ExpectedErrorPage): Promise<string> {
  const html = await response.text()
  assert.ok(response.status < 500, `status ${response.status}`)
  assert.equal(response.status, expected.status, html.slice(0, 300))
  assert.equal(response.headers.get('location'), null, 'the error must not be redirected')
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/)
  assert.ok(html.includes(`Error code: ${expected.error}`), `the page names the error ${expected.error}`)
  assertNoLeak(html, expected.secrets)
  return html
}

export interface ExpectedErrorRedirect {
  /** The relying party's redirect URI the error must go to (and nowhere else). */
  redirectUri: string
  issuer: string
  error: string
  /** The state to be echoed, or undefined when none may be. */
  state?: string | undefined
  secrets?: readonly string[] | undefined
}

/**
 * An authorization error sent back to the (trusted) redirect URI (RFC 6749 4.1.2.1): a 302 to
 * exactly that URI with `error`, `iss` (RFC 9207), `state` if given, and never a code.
 */
export async function expectErrorRedirect(response: Response, expected: ExpectedErrorRedirect): Promise<URLSearchParams> {
  const body = await response.text()
  assert.equal(response.status, 302, body.slice(0, 300))
  const location = response.headers.get('location')
  assert.ok(location !== null, 'expected a redirect')
  const url = new URL(location)
  assert.equal(`${url.origin}${url.pathname}`, expected.redirectUri, `redirected to ${location}`)
  const params = url.searchParams
  assert.equal(params.get('error'), expected.error, location)
  assert.equal(params.get('iss'), expected.issuer)
  assert.equal(params.get('state'), expected.state ?? null)
  assert.equal(params.get('code'), null, 'an error carries no code')
  assertNoLeak(params.get('error_description') ?? '', expected.secrets)
  assertNoLeak(body, expected.secrets)
  return params
}

/** Row counts of the store's tables, read straight from the SQLite file (a second, read-only connection). */
export function rowCounts(careid: TestCareid, tables: readonly string[]): Record<string, number> {
  const db = new Database(join(careid.dataDir, 'careid.db'), { readonly: true })
  try {
    const out: Record<string, number> = {}
    for (const table of tables) {
      // Table names come from the test itself, never from input.
      out[table] = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
    }
    return out
  } finally {
    db.close()
  }
}

/** Whether the store has marked `code` redeemed (undefined when it holds no such code). */
export function codeRedeemed(careid: TestCareid, code: string): boolean | undefined {
  const db = new Database(join(careid.dataDir, 'careid.db'), { readonly: true })
  try {
    const row = db.prepare('SELECT redeemed_at FROM codes WHERE code_hash = ?').get(sha256(code)) as { redeemed_at: number | null } | undefined
    return row === undefined ? undefined : row.redeemed_at !== null
  } finally {
    db.close()
  }
}
