// The server-rendered pages: every page variant is rendered and checked for the facts the HTTP
// layer and people rely on (field names, tokens, error links, headings), for what the CSP forbids
// (inline script and style) and for escaping of every string the page models carry.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { CommonModel, FormModel, Page, RoleOption } from '../src/index.ts'
import { assetsDirectories, renderPage } from '../src/index.ts'

const common: CommonModel = { assets: '/assets', lang: 'en-GB', service: 'Careid' }
const form: FormModel = { action: '/authorize/steps/abc123', csrf: 'csrf-Zx9_token' }
const client_name = 'Summary Care Record'

const roles: RoleOption[] = [
  {
    person_roleid: '555021935107',
    role_name: '"Clinical":"Clinical Provision":"Nurse Access Role"',
    job_role: 'Staff Nurse',
    org_code: 'RX1',
    org_name: 'Nottingham University Hospitals NHS Trust',
  },
  {
    person_roleid: '555021935108',
    role_name: '"Clinical":"Clinical Provision":"Clinical Practitioner Access Role"',
    job_role: 'Nurse Practitioner',
    org_code: 'Y01234',
    org_name: 'Riverside Medical Practice',
  },
  {
    person_roleid: '555021935109',
    role_name: '"Admin & Clerical":"Management - A & C":"Registration Authority Agent"',
    job_role: 'RA Agent',
    org_code: 'RX1',
    org_name: 'Nottingham University Hospitals NHS Trust',
  },
]

const options = [
  { id: 'totp', label: 'Authenticator app', description: 'A 6-digit code from an app on your phone' },
  { id: 'password', label: 'Username and password', description: 'For low assurance applications' },
]
const unavailable = [{ id: 'smartcard', label: 'Smartcard', reason: 'You have not set up a smartcard' }]

/** Every page variant, with the facts each must show. */
interface Variant {
  name: string
  page: Page
  /** The h1's text, without its caption. */
  h1: string
  /** The error summary's single message and the id it links to; absent when there is no error. */
  error?: { text: string; field: string }
}

const variants: Variant[] = [
  {
    name: 'choose_authenticator',
    page: { page: 'choose_authenticator', common, form, client_name, options, unavailable },
    h1: 'How do you want to sign in?',
  },
  {
    name: 'choose_authenticator, nothing chosen',
    page: { page: 'choose_authenticator', common, form, client_name, options, unavailable: [], error: 'missing_input' },
    h1: 'How do you want to sign in?',
    error: { text: 'Select how you want to sign in', field: 'method' },
  },
  {
    name: 'choose_authenticator, no options',
    page: {
      page: 'choose_authenticator',
      common,
      form,
      client_name,
      options: [],
      unavailable: [{ id: 'password', label: 'Username and password', reason: 'Level 1 is below the level 3 required' }],
    },
    h1: 'You cannot sign in to this application',
  },
  {
    name: 'password',
    page: { page: 'password', common, form, client_name, method_label: 'Username and password', back: '/authorize/choose' },
    h1: 'Enter your username and password',
  },
  {
    name: 'password, the method last used',
    page: { page: 'password', common, form, client_name, method_label: 'Authenticator app', back: '/authorize/choose', another_way: '/authorize/choose' },
    h1: 'Enter your username and password',
  },
  {
    name: 'password, invalid credentials',
    page: {
      page: 'password',
      common,
      form,
      client_name,
      method_label: 'Username and password',
      username: 'nurse.jones',
      error: 'invalid_credentials',
    },
    h1: 'Enter your username and password',
    error: { text: 'Enter a correct username and password', field: 'username' },
  },
  {
    name: 'password, locked',
    page: { page: 'password', common, form, client_name, method_label: 'Username and password', error: 'locked', locked_minutes: 15 },
    h1: 'Enter your username and password',
    error: { text: 'Too many incorrect attempts. You can try again in 15 minutes', field: 'username' },
  },
  {
    name: 'password, locked for under a minute',
    page: { page: 'password', common, form, client_name, method_label: 'Username and password', error: 'locked', locked_minutes: 1 },
    h1: 'Enter your username and password',
    error: { text: 'Too many incorrect attempts. You can try again in 1 minute', field: 'username' },
  },
  {
    name: 'password, nothing entered',
    page: { page: 'password', common, form, client_name, method_label: 'Username and password', error: 'missing_input' },
    h1: 'Enter your username and password',
    error: { text: 'Enter your username and password', field: 'username' },
  },
  {
    name: 'password, no password entered',
    page: {
      page: 'password',
      common,
      form,
      client_name,
      method_label: 'Username and password',
      username: 'nurse.jones',
      error: 'missing_input',
    },
    h1: 'Enter your username and password',
    error: { text: 'Enter your password', field: 'password' },
  },
  {
    name: 'password, not enrolled',
    page: { page: 'password', common, form, client_name, method_label: 'Authenticator app', error: 'not_enrolled' },
    h1: 'Enter your username and password',
    error: {
      text: 'You have not set up Authenticator app as a way to sign in. Choose another way to sign in or ask your Registration Authority (RA) for help',
      field: 'username',
    },
  },
  {
    name: 'totp',
    page: { page: 'totp', common, form, client_name, back: '/authorize/choose' },
    h1: 'Enter the code from your authenticator app',
  },
  {
    name: 'totp, wrong code',
    page: { page: 'totp', common, form, client_name, error: 'invalid_code' },
    h1: 'Enter the code from your authenticator app',
    error: { text: 'Enter the correct 6-digit code from your authenticator app', field: 'code' },
  },
  {
    name: 'totp, code reused',
    page: { page: 'totp', common, form, client_name, error: 'code_already_used' },
    h1: 'Enter the code from your authenticator app',
    error: {
      text: 'That code has already been used. Wait for your authenticator app to show a new code, then enter it',
      field: 'code',
    },
  },
  {
    name: 'totp, locked',
    page: { page: 'totp', common, form, client_name, error: 'locked', locked_minutes: 5 },
    h1: 'Enter the code from your authenticator app',
    error: { text: 'Too many incorrect codes. You can try again in 5 minutes', field: 'code' },
  },
  {
    name: 'totp, nothing entered',
    page: { page: 'totp', common, form, client_name, error: 'missing_input' },
    h1: 'Enter the code from your authenticator app',
    error: { text: 'Enter the 6-digit code from your authenticator app', field: 'code' },
  },
  {
    name: 'select_role',
    page: { page: 'select_role', common, form, client_name, person_name: 'Alex Jones', roles, searchable: false, total: 3 },
    h1: 'Choose your role',
  },
  {
    name: 'select_role, nothing chosen',
    page: {
      page: 'select_role',
      common,
      form,
      client_name,
      person_name: 'Alex Jones',
      roles,
      searchable: false,
      total: 3,
      error: 'missing_input',
    },
    h1: 'Choose your role',
    error: { text: 'Select the role you want to use', field: 'role' },
  },
  {
    name: 'select_role, searched',
    page: {
      page: 'select_role',
      common,
      form,
      client_name,
      person_name: 'Alex Jones',
      roles: roles.slice(0, 2),
      searchable: true,
      query: 'nurse',
      total: 9,
    },
    h1: 'Choose your role',
  },
  {
    name: 'select_role, search matched nothing',
    page: {
      page: 'select_role',
      common,
      form,
      client_name,
      person_name: 'Alex Jones',
      roles: [],
      searchable: true,
      query: 'pharmacist',
      total: 9,
    },
    h1: 'Choose your role',
  },
  {
    name: 'error',
    page: {
      page: 'error',
      common,
      status: 400,
      title: 'There is a problem with the sign-in request',
      description: 'Go back to the application and try again.',
      error_code: 'invalid_request',
    },
    h1: 'There is a problem with the sign-in request',
  },
  {
    name: 'error, no code',
    page: { page: 'error', common, status: 500, title: 'Sorry, there is a problem with Careid', description: 'Try again later.' },
    h1: 'Sorry, there is a problem with Careid',
  },
  {
    name: 'confirm_sign_out',
    page: {
      page: 'confirm_sign_out',
      common,
      form,
      fields: [
        { name: 'client_id', value: '123456789012.apps.national' },
        { name: 'post_logout_redirect_uri', value: 'https://rp.example/bye?x=1&y=2' },
        { name: 'state', value: '"><script>alert(1)</script>' },
      ],
      client_name,
    },
    h1: 'Do you want to sign out?',
  },
  { name: 'confirm_sign_out, no application named', page: { page: 'confirm_sign_out', common, form, fields: [] }, h1: 'Do you want to sign out?' },
  { name: 'signed_out', page: { page: 'signed_out', common }, h1: 'You have signed out' },
  {
    name: 'enrolment_code, invalid',
    page: { page: 'enrolment_code', common, form, username: 'alex.jones', error: 'invalid_code' },
    h1: 'Set up a sign-in method with an enrolment code',
    error: {
      text: 'The username or enrolment code is not right, or the code has been used or has expired. Check both, or ask your Registration Authority for a new code',
      field: 'code',
    },
  },
  { name: 'enrolment_done', page: { page: 'enrolment_done', common, method: 'totp', label: 'Authenticator app', username: 'alex.jones' }, h1: 'Authenticator app set up' },
  {
    name: 'totp_enrol, invalid code',
    page: { page: 'totp_enrol', common, form, secret: 'ABCD EFGH', otpauth_url: 'otpauth://totp/Careid:alex.jones?secret=ABCDEFGH', qr: 'data:image/png;base64,AAAA', error: 'invalid_code', back: '/account' },
    h1: 'Set up your authenticator app',
    error: { text: 'Enter the 6-digit code your authenticator app shows now for Careid', field: 'code' },
  },
  {
    name: 'demo_home',
    page: {
      page: 'demo_home',
      common: { ...common, service: 'Demo clinical app' },
      action: '/demo/login',
      acr_options: [
        { value: 'AAL1_USERPASS', label: 'Level 1', selected: false },
        { value: 'AAL2_TOTP', label: 'Level 2', selected: true },
      ],
      scope_options: [
        { value: 'profile', label: 'profile', checked: true },
        { value: 'selectedrole', label: 'selectedrole', checked: false },
      ],
      issuer: 'http://localhost:3000',
      client_id: 'demo-clinical-app',
      message: { kind: 'problem', text: 'Careid returned access_denied' },
    },
    h1: 'Demo clinical app',
  },
  {
    name: 'demo_signed_in',
    page: {
      page: 'demo_signed_in',
      common: { ...common, service: 'Demo clinical app' },
      person_name: 'Alex Jones',
      id_token_claims: JSON.stringify({ sub: '910000000001', acr: 'AAL2_TOTP', amr: ['pwd', 'otp'] }, null, 2),
      userinfo: JSON.stringify({ sub: '910000000001', name: 'Alex Jones' }, null, 2),
      summary: [
        { key: 'acr', value: 'AAL2_TOTP' },
        { key: 'Selected role', value: 'Staff Nurse at Riverside Medical Practice (Y01234)' },
      ],
      sign_out: '/demo/logout',
      sign_in_again: '/demo/login?prompt=login',
      change_role: '/demo/login?change_role=1',
    },
    h1: 'You are signed in',
  },
]

// The WebAuthn pages, one variant per kind (their errors are checked in webauthn_pages.test.ts).
const webAuthnOptions = JSON.stringify({ challenge: 'c', rpId: 'careid.test', allowCredentials: [], userVerification: 'required' })
for (const [kind, label, signIn, add] of [
  ['security_key', 'Security key', 'Sign in with your security key', 'Add a security key'],
  ['windows_hello', 'Windows Hello', 'Sign in with Windows Hello', 'Add Windows Hello'],
  ['passkey', 'Passkey', 'Sign in with a passkey', 'Add a passkey'],
] as const) {
  variants.push(
    { name: `webauthn (${kind})`, page: { page: 'webauthn', common, form, client_name, kind, method_label: label, options: webAuthnOptions, alternatives: ['Smartcard'], retry: '/retry', back: '/back' }, h1: signIn },
    { name: `webauthn_register (${kind})`, page: { page: 'webauthn_register', common, form, client_name: 'Careid', kind, method_label: label, options: webAuthnOptions, max_aal: 3, retry: '/retry' }, h1: add },
  )
}

function variant(name: string): Variant {
  const found = variants.find((v) => v.name === name)
  assert.ok(found, `no variant ${name}`)
  return found
}

// A small reading of the HTML: enough to find tags and their attributes in markup we generate.

type Attributes = Record<string, string>

function decode(text: string): string {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&')
}

/** Every `<tag ...>` start tag's attributes, in document order. */
function tags(html: string, tag: string): Attributes[] {
  return [...html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'gi'))].map((match) => {
    const attributes: Attributes = {}
    for (const [, name, value] of (match[1] ?? '').matchAll(/([\w:-]+)(?:="([^"]*)")?/g)) {
      if (name !== undefined) attributes[name] = decode(value ?? '')
    }
    return attributes
  })
}

function text(html: string): string {
  return decode(html.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim()
}

/** The text of each `<element>...</element>` (not nested in one of its own kind). */
function contents(html: string, element: string): string[] {
  return [...html.matchAll(new RegExp(`<${element}\\b[^>]*>([\\s\\S]*?)</${element}>`, 'gi'))].map((m) => m[1] ?? '')
}

/** The h1's text without its caption. */
function h1(html: string): string {
  const [inner] = contents(html, 'h1')
  assert.ok(inner !== undefined, 'no h1')
  return text(inner.replace(/<span class="nhsuk-caption-l">[\s\S]*?<\/span>/, ''))
}

/** Each form with its own attributes and inputs. */
function forms(html: string): Array<{ attributes: Attributes; inputs: Attributes[]; html: string }> {
  return [...html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/gi)].map(([formHtml]) => ({
    attributes: tags(formHtml, 'form')[0] ?? {},
    inputs: tags(formHtml, 'input'),
    html: formHtml,
  }))
}

/** Names of event-handler attributes on any start tag (quoted values, where text may hide, removed). */
function eventHandlers(html: string): string[] {
  return [...html.matchAll(/<[a-z][^>]*>/gi)].flatMap(([tag]) => tag.replace(/"[^"]*"/g, '""').match(/\son[a-z]+/gi) ?? [])
}

function title(html: string): string {
  return text(contents(html, 'title')[0] ?? '')
}

describe('every page', () => {
  for (const v of variants) {
    describe(v.name, () => {
      const html = renderPage(v.page)

      it('is one HTML document in the page language', () => {
        assert.ok(html.startsWith('<!DOCTYPE html>'))
        assert.equal(tags(html, 'html')[0]?.lang, 'en-GB')
        assert.ok(html.trimEnd().endsWith('</html>'))
      })

      it('has exactly one h1, with the expected text', () => {
        assert.equal(contents(html, 'h1').length, 1)
        assert.equal(h1(html), v.h1)
      })

      it('has no inline script, inline style or style attribute', () => {
        assert.deepEqual(
          tags(html, 'script').filter((s) => !s.src),
          [],
        )
        assert.doesNotMatch(html, /<style\b/i)
        assert.doesNotMatch(html, /<[^>]+\sstyle\s*=/i)
        assert.deepEqual(eventHandlers(html), [])
      })

      it('links its stylesheet and icons under common.assets', () => {
        const links = tags(html, 'link')
        assert.deepEqual(
          links.filter((l) => l.rel === 'stylesheet').map((l) => l.href),
          ['/assets/careid.css'],
        )
        for (const link of links) assert.ok(link.href?.startsWith('/assets/'), link.href)
      })

      it('has a skip link to the main content and no positive tabindex', () => {
        assert.ok(tags(html, 'a').some((a) => a.href === '#maincontent' && a.class === 'nhsuk-skip-link'))
        assert.equal(tags(html, 'main')[0]?.id, 'maincontent')
        for (const element of html.matchAll(/tabindex="(-?\d+)"/g)) assert.ok(Number(element[1]) <= 0)
      })

      it('labels every visible input', () => {
        const labelled = new Set(tags(html, 'label').map((l) => l.for))
        for (const input of tags(html, 'input')) {
          if (input.type === 'hidden') continue
          assert.ok(input.id && labelled.has(input.id), `input ${input.name} has no label`)
        }
      })

      it('puts a csrf token in every POST form, posting to form.action', () => {
        for (const f of forms(html).filter((f) => f.attributes.method === 'post')) {
          assert.equal(f.attributes.action, form.action)
          assert.deepEqual(
            f.inputs.filter((i) => i.name === 'csrf'),
            [{ type: 'hidden', name: 'csrf', value: form.csrf }],
          )
        }
        for (const f of forms(html)) assert.ok(['get', 'post'].includes(f.attributes.method ?? ''), 'form without method')
      })

      if (v.error) {
        const error = v.error
        it('shows the error summary first, linking to the field, and says Error in the title', () => {
          assert.ok(title(html).startsWith('Error: '), title(html))
          const [summary] = contents(html, 'main')
          assert.ok(summary !== undefined)
          assert.ok(summary.trimStart().startsWith('<div class="nhsuk-grid-row">'))
          const links = tags(summary.split('nhsuk-error-summary__list')[1] ?? '', 'a')
          assert.deepEqual(links[0], { href: `#${error.field}` })
          assert.ok(summary.indexOf('nhsuk-error-summary') < summary.indexOf('<h1'))
          assert.ok(tags(html, 'input').some((i) => i.id === error.field), `no field with id ${error.field}`)
          // The same message is in the summary and next to the field (after the hidden "Error:").
          const messages = contents(html, 'a').map(text)
          assert.ok(messages.includes(error.text), messages.join(' | '))
          assert.ok(text(html).includes(`Error: ${error.text}`))
        })
      } else {
        it('has no error summary and no "Error:" in the title', () => {
          assert.doesNotMatch(html, /nhsuk-error-summary/)
          assert.ok(!title(html).startsWith('Error:'), title(html))
          assert.ok(title(html).endsWith(` – ${v.page.common.service}`), title(html))
        })
      }
    })
  }
})

describe('choose_authenticator', () => {
  it('offers the options as radios named method, and lists unavailable ones without a radio', () => {
    const html = renderPage(variant('choose_authenticator').page)
    const [f] = forms(html)
    assert.ok(f)
    assert.equal(f.attributes.method, 'post')
    assert.deepEqual(
      f.inputs.filter((i) => i.type === 'radio').map((i) => [i.name, i.value, i.id]),
      [
        ['method', 'totp', 'method'],
        ['method', 'password', 'method-2'],
      ],
    )
    assert.ok(text(f.html).includes('Authenticator app A 6-digit code from an app on your phone'))
    assert.ok(!f.html.includes('smartcard'))
    const after = text(html.slice(html.indexOf('</form>')))
    assert.ok(after.includes('Smartcard You have not set up a smartcard'), after)
  })

  it('nothing chosen: the radios group is in its error state, described by the message, and the summary links to the first radio', () => {
    const html = renderPage(variant('choose_authenticator, nothing chosen').page)
    assert.match(html, /<div class="nhsuk-form-group nhsuk-form-group--error">\s*<fieldset class="nhsuk-fieldset" aria-describedby="method-error">/)
    assert.match(html, /<span class="nhsuk-error-message" id="method-error">\s*<span class="nhsuk-u-visually-hidden">Error: <\/span>Select how you want to sign in\s*<\/span>/)
    const [first] = forms(html)[0]?.inputs.filter((i) => i.type === 'radio') ?? []
    assert.equal(first?.id, 'method')
    assert.deepEqual(tags(html.split('nhsuk-error-summary__list')[1] ?? '', 'a')[0], { href: `#${first?.id}` })
  })

  it('explains, without a form, when no sign-in method meets the assurance level', () => {
    const html = renderPage(variant('choose_authenticator, no options').page)
    assert.deepEqual(forms(html), [])
    assert.deepEqual(tags(html, 'input'), [])
    assert.ok(text(html).includes('None of your sign-in methods meets the assurance level that Summary Care Record requires'))
    assert.ok(text(html).includes('Username and password Level 1 is below the level 3 required'))
  })
})

describe('password', () => {
  it('asks for username and current password, with a back link', () => {
    const html = renderPage(variant('password').page)
    const [f] = forms(html)
    assert.ok(f)
    const fields = f.inputs.filter((i) => i.type !== 'hidden')
    assert.deepEqual(
      fields.map((i) => [i.name, i.type, i.autocomplete]),
      [
        ['username', 'text', 'username'],
        ['password', 'password', 'current-password'],
      ],
    )
    assert.equal(fields[0]?.value, undefined)
    assert.ok(tags(html, 'a').some((a) => a.href === '/authorize/choose' && a.class === 'nhsuk-back-link'))
    assert.ok(text(html).includes('Sign in to Summary Care Record'))
    assert.equal(title(html), 'Enter your username and password – Careid')
  })

  it('keeps the username but never the password after a failed attempt, and does not say which was wrong', () => {
    const html = renderPage(variant('password, invalid credentials').page)
    const inputs = tags(html, 'input')
    assert.equal(inputs.find((i) => i.name === 'username')?.value, 'nurse.jones')
    assert.equal(inputs.find((i) => i.name === 'password')?.value, undefined)
    assert.doesNotMatch(text(html), /(password|username) (is|was) (wrong|incorrect)/i)
    assert.equal(inputs.find((i) => i.name === 'username')?.['aria-describedby'], 'username-error')
  })

  it('has no back link when there was no choice of authenticator', () => {
    const html = renderPage(variant('password, locked').page)
    assert.ok(!tags(html, 'a').some((a) => a.class === 'nhsuk-back-link'))
  })

  it('begun as the method last used: a "Use another way to sign in" link to the choice, after the form; none otherwise', () => {
    const html = renderPage(variant('password, the method last used').page)
    const links = tags(html, 'a').filter((a) => a.id === 'another-way')
    assert.deepEqual(links.map((a) => [a.href, a.class]), [['/authorize/choose', 'nhsuk-link']])
    assert.ok(text(html).includes('Use another way to sign in'))
    assert.ok(html.indexOf('id="another-way"') > html.indexOf('</form>'))
    assert.ok(!renderPage(variant('password').page).includes('Use another way'))
  })
})

describe('totp', () => {
  it('asks for the code as a numeric one-time code, its label being the h1', () => {
    const html = renderPage(variant('totp').page)
    const [code] = tags(html, 'input').filter((i) => i.type !== 'hidden')
    assert.equal(code?.name, 'code')
    assert.equal(code?.id, 'code')
    assert.equal(code?.inputmode, 'numeric')
    assert.equal(code?.autocomplete, 'one-time-code')
    assert.match(html, /<h1 class="nhsuk-label-wrapper">\s*<label class="nhsuk-label nhsuk-label--l" for="code">/)
  })
})

describe('select_role', () => {
  it('offers each role as a radio named role, labelled by job role and organisation', () => {
    const html = renderPage(variant('select_role').page)
    const [f, ...others] = forms(html)
    assert.ok(f)
    assert.deepEqual(others, [])
    assert.deepEqual(
      f.inputs.filter((i) => i.type === 'radio').map((i) => [i.name, i.value]),
      roles.map((r) => ['role', r.person_roleid]),
    )
    const labels = contents(f.html, 'label').map(text)
    assert.deepEqual(labels, [
      'Staff Nurse at Nottingham University Hospitals NHS Trust (RX1)',
      'Nurse Practitioner at Riverside Medical Practice (Y01234)',
      'RA Agent at Nottingham University Hospitals NHS Trust (RX1)',
    ])
    assert.ok(text(f.html).includes('Clinical / Clinical Provision / Nurse Access Role'))
    assert.ok(text(f.html).includes('Admin & Clerical / Management - A & C / Registration Authority Agent'))
    assert.ok(!text(html).includes('Showing'))
    assert.ok(!tags(html, 'input').some((i) => i.name === 'query'))
  })

  it('puts a GET search form above the list when searchable, and says how many are shown', () => {
    const html = renderPage(variant('select_role, searched').page)
    const [search, choose] = forms(html)
    assert.ok(search && choose)
    assert.equal(search.attributes.method, 'get')
    assert.equal(search.attributes.action, form.action)
    assert.deepEqual(
      search.inputs.map((i) => [i.name, i.value]),
      [['query', 'nurse']],
    )
    assert.ok(!search.inputs.some((i) => i.name === 'csrf'))
    assert.equal(choose.attributes.method, 'post')
    assert.equal(choose.inputs.filter((i) => i.type === 'radio').length, 2)
    assert.ok(text(choose.html).includes('Showing 2 of 9 roles'))
    assert.ok(tags(html, 'a').some((a) => a.href === form.action))
  })

  it('says when a search matched nothing, keeping the search form', () => {
    const html = renderPage(variant('select_role, search matched nothing').page)
    assert.deepEqual(
      forms(html).map((f) => f.attributes.method),
      ['get'],
    )
    assert.match(html, /No roles match <strong>pharmacist<\/strong>\. Showing 0 of 9 roles\./)
  })
})

describe('error and signed_out', () => {
  it('shows the description and, small, the error code and status', () => {
    const html = renderPage(variant('error').page)
    assert.ok(text(html).includes('Go back to the application and try again.'))
    assert.match(html, /<p class="nhsuk-body-s[^"]*">Error code: invalid_request<br>\s*HTTP status 400\s*<\/p>/)
    assert.equal(title(html), 'There is a problem with the sign-in request – Careid')
  })

  it('leaves out the error code when there is none', () => {
    const html = renderPage(variant('error, no code').page)
    assert.ok(!text(html).includes('Error code'))
    assert.ok(text(html).includes('HTTP status 500'))
  })

  it('asks to confirm a sign-out with one POST form: the token, the confirm field and the request\'s fields, escaped', () => {
    const html = renderPage(variant('confirm_sign_out').page)
    const [only, ...others] = forms(html)
    assert.equal(others.length, 0)
    assert.deepEqual(only?.attributes.method, 'post')
    assert.deepEqual(only?.attributes.action, form.action)
    const hidden = Object.fromEntries((only?.inputs ?? []).filter((i) => i.type === 'hidden').map((i) => [i.name, i.value]))
    assert.deepEqual(hidden, {
      csrf: 'csrf-Zx9_token',
      confirm: 'sign_out',
      client_id: '123456789012.apps.national',
      post_logout_redirect_uri: 'https://rp.example/bye?x=1&y=2',
      state: '"><script>alert(1)</script>',
    })
    assert.ok(!html.includes('<script>alert'), 'the state is escaped')
    assert.ok(text(html).includes(`${client_name} asked Careid to sign you out.`))
    assert.ok(text(renderPage(variant('confirm_sign_out, no application named').page)).includes('An application asked Careid to sign you out.'))
  })

  it('has no form on the signed-out page', () => {
    assert.deepEqual(forms(renderPage(variant('signed_out').page)), [])
  })
})

describe('demo pages', () => {
  it('home: a GET form with acr_values radios, scope and prompt checkboxes, and the connection details', () => {
    const html = renderPage(variant('demo_home').page)
    const [f] = forms(html)
    assert.ok(f)
    assert.deepEqual(f.attributes, { action: '/demo/login', method: 'get', novalidate: '' })
    assert.deepEqual(
      f.inputs.map((i) => [i.type, i.name, i.value, 'checked' in i]),
      [
        ['radio', 'acr_values', 'AAL1_USERPASS', false],
        ['radio', 'acr_values', 'AAL2_TOTP', true],
        ['checkbox', 'scope', 'profile', true],
        ['checkbox', 'scope', 'selectedrole', false],
        ['checkbox', 'prompt', 'login', false],
      ],
    )
    assert.match(f.html, /<button[^>]*type="submit">\s*Sign in\s*<\/button>/)
    const details = text(contents(html, 'dl')[0] ?? '')
    assert.equal(details, 'Issuer http://localhost:3000 Client ID demo-clinical-app')
    assert.ok(text(html).includes('Careid returned access_denied'))
    assert.equal(title(html), 'Demo clinical app – Demo clinical app')
  })

  it('signed in: the summary, the claims and userinfo as code, and the three links', () => {
    const html = renderPage(variant('demo_signed_in').page)
    assert.equal(text(contents(html, 'dl')[0] ?? ''), 'acr AAL2_TOTP Selected role Staff Nurse at Riverside Medical Practice (Y01234)')
    const blocks = contents(html, 'pre').map((pre) => decode(contents(pre, 'code')[0] ?? ''))
    assert.deepEqual(blocks.map((b) => JSON.parse(b)), [
      { sub: '910000000001', acr: 'AAL2_TOTP', amr: ['pwd', 'otp'] },
      { sub: '910000000001', name: 'Alex Jones' },
    ])
    const hrefs = tags(html, 'a').map((a) => a.href)
    for (const href of ['/demo/logout', '/demo/login?prompt=login', '/demo/login?change_role=1']) assert.ok(hrefs.includes(href), href)
  })
})

describe('escaping', () => {
  const hostile = `"'><script>alert(1)</script><b onmouseover="x">&amp;`

  /** The page with every string replaced by a hostile one, except the tags that pick the page and error. */
  function poisoned(value: unknown, key?: string): unknown {
    if (typeof value === 'string') return key === 'page' || key === 'error' ? value : `${value}${hostile}`
    if (Array.isArray(value)) return value.map((item) => poisoned(item))
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, poisoned(v, k)]))
    }
    return value
  }

  for (const v of variants) {
    it(`escapes every string in ${v.name}`, () => {
      const html = renderPage(poisoned(v.page) as Page)
      // No script but the pages' own files (the WebAuthn pages load theirs from common.assets).
      assert.doesNotMatch(html, /<script(?! src=")/i)
      assert.doesNotMatch(html, /<b onmouseover/i)
      assert.deepEqual(eventHandlers(html), [])
      assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'))
      // Escaped once, not twice: `&amp;amp;` in the source shows as the text "&amp;".
      assert.ok(html.includes('&amp;amp;'))
      assert.ok(!html.includes('&amp;amp;amp;'))
    })
  }

  it('shows a client_name holding <script> as text', () => {
    const page = variant('choose_authenticator').page
    const html = renderPage({ ...page, client_name: '<script>alert("x")</script>' } as Page)
    assert.ok(html.includes('Sign in to &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'))
    assert.ok(text(html).includes('Sign in to <script>alert("x")</script>'))
    assert.doesNotMatch(html, /<script/i)
  })

  it('keeps a hostile value inside its attribute', () => {
    const page = variant('password, invalid credentials').page
    const html = renderPage({ ...page, username: '" autofocus onfocus="alert(1)' } as Page)
    const username = tags(html, 'input').find((i) => i.name === 'username')
    assert.equal(username?.value, '" autofocus onfocus="alert(1)')
    assert.ok(username && !('onfocus' in username) && !('autofocus' in username))
  })
})

describe('rendering many pages', () => {
  it('renders 1,000 pages, each complete', () => {
    for (let i = 0; i < 1000; i++) {
      const v = variants[i % variants.length]
      assert.ok(v)
      // A fresh token each time, as per request, must appear in place.
      const page = 'form' in v.page ? { ...v.page, form: { ...v.page.form, csrf: `token-${i}` } } : v.page
      const html = renderPage(page)
      assert.ok(html.trimEnd().endsWith('</html>'))
      if ('form' in page) assert.ok(!forms(html).some((f) => f.attributes.method === 'post') || html.includes(`value="token-${i}"`))
    }
  })
})

describe('assetsDirectories', () => {
  it('serves careid.css at /assets/ and nhsuk-frontend images at /assets/nhsuk/', () => {
    const directories = assetsDirectories()
    const root = (prefix: string) => directories.find((d) => d.prefix === prefix)?.root
    const ours = root('/assets/')
    const nhsuk = root('/assets/nhsuk/')
    assert.ok(ours && nhsuk)
    assert.ok(existsSync(join(ours, 'careid.css')))
    for (const icon of ['favicon.ico', 'favicon.svg', 'nhsuk-icon-180.png']) assert.ok(existsSync(join(nhsuk, 'images', icon)), icon)
    // Every asset a page links to is in one of the directories.
    for (const v of variants) {
      for (const link of tags(renderPage(v.page), 'link')) {
        const href = link.href ?? ''
        const dir = [...directories].sort((a, b) => b.prefix.length - a.prefix.length).find((d) => href.startsWith(d.prefix))
        assert.ok(dir && existsSync(join(dir.root, href.slice(dir.prefix.length))), href)
      }
    }
  })
})

// The account page posts to two actions (remove, add), each form with the page's token, and its
// errors are about the page's list rather than one field: checked here rather than as a variant.
describe('the account page', () => {
  const page: Page = {
    page: 'account',
    common,
    person_name: 'Alex <Jones>',
    username: 'alex.jones',
    aal: 1,
    remove: { action: '/account/remove', csrf: 'csrf-Zx9_token' },
    add: { action: '/account/add', csrf: 'csrf-Zx9_token' },
    credentials: [
      { kind: 'password', id: 'c1', label: 'Password', added: '6 December 2026', details: '', removable: false },
      { kind: 'test_key', id: 'c"2', label: 'Key', added: '6 December 2026', details: 'aaguid: x', removable: true },
    ],
    methods: [{ method: 'password_reset', label: 'Another', description: 'Something at AAL1' }],
    stronger: [{ method: 'totp', label: 'Authenticator app', description: 'A 6-digit code', sign_in: '/account/sign-in?level=2', level: 2 }],
    notice: 'Key added',
    sign_out: '/connect/endSession',
    error: 'last_method',
  }
  const html = renderPage(page)

  it('gives every credential that may go its own Remove form with the token, and says which is the last', () => {
    const removals = forms(html).filter((f) => f.attributes.action === '/account/remove')
    assert.equal(removals.length, 1)
    assert.deepEqual(removals[0]?.inputs.map((i) => [i.name, i.value]), [['csrf', 'csrf-Zx9_token'], ['kind', 'test_key'], ['id', 'c"2']])
    assert.ok(text(html).includes('Your only way to sign in'))
  })

  it('offers the methods it may add, each a form with the token, and a stronger sign-in for the others', () => {
    const adds = forms(html).filter((f) => f.attributes.action === '/account/add')
    assert.deepEqual(adds.map((f) => f.inputs.map((i) => [i.name, i.value])), [[['csrf', 'csrf-Zx9_token'], ['method', 'password_reset']]])
    assert.ok(tags(html, 'a').some((a) => a.href === '/account/sign-in?level=2'))
  })

  it('escapes what it shows, says what changed, and names the problem in the summary', () => {
    assert.ok(html.includes('Alex &lt;Jones&gt;'))
    assert.ok(text(html).includes('Key added'))
    assert.ok(title(html).startsWith('Error: '))
    assert.ok(text(html).includes('You cannot remove your only way to sign in.'))
    assert.doesNotMatch(html, /<script|style=/)
  })
})
