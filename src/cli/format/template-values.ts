/**
 * How JavaScript values play Go's types inside templates:
 * - undefined is Go's "no value" (a missing map key); null is a nil interface.
 * - numbers are ints when integral, float64 otherwise; strings, booleans as themselves.
 * - arrays are slices; Maps and plain objects (JSON data) are maps with string keys.
 * - other objects (class instances: the CLI's row contexts) are structs: their fields, getters
 *   and methods are looked up by name, and a missing one is an error, as in Go.
 */

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Maps in Go's sense: JS Maps and plain objects. */
export function isMapLike(v: unknown): v is Map<unknown, unknown> | Record<string, unknown> {
  return v instanceof Map || isPlainObject(v);
}

/** A struct-like value: any object that is not an array, Map, plain object, or function. */
export function isStructLike(v: unknown): v is object {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !isMapLike(v);
}

/** Go's name for the value's type, as %T and error messages print it. */
export function goTypeName(v: unknown): string {
  if (v === undefined || v === null) return "<nil>";
  switch (typeof v) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "number":
      return Number.isInteger(v) && !Object.is(v, -0) ? "int" : "float64";
    case "bigint":
      return "int64";
    case "function":
      return "func";
  }
  if (Array.isArray(v)) return v.length > 0 && v.every((e) => typeof e === "string") ? "[]string" : "[]interface {}";
  if (v instanceof Uint8Array) return "[]uint8";
  if (isMapLike(v)) return "map[string]interface {}";
  if (v instanceof Date) return "time.Time";
  const ctor = (v as { constructor?: { name?: string } }).constructor;
  return ctor?.name || "struct";
}

/** Go's isTrue: false, 0, "", nil, and empty slices and maps are false; structs are true. */
export function isTruthy(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  switch (typeof v) {
    case "boolean":
      return v;
    case "number":
      return v !== 0 && !Number.isNaN(v);
    case "bigint":
      return v !== 0n;
    case "string":
      return v.length > 0;
    case "function":
      return true;
  }
  if (Array.isArray(v) || v instanceof Uint8Array) return v.length > 0;
  if (v instanceof Map || v instanceof Set) return v.size > 0;
  if (isPlainObject(v)) return Object.keys(v).length > 0;
  return true;
}

export type FieldLookup =
  | { kind: "value"; value: unknown; fromMap: boolean }
  | { kind: "missingKey" } // a map without the key: Go yields "no value"
  | { kind: "noField" }; // a struct (or scalar) without the field: Go's error

/** Finds `.name` on a receiver the way Go's evalField does for maps and structs. */
export function lookupField(receiver: unknown, name: string): FieldLookup {
  if (receiver instanceof Map) {
    return receiver.has(name) ? { kind: "value", value: receiver.get(name), fromMap: true } : { kind: "missingKey" };
  }
  if (isPlainObject(receiver)) {
    return Object.prototype.hasOwnProperty.call(receiver, name)
      ? { kind: "value", value: receiver[name], fromMap: true }
      : { kind: "missingKey" };
  }
  if (isStructLike(receiver) && name in receiver && !isObjectPrototypeMember(receiver, name)) {
    return { kind: "value", value: (receiver as Record<string, unknown>)[name], fromMap: false };
  }
  return { kind: "noField" };
}

/** `constructor`, `toString`, ... are JavaScript plumbing, not template fields. */
function isObjectPrototypeMember(receiver: object, name: string): boolean {
  let o: object | null = receiver;
  while (o !== null && o !== Object.prototype) {
    if (Object.prototype.hasOwnProperty.call(o, name)) return name === "constructor";
    o = Object.getPrototypeOf(o) as object | null;
  }
  return true;
}

/** Go's fmtsort order for map keys: numbers numerically, strings bytewise, then the rest. */
export function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const sa = String(a);
  const sb = String(b);
  if (typeof a === typeof b) return sa < sb ? -1 : sa > sb ? 1 : 0;
  return typeof a < typeof b ? -1 : 1;
}

/** A map's entries in Go's iteration order for templates and printing (sorted keys). */
export function sortedEntries(m: Map<unknown, unknown> | Record<string, unknown>): [unknown, unknown][] {
  const entries: [unknown, unknown][] = m instanceof Map ? [...m.entries()] : Object.entries(m);
  return entries.sort((x, y) => compareKeys(x[0], y[0]));
}

/** Go's len(s) counts UTF-8 bytes. */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, "utf8");
}
