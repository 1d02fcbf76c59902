// `npm test` runs the unit tests with node's own test runner on what
// tsc -p tests/unit (tsconfig.json here) emits into node_modules/.cache/citytwin-unit.
// The sources import each other without an extension, as Vite wants, and
// node would take the emitted files for CommonJS (they sit below
// node_modules): this hook resolves "./store" to "./store.js" and loads
// those files as ES modules.

import { register } from 'node:module';

const hooks = `
const OUT = '/node_modules/.cache/citytwin-unit/';
export async function resolve(specifier, context, next) {
  if (context.parentURL?.includes(OUT) && /^\\.\\.?\\//.test(specifier) && !/\\.[cm]?js$/.test(specifier)) {
    return next(specifier + '.js', context);
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (url.startsWith('file:') && url.includes(OUT) && url.endsWith('.js')) return next(url, { ...context, format: 'module' });
  return next(url, context);
}`;

register('data:text/javascript,' + encodeURIComponent(hooks), import.meta.url);
