// Builds nhsuk-frontend's stylesheet without its web-font import, so pages render offline
// and under a strict Content-Security-Policy (style-src 'self', no third-party fonts).
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as sass from 'sass'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'packages/ui/public/careid.css')
const source = `
@use "nhsuk-frontend/dist/nhsuk" with ($nhsuk-include-font-face: false);
@use "${join(root, 'packages/ui/styles/careid.scss').replaceAll('\\', '/')}";
`
const result = sass.compileString(source, {
  loadPaths: [join(root, 'node_modules')],
  style: 'compressed',
  quietDeps: true,
  silenceDeprecations: ['import'],
})
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, result.css)
