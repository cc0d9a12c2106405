/**
 * A scripted browser for end-to-end tests without Chromium: keeps cookies, follows redirects
 * within Careid, and fills in and posts the forms of Careid's pages. It stops at the first
 * redirect that leaves Careid (to a relying party), which is what a relying party would receive.
 * Given a `localAddress` (any 127.x.y.z on Linux), it connects from there: a browser on another
 * computer, as far as Careid can tell.
 */
import { request as httpRequest } from 'node:http'
import { CookieJar } from './cookie_jar.ts'

export interface PageResult {
  status: number
  url: string
  html: string
  headers: Headers
}

export interface Landing {
  /** Where the last redirect pointed outside Careid, or undefined if a page was shown. */
  location?: string | undefined
  page?: PageResult | undefined
}

export class Browser {
  readonly #jar = new CookieJar()
  readonly #origin: string
  readonly #localAddress: string | undefined

  constructor(origin: string, options: { localAddress?: string } = {}) {
    this.#origin = origin
    this.#localAddress = options.localAddress
  }

  /** The cookies this browser holds, by name. */
  get cookies(): Map<string, string> {
    return this.#jar.cookies
  }

  async fetch(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = this.#jar.header()
    let body: string | undefined
    if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(init.form).toString()
    }
    const method = init.method ?? (body === undefined ? 'GET' : 'POST')
    const response = this.#localAddress === undefined ? await fetch(url, { method, headers, body, redirect: 'manual' }) : await fetchFrom(this.#localAddress, url, method, headers, body)
    this.#jar.store(response.headers)
    return response
  }

  /** Requests `url` and follows redirects while they stay on Careid's origin. */
  async go(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Landing> {
    let response = await this.fetch(url, init)
    let current = url
    for (let hops = 0; hops < 10; hops++) {
      const location = response.headers.get('location')
      if (response.status < 300 || response.status > 399 || location === null) {
        return { page: { status: response.status, url: current, html: await response.text(), headers: response.headers } }
      }
      await response.body?.cancel()
      const next = new URL(location, current).href
      if (!next.startsWith(this.#origin) || next.includes('/demo/')) return { location: next }
      current = next
      response = await this.fetch(next)
    }
    throw new Error('too many redirects')
  }
}

/** One request with node:http from `localAddress` (fetch cannot choose its source address), as a Response. */
function fetchFrom(localAddress: string, url: string, method: string, headers: Record<string, string>, body: string | undefined): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, headers, localAddress }, (incoming) => {
      const chunks: Buffer[] = []
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
      incoming.on('error', reject)
      incoming.on('end', () => {
        const responseHeaders = new Headers()
        for (let i = 0; i < incoming.rawHeaders.length; i += 2) responseHeaders.append(incoming.rawHeaders[i] as string, incoming.rawHeaders[i + 1] as string)
        const status = incoming.statusCode ?? 0
        resolve(new Response([204, 304].includes(status) ? null : Buffer.concat(chunks), { status, headers: responseHeaders }))
      })
    })
    request.on('error', reject)
    request.end(body)
  })
}

export interface Form {
  action: string
  method: string
  fields: Record<string, string>
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`, 'i').exec(tag)
  return m?.[1] === undefined ? undefined : m[1].replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>')
}

/** The forms on a page (action resolved against the page URL) with their hidden fields. */
export function forms(page: PageResult): Form[] {
  const out: Form[] = []
  for (const m of page.html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const open = m[1] ?? ''
    const inner = m[2] ?? ''
    const fields: Record<string, string> = {}
    for (const input of inner.matchAll(/<input\b[^>]*>/gi)) {
      if (attr(input[0], 'type') === 'hidden') fields[attr(input[0], 'name') ?? ''] = attr(input[0], 'value') ?? ''
    }
    out.push({ action: new URL(attr(open, 'action') ?? page.url, page.url).href, method: (attr(open, 'method') ?? 'get').toLowerCase(), fields })
  }
  return out
}

/** The page's POST form whose action ends with `suffix`. */
export function form(page: PageResult, suffix: string): Form {
  const found = forms(page).find((f) => f.method === 'post' && new URL(f.action).pathname.endsWith(suffix))
  if (found === undefined) throw new Error(`no form posting to …${suffix} on ${page.url} (status ${page.status})`)
  return found
}

/** The values of the radios named `name` on a page. */
export function radioValues(page: PageResult, name: string): string[] {
  return [...page.html.matchAll(/<input\b[^>]*>/gi)].map((m) => m[0]).filter((t) => attr(t, 'type') === 'radio' && attr(t, 'name') === name).map((t) => attr(t, 'value') ?? '')
}
