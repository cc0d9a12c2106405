/**
 * The cookies: the SSO session (its secret; the store keeps only a hash), the browser binding for
 * sign-in journeys, the handoff hint and the method last signed in with. HttpOnly, SameSite=Lax (a
 * cross-site POST carries none, which with the per-journey token stops login CSRF), Secure whenever
 * the issuer is https.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'

export const sessionCookie = 'careid_session'
export const browserCookie = 'careid_browser'
/**
 * "This browser reaches the program these methods hand off to" (an Identity Agent): the method ids,
 * dot-separated. No secret: it only lets the journey try a redirect the program may answer with
 * "nothing to give". Long-lived, as the program stays installed.
 */
export const handoffCookie = 'careid_handoff'
/**
 * "This browser last signed in with this method": its id, nothing else (no secret, nothing about
 * the person), so the next sign-in can start with it. Long-lived, as the hint is.
 */
export const lastMethodCookie = 'careid_method'
/** RFC 6265bis caps a cookie's lifetime at 400 days: the long-lived ones last that long. */
const longLivedMaxAgeS = 400 * 24 * 60 * 60
const methodId = /^[A-Za-z0-9_-]{1,40}$/

export interface CookiePolicy {
  secure: boolean
  path: string
}

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const value = request.cookies[name]
  return value === undefined || value === '' ? undefined : value
}

export function setSessionCookie(reply: FastifyReply, policy: CookiePolicy, secret: string, maxAgeMs: number): void {
  reply.setCookie(sessionCookie, secret, { httpOnly: true, sameSite: 'lax', secure: policy.secure, path: policy.path, maxAge: Math.max(1, Math.floor(maxAgeMs / 1000)) })
}

export function clearSessionCookie(reply: FastifyReply, policy: CookiePolicy): void {
  reply.clearCookie(sessionCookie, { httpOnly: true, sameSite: 'lax', secure: policy.secure, path: policy.path })
}

export function setBrowserCookie(reply: FastifyReply, policy: CookiePolicy, secret: string): void {
  reply.setCookie(browserCookie, secret, { httpOnly: true, sameSite: 'lax', secure: policy.secure, path: policy.path })
}

/** The method ids the handoff hint names (anything else in it is ignored). */
export function readHandoffHints(request: FastifyRequest): string[] {
  return (readCookie(request, handoffCookie) ?? '').split('.').filter((id) => methodId.test(id)).slice(0, 8)
}

/** Adds `method` to the browser's handoff hint. */
export function setHandoffHint(reply: FastifyReply, policy: CookiePolicy, hints: readonly string[], method: string): void {
  const ids = [...new Set([...hints, method])].filter((id) => methodId.test(id)).sort()
  reply.setCookie(handoffCookie, ids.join('.'), { httpOnly: true, sameSite: 'lax', secure: policy.secure, path: policy.path, maxAge: longLivedMaxAgeS })
}

/** The method the browser last signed in with, if the cookie names one (anything else is ignored). */
export function readLastMethod(request: FastifyRequest): string | undefined {
  const value = readCookie(request, lastMethodCookie)
  return value !== undefined && methodId.test(value) ? value : undefined
}

/** Remembers `method` as the one this browser last signed in with. */
export function setLastMethod(reply: FastifyReply, policy: CookiePolicy, method: string): void {
  if (!methodId.test(method)) return
  reply.setCookie(lastMethodCookie, method, { httpOnly: true, sameSite: 'lax', secure: policy.secure, path: policy.path, maxAge: longLivedMaxAgeS })
}
