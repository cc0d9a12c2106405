import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import nunjucks from 'nunjucks'
import type { Page, RoleOption } from './pages.ts'

/** nhsuk-frontend's `dist` folder: its templates import each other as `nhsuk/components/...`. */
export const nhsukDist = join(dirname(createRequire(import.meta.url).resolve('nhsuk-frontend/package.json')), 'dist')
/**
 * This package's own folder, found by its name rather than from this module's place, which
 * differs once compiled into dist/.
 */
export const uiPackageDir = dirname(createRequire(import.meta.url).resolve('@careid/ui/package.json'))
const views = join(uiPackageDir, 'views')

// One environment for the process: the loader caches every compiled template (nhsuk-frontend's
// included ones too) after first use, and does not watch files, so rendering is pure CPU.
// trimBlocks/lstripBlocks are the settings nhsuk-frontend's own environment uses; without them its
// macros emit several times more whitespace than markup.
const env = new nunjucks.Environment(new nunjucks.FileSystemLoader([nhsukDist, views], { noCache: false, watch: false }), {
  autoescape: true,
  throwOnUndefined: false,
  trimBlocks: true,
  lstripBlocks: true,
})

/** The nhsuk-frontend components the views use: component folder → its macro's name. */
const components = {
  'back-link': 'backLink',
  button: 'button',
  checkboxes: 'checkboxes',
  code: 'code',
  'error-summary': 'errorSummary',
  footer: 'footer',
  header: 'header',
  input: 'input',
  'inset-text': 'insetText',
  radios: 'radios',
  'search-input': 'searchInput',
  'skip-link': 'skipLink',
  'summary-list': 'summaryList',
  'warning-callout': 'warningCallout',
} as const

// nhsuk-frontend's macros are general-purpose and slow in nunjucks (0.1–1 ms a call, mostly in its
// attribute helpers), which would make a sign-in page cost milliseconds. A macro's output depends
// only on its parameters, and pages call them with the same few parameter sets again and again
// (the header, a field with a given error), so each call's HTML is remembered by its parameters.
// The bound keeps per-person values (a typed username, someone's role list) from growing it without
// limit; the oldest entry goes first (a hot entry evicted this way costs one re-render).
const componentCacheSize = 2000
const componentCache = new Map<string, nunjucks.runtime.SafeString>()

function componentRenderer(folder: string, macro: string): (params: object) => nunjucks.runtime.SafeString {
  const template = new nunjucks.Template(
    `{% from "nhsuk/components/${folder}/macro.njk" import ${macro} %}{{ ${macro}(params) }}`,
    env,
    `careid:${folder}`,
    true,
  )
  return (params) => {
    const key = `${folder}\n${JSON.stringify(params)}`
    let html = componentCache.get(key)
    if (html === undefined) {
      html = new nunjucks.runtime.SafeString(template.render({ params }))
      if (componentCache.size >= componentCacheSize) componentCache.delete(componentCache.keys().next().value as string)
      componentCache.set(key, html)
    }
    return html
  }
}

// Views call components as `nhsuk.input({...})`, with the same parameters as nhsuk-frontend's
// `input` macro.
env.addGlobal(
  'nhsuk',
  Object.fromEntries(Object.entries(components).map(([folder, macro]) => [macro, componentRenderer(folder, macro)])),
)

// Lists become component items in JavaScript rather than in template loops: a nunjucks `for`
// costs several microseconds an iteration, more than the rest of a page.

/** `list | items({ value: "id", text: "label" })`: each entry re-keyed as the spec maps. */
env.addFilter('items', (list: Array<Record<string, unknown>>, spec: Record<string, string>) =>
  list.map((entry) => Object.fromEntries(Object.entries(spec).map(([to, from]) => [to, entry[from]]))),
)

/**
 * `roles | roleItems`: radios items for roles. The label is what people recognise (job role and
 * organisation); the hint is the role name triple without its quotes, e.g.
 * `"Clinical":"Clinical Provision":"Nurse Access Role"` → `Clinical / Clinical Provision / Nurse Access Role`.
 */
env.addFilter('roleItems', (roles: RoleOption[]) =>
  roles.map((role) => ({
    value: role.person_roleid,
    text: `${role.job_role} at ${role.org_name} (${role.org_code})`,
    hint: role.role_name.replaceAll('":"', ' / ').replaceAll('"', ''),
  })),
)

// Keyed by the union's tag so a new page kind fails type-checking until it has a template.
const templates: { [K in Page['page']]: string } = {
  account: 'account.njk',
  enrolment_code: 'enrolment_code.njk',
  enrolment_done: 'enrolment_done.njk',
  totp_enrol: 'totp_enrol.njk',
  choose_authenticator: 'choose_authenticator.njk',
  password: 'password.njk',
  totp: 'totp.njk',
  smartcard: 'smartcard.njk',
  webauthn: 'webauthn.njk',
  webauthn_register: 'webauthn_register.njk',
  select_role: 'select_role.njk',
  error: 'error.njk',
  confirm_sign_out: 'confirm_sign_out.njk',
  signed_out: 'signed_out.njk',
  demo_home: 'demo_home.njk',
  demo_signed_in: 'demo_signed_in.njk',
}

// Compile Careid's own templates at start-up, so a broken template fails the process at once
// rather than the first person to reach that page.
for (const name of Object.values(templates)) env.getTemplate(name, true)

/** Renders a page view model to a complete HTML document; every value in it is HTML-escaped. */
export function renderPage(page: Page): string {
  return env.render(templates[page.page], page)
}
