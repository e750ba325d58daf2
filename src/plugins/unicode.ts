/**
 * JSON bodies are valid Unicode or a 400: a lone surrogate ("\ud800") parses in JavaScript, but the
 * database driver would store it as U+FFFD, altering the value without a word.
 */
import fp from 'fastify-plugin';
import { HttpError } from './errors.js';

/** With the u flag, a surrogate pair is one code point: only a lone surrogate matches. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Where the first string or field name holding a lone surrogate is, e.g. "body.items.0.sku". */
function invalidUnicodeAt(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (LONE_SURROGATE.test(key)) return `a field name in ${path}`;
    const found = invalidUnicodeAt(child, `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}

export default fp(
  async (app) => {
    const parseJson = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      parseJson(request, String(body), (error, value) => {
        if (error) return done(error);
        const where = invalidUnicodeAt(value, 'body');
        if (where) return done(new HttpError(400, 'FST_ERR_VALIDATION', `${where} is not valid Unicode (a lone surrogate)`));
        done(null, value);
      });
    });
  },
  { name: 'unicode', dependencies: ['errors'] },
);
