/** Drives Careid's sign-in pages the way a person would, for end-to-end tests. */
import { type Browser, form, type Landing, type PageResult, radioValues } from './browser.ts'

export interface SignInOptions {
  username: string
  password: string
  /** Which authenticator to choose when Careid offers a choice. */
  method?: 'password' | 'totp'
  /** Gives the authenticator-app code when asked. */
  code?: () => Promise<string>
  /** The person_roleid to choose when asked (default: the first offered). */
  role?: string
}

export interface SignInResult {
  /** Where Careid finally redirected (the relying party's redirect URI with code or error). */
  location: string
  /** Every page shown on the way, in order. */
  pages: PageResult[]
}

export function h1(page: PageResult): string {
  return /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(page.html)?.[1]?.replace(/<[^>]+>/g, '').trim() ?? ''
}

export async function signIn(browser: Browser, url: string, options: SignInOptions): Promise<SignInResult> {
  const pages: PageResult[] = []
  let landing = await browser.go(url)
  for (let step = 0; step < 8; step++) {
    const page = landing.page
    if (page === undefined) return { location: landing.location as string, pages }
    pages.push(page)
    const html = page.html
    if (html.includes('/method"')) {
      const f = form(page, '/method')
      // Without a stated method: the authenticator app when a code is given, else the password.
      landing = await browser.go(f.action, { form: { ...f.fields, method: options.method ?? (options.code === undefined ? 'password' : 'totp') } })
    } else if (html.includes('name="password"')) {
      const f = form(page, '/authenticate')
      landing = await browser.go(f.action, { form: { ...f.fields, username: options.username, password: options.password } })
    } else if (html.includes('name="code"')) {
      if (options.code === undefined) throw new Error('asked for an authenticator-app code but none was given')
      const f = form(page, '/authenticate')
      landing = await browser.go(f.action, { form: { ...f.fields, code: await options.code() } })
    } else if (html.includes('name="role"')) {
      const f = form(page, '/role')
      const first = /name="role"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="role"/.exec(html)
      landing = await browser.go(f.action, { form: { ...f.fields, role: options.role ?? first?.[1] ?? first?.[2] ?? '' } })
    } else {
      throw new Error(`unexpected page ${page.status} "${h1(page)}" at ${page.url}`)
    }
  }
  throw new Error('the sign-in did not finish')
}

/**
 * Where the request offers several methods (AAL3_ANY: the smartcard, security keys, Windows Hello,
 * passkeys), chooses `method` on the choice page and returns the journey's page after it;
 * `landing` as it was when there is no choice to make.
 */
export async function choosing(browser: Browser, landing: Landing, method: string): Promise<Landing> {
  const page = landing.page
  if (page === undefined || !radioValues(page, 'method').includes(method)) return landing
  const f = form(page, '/method')
  const chosen = await browser.go(f.action, { form: { ...f.fields, method } })
  // The method's first step is shown in answer to the post; the journey's own address shows it too,
  // and is the address the step's page is known by (its form posts under it).
  return chosen.page === undefined ? chosen : browser.go(page.url)
}
