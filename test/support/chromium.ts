/**
 * Debian's Chromium driven by playwright-core, launched the same way by every browser test (never a
 * browser download): headless, no sandbox (tests run as root), and no background networking, whose
 * connections this machine's closed network would refuse. A suite that launches it declares
 * `requires(chromium)` (./system_packages.ts).
 */
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { chromium as chromiumPackage } from './system_packages.ts'

/** A fresh browser profile in `userDataDir` and its first page, reporting CSP violations in its console. */
export async function launchChromium(userDataDir: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPackage.path,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  const page = context.pages()[0] ?? (await context.newPage())
  // Chromium reports CSP violations as console errors; the event makes them explicit as well.
  await page.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI))",
  })
  return { context, page }
}
