/**
 * JSON bodies are taken exactly as sent, or refused with a 4xx; never altered in silence:
 * - bytes that are not UTF-8 are a 400 (decoded leniently they became U+FFFD);
 * - a lone surrogate ("\ud800") is a 400: it parses in JavaScript, but the database driver would
 *   store it as U+FFFD;
 * - a number that a JavaScript number cannot hold as written is a 400: `1e400` (Infinity, stored
 *   as null), `1e-400` (0), 30 significant digits (rounded);
 * - a body sent compressed (Content-Encoding other than identity) is a 415: it was read as plain JSON;
 * - a string holding U+0000 (NUL) is a 400 naming its field (PostgreSQL's text cannot hold it);
 * - a field name twice in one object is a 400 (the last one silently won), and so is a body nested
 *   deeper than MAX_DEPTH levels.
 */
import fp from 'fastify-plugin';
import { HttpError } from '../errors.js';
import { jsonStructure } from '../json-structure.js';

/** Far deeper than any body the API takes (an order's lines nest 2 levels of objects and arrays). */
export const MAX_DEPTH = 32;

/** With the u flag, a surrogate pair is one code point: only a lone surrogate matches. */
const LONE_SURROGATE = /\p{Cs}/u;
/** A surrogate, or a \\u escape of one (or a backslash that only looks like one): where a lone one may be. */
const MAY_HOLD_SURROGATE = /\\u[dD][89a-fA-F]|[\uD800-\uDFFF]/;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

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
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      let text: string;
      try {
        text = typeof body === 'string' ? body : UTF8.decode(body); // a Buffer: parseAs 'buffer'
      } catch {
        return done(new HttpError(400, 'FST_ERR_VALIDATION', 'body is not valid UTF-8'));
      }
      const structure = jsonStructure(text, MAX_DEPTH);
      if (structure.tooDeep)
        return done(
          new HttpError(400, 'FST_ERR_VALIDATION', `body nests deeper than ${MAX_DEPTH} levels of objects and arrays, the most taken`),
        );
      void parseJson(request, text, (error, value) => {
        if (error) return done(error);
        if (structure.nul)
          return done(
            new HttpError(400, 'FST_ERR_VALIDATION', `${structure.nul} holds the character U+0000 (NUL), which text cannot hold`),
          );
        if (structure.duplicate) {
          const { key, path } = structure.duplicate;
          return done(
            new HttpError(
              400,
              'FST_ERR_VALIDATION',
              `${path} has the field ${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)} twice: send each field once`,
            ),
          );
        }
        // the walk only where a text may hold one: most bodies have no surrogate at all
        const where = MAY_HOLD_SURROGATE.test(text) ? invalidUnicodeAt(value, 'body') : undefined;
        if (where) return done(new HttpError(400, 'FST_ERR_VALIDATION', `${where} is not valid Unicode (a lone surrogate)`));
        const number = structure.alteredNumber;
        if (number !== undefined) {
          const shown = number.length > 40 ? `${number.slice(0, 40)}…` : number;
          return done(
            new HttpError(
              400,
              'FST_ERR_VALIDATION',
              `body holds the number ${shown}, which cannot be kept exactly (out of range or too many digits)`,
            ),
          );
        }
        done(null, value);
      });
    });
    // before the body is read: a compressed body would be parsed as if it were plain JSON
    app.addHook('onRequest', async (request) => {
      const encoding = request.headers['content-encoding']?.trim().toLowerCase();
      const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
      if (hasBody && encoding && encoding !== 'identity') {
        throw new HttpError(
          415,
          'FST_ERR_CTP_INVALID_MEDIA_TYPE',
          `Content-Encoding ${encoding.slice(0, 40)} is not supported: send the body uncompressed`,
        );
      }
    });
  },
  { name: 'json-body', dependencies: ['errors'] },
);
