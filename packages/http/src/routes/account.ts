/**
 * "Your sign-in methods" (`{issuer}/account`) and the enrolment code form (`{issuer}/account/enrol`):
 * maps the account area's views onto page models and its outcomes onto HTTP. The account area
 * itself (sessions, ceremonies, codes) is the protocol core's (`provider.account`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AccountOutcome, AccountView, Provider } from '@careid/oidc'
import { browserCookie, readCookie, sessionCookie, setBrowserCookie, type CookiePolicy } from '../cookies.ts'
import type { PageModel, PageRenderer } from '../pages.ts'
import type { RateLimiter } from '../rate_limit.ts'
import { sendErrorPage } from '../render_error.ts'
import { stepPageOf } from '../step_pages.ts'
import { fields, type Form } from '../form_fields.ts'

export interface AccountRouteOptions {
  provider: Provider
  base: string
  cookies: CookiePolicy
  render: PageRenderer
  limiter: RateLimiter
}


/** "6 December 2026", in the UK's time. */
const day = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: 'Europe/London' })

function pageOf(view: AccountView, base: string): PageModel {
  const home = `${base}/account`
  switch (view.kind) {
    case 'overview':
      return {
        page: 'account',
        person_name: view.person_name,
        username: view.username,
        aal: view.aal,
        remove: { action: `${home}/remove`, csrf: view.csrf },
        add: { action: `${home}/add`, csrf: view.csrf },
        credentials: view.credentials.map((c) => ({
          kind: c.kind,
          id: c.id,
          label: c.label,
          added: day.format(new Date(c.created_at)),
          details: Object.entries(c.detail ?? {})
            .map(([key, value]) => `${key.replaceAll('_', ' ')}: ${String(value)}`)
            .join(', '),
          removable: c.removable,
        })),
        methods: view.add.map((m) => ({ method: m.method, label: m.label, description: m.description })),
        stronger: view.stronger.map((m) => ({ method: m.method, label: m.label, description: m.description, level: m.aal, sign_in: `${home}/sign-in?level=${m.aal}` })),
        notice: view.notice === undefined ? undefined : `${view.notice.label} ${view.notice.type}`,
        sign_out: `${base}/connect/endSession`,
        error: view.error,
      }
    case 'step':
      return stepPageOf(view.view, {
        form: { action: `${home}/add/${view.ceremony}`, csrf: view.csrf },
        client_name: 'Careid',
        method: { id: view.method.id, label: view.method.label },
        // From a session, back to the list; with a code there is no list to go back to.
        back: view.via === 'session' ? home : undefined,
        alternatives: [],
        retry: `${home}/add/${view.ceremony}`,
      })
    case 'registered':
      return { page: 'enrolment_done', method: view.method, label: view.label, username: view.username }
    case 'code':
      return { page: 'enrolment_code', form: { action: `${home}/enrol`, csrf: view.csrf }, username: view.username, error: view.error }
  }
}

export async function accountRoutes(app: FastifyInstance, options: AccountRouteOptions): Promise<void> {
  const { provider, base, cookies, render, limiter } = options
  const account = provider.account

  function reply(request: FastifyRequest, res: FastifyReply, outcome: AccountOutcome) {
    res.header('cache-control', 'no-store')
    if (outcome.type === 'error_page') return sendErrorPage(request, res, render, outcome.error)
    if (outcome.browserSecret !== undefined) setBrowserCookie(res, cookies, outcome.browserSecret)
    if (outcome.type === 'redirect') return res.redirect(outcome.location, request.method === 'POST' ? 303 : 302)
    return render(res.code(outcome.status), pageOf(outcome.view, base))
  }

  function input(request: FastifyRequest, form: Form) {
    return { sessionSecret: readCookie(request, sessionCookie), browserSecret: readCookie(request, browserCookie), form, source: request.ip }
  }

  const html = { config: { errorFormat: 'html' as const } }
  type WithId = FastifyRequest<{ Params: { id: string } }>
  app.get(`${base}/account`, html, async (request, res) => reply(request, res, await account.show(input(request, fields(request.query)))))
  app.get(`${base}/account/sign-in`, html, async (request, res) => reply(request, res, await account.stepUp(input(request, fields(request.query)))))
  app.get(`${base}/account/callback`, html, async (request, res) => reply(request, res, await account.callback(input(request, fields(request.query)))))
  app.post(`${base}/account/remove`, html, async (request, res) => reply(request, res, await account.remove(input(request, fields(request.body)))))
  app.post(`${base}/account/add`, html, async (request, res) => reply(request, res, await account.add(input(request, fields(request.body)))))
  app.get(`${base}/account/add/:id`, html, async (request: WithId, res) => reply(request, res, await account.step(request.params.id, input(request, {}))))
  // An enroller's step may check a code or a signature: counted like a sign-in step, per ceremony and address.
  app.post(`${base}/account/add/:id`, html, async (request: WithId, res) => {
    await limiter.signIn(request, request.params.id, undefined)
    return reply(request, res, await account.submit(request.params.id, input(request, fields(request.body))))
  })
  app.get(`${base}/account/enrol`, html, async (request, res) => reply(request, res, await account.codeForm(input(request, {}))))
  // Counted before anything is looked up: guesses at codes are limited per address.
  app.post(`${base}/account/enrol`, html, async (request, res) => {
    await limiter.enrolmentCode(request)
    return reply(request, res, await account.useCode(input(request, fields(request.body))))
  })
}
