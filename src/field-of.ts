/** A property of a value of unknown shape (a thrown error, an unvalidated request part): undefined when it has none. */
export function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && key in value ? Reflect.get(value, key) : undefined;
}
