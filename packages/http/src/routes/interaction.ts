/** The sign-in journey's pages: maps the journey's views onto page models and its outcomes onto HTTP. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { JourneyOutcome, JourneyView, Provider } from '@careid/oidc'
import { browserCookie, readCookie, readHandoffHints, readLastMethod, sessionCookie, setHandoffHint, setLastMethod, setSessionCookie, type CookiePolicy } from '../cookies.ts'
import { noteRefusal, noteSignIn } from '../metrics.ts'
import type { PageModel, PageRenderer } from '../pages.ts'
import type { RateLimiter } from '../rate_limit.ts'
import { sendErrorPage } from '../render_error.ts'
import { stepPageOf } from '../step_pages.ts'
import { fields, type Form } from '../form_fields.ts'

export interface InteractionRouteOptions {
  provider: Provider
  base: string
  cookies: CookiePolicy
  render: PageRenderer
  limiter: RateLimiter
}


function pageOf(view: JourneyView, action: string): PageModel {
  switch (view.kind) {
    case 'choose':
      return {
        page: 'choose_authenticator',
        form: { action: `${action}/method`, csrf: view.csrf },
        client_name: view.client_name,
        options: view.options.map((m) => ({ id: m.id, label: m.label, description: m.description })),
        unavailable: view.unavailable.map((m) => ({ id: m.id, label: m.label, reason: 'This application needs a stronger way to sign in.' })),
        error: view.missing === true ? 'missing_input' : undefined,
      }
    case 'step':
      return stepPageOf(view.view, {
        form: { action: `${action}/authenticate`, csrf: view.csrf },
        client_name: view.client_name,
        method: view.method,
        back: view.canGoBack ? `${action}/back` : undefined,
        anotherWay: view.remembered ? `${action}/back` : undefined,
        alternatives: view.alternatives,
        retry: action,
      })
    case 'select_role':
      return {
        page: 'select_role',
        form: { action: `${action}/role`, csrf: view.csrf },
        client_name: view.client_name,
        person_name: view.person_name,
        roles: view.roles,
        searchable: view.total > 5,
        query: view.query,
        total: view.total,
        error: view.missing === true ? 'missing_input' : undefined,
      }
  }
}

export async function interactionRoutes(app: FastifyInstance, options: InteractionRouteOptions): Promise<void> {
  const { provider, base, cookies, render, limiter } = options
  const journey = provider.journey

  function reply(request: FastifyRequest, res: FastifyReply, id: string, outcome: JourneyOutcome) {
    res.header('cache-control', 'no-store')
    if (outcome.type === 'error_page') return sendErrorPage(request, res, render, outcome.error)
    if (outcome.attempt !== undefined) noteSignIn(request, outcome.attempt)
    if (outcome.session !== undefined) setSessionCookie(res, cookies, outcome.session.secret, outcome.session.maxAgeMs)
    if (outcome.handoffReady !== undefined) setHandoffHint(res, cookies, readHandoffHints(request), outcome.handoffReady)
    if (outcome.attempt?.result === 'success') setLastMethod(res, cookies, outcome.attempt.method)
    if (outcome.type === 'redirect') {
      if (outcome.error !== undefined) noteRefusal(request, outcome.error)
      return res.redirect(outcome.location, request.method === 'POST' ? 303 : 302)
    }
    const page = pageOf(outcome.view, `${base}/interaction/${id}`)
    // The smartcard page's script talks to the Identity Agent: the one extra connect-src, on that page only.
    const connectTargets = page.page === 'smartcard' ? [page.agent_origin] : undefined
    return render(res.code(outcome.status), page, { formTargets: outcome.formTargets, connectTargets })
  }

  function input(request: FastifyRequest<{ Params: { id: string } }>, form: Form) {
    return {
      interactionId: request.params.id,
      browserSecret: readCookie(request, browserCookie),
      sessionSecret: readCookie(request, sessionCookie),
      form,
      source: request.ip,
      handoffHints: readHandoffHints(request),
      lastMethod: readLastMethod(request),
    }
  }

  const html = { config: { errorFormat: 'html' as const } }
  type WithId = FastifyRequest<{ Params: { id: string } }>
  app.get(`${base}/interaction/:id`, html, async (request: WithId, res) => reply(request, res, request.params.id, await journey.show(input(request, fields(request.query)))))
  // The role search is a GET form on the role page's own action.
  app.get(`${base}/interaction/:id/role`, html, async (request: WithId, res) => reply(request, res, request.params.id, await journey.show(input(request, fields(request.query)))))
  app.get(`${base}/interaction/:id/back`, html, async (request: WithId, res) => reply(request, res, request.params.id, await journey.back(input(request, {}))))
  app.post(`${base}/interaction/:id/method`, html, async (request: WithId, res) => reply(request, res, request.params.id, await journey.choose(input(request, fields(request.body)))))
  // Password and authenticator-app code posts: counted before the journey checks anything, by the
  // username only where the current step asks for one.
  app.post(`${base}/interaction/:id/authenticate`, html, async (request: WithId, res) => {
    const form = fields(request.body)
    const asksUsername = (await journey.currentPage(request.params.id)) === 'password'
    await limiter.signIn(request, request.params.id, asksUsername ? form.username : undefined)
    return reply(request, res, request.params.id, await journey.submit(input(request, form)))
  })
  // A handoff's answer (a ticket from the Identity Agent), sent back by the program with a redirect:
  // a GET, so that the chain of redirects to the client starts from no page's form (see
  // Authenticator.handoff). Counted like a posted step. Logs carry the path only, never the query.
  type WithMethod = FastifyRequest<{ Params: { id: string; method: string } }>
  app.get(`${base}/interaction/:id/:method/return`, html, async (request: WithMethod, res) => {
    await limiter.signIn(request, request.params.id, undefined)
    return reply(request, res, request.params.id, await journey.handoffReturn(input(request, fields(request.query)), request.params.method))
  })
  app.post(`${base}/interaction/:id/role`, html, async (request: WithId, res) => reply(request, res, request.params.id, await journey.selectRole(input(request, fields(request.body)))))
}
