/**
 * An accessibility check for a page open in a browser test: axe-core's WCAG 2.2 AA rules and its
 * best practices, run on the page as it is now (one call per page, after it has settled). axe is
 * put into the page through the DevTools protocol (playwright's evaluate), which the pages' strict
 * Content-Security-Policy does not govern, so the check runs in the same context as the journey.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Page } from 'playwright-core'

/** The rule sets every page must pass: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices. */
export const axeTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']

let axeSource: string | undefined

interface AxeViolation {
  id: string
  impact: string | null
  help: string
  helpUrl: string
  nodes: { target: unknown[] }[]
}

/** Runs axe on `page` and fails, naming each violation (rule, what it asks, where), unless there is none. */
export async function assertAccessible(page: Page, name: string): Promise<void> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
  // Evaluated as text: the project compiles without DOM types. axe is loaded once per document.
  if ((await page.evaluate('window.axe === undefined')) === true) await page.evaluate(axeSource)
  const violations = (await page.evaluate(
    `window.axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(axeTags)} }, resultTypes: ['violations'] }).then((result) =>
      result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, nodes: v.nodes.map((n) => ({ target: n.target })) })))`,
  )) as AxeViolation[]
  const report = violations.map((v) => `${v.id} (${v.impact ?? 'no impact'}): ${v.help}\n${v.nodes.map((n) => `    at ${JSON.stringify(n.target)}`).join('\n')}\n    ${v.helpUrl}`)
  assert.deepEqual(report, [], `${name}: axe found accessibility problems on ${page.url()}`)
}
