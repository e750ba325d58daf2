/**
 * What JSON.parse does not say about a JSON text: a field name that an object holds twice (the last
 * one silently wins), how deep it nests, and where a string holds U+0000 (NUL), which PostgreSQL's
 * text cannot store (it was a 400 naming no field). No parser we use offers either (secure-json-parse,
 * Fastify's, checks only `__proto__` and `constructor`); this scans the text once.
 */
/** Where the string opened by the quote at `start` ends (its closing quote), or -1. */
function stringEnd(text: string, start: number): number {
  for (let end = text.indexOf('"', start + 1); end >= 0; end = text.indexOf('"', end + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === 92) backslashes++;
    if (backslashes % 2 === 0) return end;
  }
  return -1;
}

interface Container {
  /** The container holding this one, and where in it this one is: the path is written only for a message. */
  parent?: Container;
  at?: string | number;
  /** An object's field names so far; an array has none. */
  keys?: Set<string>;
  expectKey: boolean;
  key?: string;
  index: number;
}

export interface JsonStructure {
  /** The nesting went deeper than the limit (the scan stopped there). */
  tooDeep: boolean;
  /** The first field name found twice in one object, and where that object is (e.g. "body.items.0"). */
  duplicate?: { key: string; path: string };
  /** The first string holding U+0000: its field (e.g. "body.name"), or "a field name in body.x". */
  nul?: string;
}

export function jsonStructure(text: string, maxDepth: number, root = 'body'): JsonStructure {
  const pathOf = (container: Container): string => (container.parent ? `${pathOf(container.parent)}.${container.at}` : root);
  const stack: Container[] = [];
  let duplicate: JsonStructure['duplicate'];
  let nul: string | undefined;
  const decode = (literal: string) => {
    if (!literal.includes('\\')) return literal.slice(1, -1);
    try {
      return JSON.parse(literal) as string; // "a" and "\u0061" are one name
    } catch {
      return literal; // not JSON: the parser says so
    }
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = stack.at(-1);
    if (c === '"') {
      const end = stringEnd(text, i);
      if (end < 0) break; // not JSON: the parser says so
      const literal = text.slice(i, end + 1);
      const isKey = Boolean(top?.keys && top.expectKey);
      if (!nul && literal.includes('\\u0000') && decode(literal).includes('\0')) {
        nul = !top ? root : isKey ? `a field name in ${pathOf(top)}` : `${pathOf(top)}.${top.keys ? top.key : top.index}`;
      }
      if (top?.keys && isKey) {
        const key = decode(literal);
        if (!duplicate && top.keys.has(key)) duplicate = { key, path: pathOf(top) };
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i += literal.length - 1;
    } else if (c === '{' || c === '[') {
      const at = top && (top.keys ? top.key : top.index);
      stack.push({ parent: top, at, keys: c === '{' ? new Set() : undefined, expectKey: c === '{', index: 0 });
      if (stack.length > maxDepth) return { tooDeep: true, duplicate, nul };
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',' && top) {
      if (top.keys) top.expectKey = true;
      else top.index++;
    }
  }
  return { tooDeep: false, duplicate, nul };
}
