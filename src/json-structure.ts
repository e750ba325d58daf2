/**
 * What JSON.parse does not say about a JSON text: a field name that an object holds twice (the last
 * one silently wins), how deep it nests, where a string holds U+0000 (NUL), which PostgreSQL's
 * text cannot store (it was a 400 naming no field), and a number that parses to another value than
 * it says. No parser we use offers these (secure-json-parse, Fastify's, checks only `__proto__` and
 * `constructor`); this scans the text once, by character codes, stepping over each string whole.
 */

interface Container {
  /** The container holding this one, and where in it this one is: the path is written only for a message. */
  parent?: Container;
  at?: string | number;
  /** An object's field names so far; an array has none. A list while short (faster than a set), then a set too. */
  keys?: string[];
  keySet?: Set<string>;
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
  /** The first number that a JavaScript number cannot hold as written: `1e400`, `1e-400`, 30 significant digits. */
  alteredNumber?: string;
}

const QUOTE = '"'.charCodeAt(0);
const BACKSLASH = '\\'.charCodeAt(0);
const COMMA = ','.charCodeAt(0);
const OPEN_OBJECT = '{'.charCodeAt(0);
const CLOSE_OBJECT = '}'.charCodeAt(0);
const OPEN_ARRAY = '['.charCodeAt(0);
const CLOSE_ARRAY = ']'.charCodeAt(0);
const MINUS = '-'.charCodeAt(0);
const PLUS = '+'.charCodeAt(0);
const DOT = '.'.charCodeAt(0);
const ZERO = '0'.charCodeAt(0);
const NINE = '9'.charCodeAt(0);
const LOWER_E = 'e'.charCodeAt(0);
const UPPER_E = 'E'.charCodeAt(0);
const isDigit = (c: number) => c >= ZERO && c <= NINE;
/** What a number literal may be made of. */
const inNumber = (c: number) => isDigit(c) || c === DOT || c === LOWER_E || c === UPPER_E || c === MINUS || c === PLUS;

/** Where the string opened by the quote at `start` ends (its closing quote), or -1. */
function stringEnd(text: string, start: number): number {
  for (let end = text.indexOf('"', start + 1); end >= 0; end = text.indexOf('"', end + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end;
  }
  return -1;
}

/** A string literal's value: "a" and "\u0061" are one name. */
function decoded(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal; // not JSON: the parser says so
  }
}

/** A decimal literal as digits without leading or trailing zeros and a power of ten: "120.50" -> 1205e-1. */
function decimal(literal: string): { digits: string; exponent: number } {
  const [mantissa = '', exp = '0'] = literal.replace(/^-/, '').toLowerCase().split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  let digits = (whole + fraction).replace(/^0+/, '');
  let exponent = Number(exp) - fraction.length;
  const trailing = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trailing);
  exponent += trailing;
  return digits ? { digits, exponent } : { digits: '0', exponent: 0 };
}

/**
 * Whether a number literal parses to another value than it says (JavaScript prints a number's
 * shortest exact form, which a faithful literal equals). Without an exponent and under 16
 * characters it holds at most 15 significant digits, which a double holds exactly.
 */
function isAltered(literal: string): boolean {
  if (literal.length < 16 && !/[eE]/.test(literal)) return false;
  const value = Number(literal);
  if (String(value) === literal) return false;
  if (!Number.isFinite(value)) return true;
  const sent = decimal(literal);
  const held = decimal(String(Math.abs(value)));
  return sent.digits !== held.digits || sent.exponent !== held.exponent;
}

/** Past this many field names an object's are looked up in a set: a body of many names stays linear. */
const LISTED_KEYS = 32;
const hasKey = (object: Container, key: string) => (object.keySet ? object.keySet.has(key) : object.keys!.includes(key));
function addKey(object: Container, key: string) {
  if (object.keySet) object.keySet.add(key);
  else if (object.keys!.push(key) > LISTED_KEYS) object.keySet = new Set(object.keys);
}

export function jsonStructure(text: string, maxDepth: number, root = 'body'): JsonStructure {
  const pathOf = (container: Container): string => (container.parent ? `${pathOf(container.parent)}.${container.at}` : root);
  let depth = 0;
  let top: Container | undefined;
  let duplicate: JsonStructure['duplicate'];
  let nul: string | undefined;
  let alteredNumber: string | undefined;
  // the first backslash at or after the string being read: a string without one is its text as written
  let backslash = -2;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) break; // not JSON: the parser says so
      if (backslash < i && backslash !== -1) backslash = text.indexOf('\\', i);
      const escaped = backslash !== -1 && backslash < end;
      const isKey = top?.keys !== undefined && top.expectKey;
      // a string with an escape is decoded once, for the NUL it may hold and for the name it may be
      const literal = escaped ? text.slice(i, end + 1) : undefined;
      const value = literal !== undefined && (isKey || (!nul && literal.includes('\\u0000'))) ? decoded(literal) : undefined;
      if (!nul && value?.includes('\0')) {
        nul = !top ? root : isKey ? `a field name in ${pathOf(top)}` : `${pathOf(top)}.${top.keys ? top.key : top.index}`;
      }
      if (isKey) {
        const key = value ?? text.slice(i + 1, end);
        if (!duplicate && hasKey(top!, key)) duplicate = { key, path: pathOf(top!) };
        addKey(top!, key);
        top!.key = key;
        top!.expectKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const at = top && (top.keys ? top.key : top.index);
      top = { parent: top, at, keys: c === OPEN_OBJECT ? [] : undefined, expectKey: c === OPEN_OBJECT, index: 0 };
      if (++depth > maxDepth) return { tooDeep: true, duplicate, nul, alteredNumber };
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      top = top?.parent;
      depth--;
    } else if (c === COMMA && top) {
      if (top.keys) top.expectKey = true;
      else top.index++;
    } else if (c === MINUS || isDigit(c)) {
      let end = i + 1;
      while (end < text.length && inNumber(text.charCodeAt(end))) end++;
      if (!alteredNumber) {
        const literal = text.slice(i, end);
        if (isAltered(literal)) alteredNumber = literal;
      }
      i = end - 1;
    }
  }
  return { tooDeep: false, duplicate, nul, alteredNumber };
}
