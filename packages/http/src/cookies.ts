/**
 * The two cookies: the SSO session (its secret; the store keeps only a hash) and the browser
 * binding for sign-in journeys. HttpOnly, SameSite=Lax (a cross-site POST carries neither, which
 * with the per-journey token stops login CSRF), Secure whenever the issuer is https.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'

export const sessionCookie = 'careid_session'
export const browserCookie = 'careid_browser'

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
