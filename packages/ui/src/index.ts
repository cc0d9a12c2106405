export type * from './pages.ts'
export { renderPage } from './render.ts'
export { assetsDirectories } from './assets.ts'
