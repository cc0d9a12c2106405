/** Rendering a page model into the reply, with the common parts and a strict CSP. */
import type { FastifyReply } from 'fastify'
import { renderPage, type CommonModel, type Page } from '@careid/ui'
import { contentSecurityPolicy } from './security_headers.ts'

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never
export type PageModel = DistributiveOmit<Page, 'common'>

export type PageRenderer = (reply: FastifyReply, page: PageModel, options?: { formTargets?: string[] | undefined; connectTargets?: string[] | undefined; lang?: string | undefined }) => FastifyReply

export function createPageRenderer(assets: string): PageRenderer {
  return (reply, page, options = {}) => {
    const common: CommonModel = { assets, lang: options.lang ?? 'en-GB', service: 'Careid' }
    const html = renderPage({ ...page, common } as Page)
    return reply
      .header('content-security-policy', contentSecurityPolicy(options.formTargets ?? [], options.connectTargets ?? []))
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(html)
  }
}
