/**
 * GUEST CODE. A TypeBox-compatible `Type` builder for the virtual modules `typebox` and `@sinclair/typebox`: the
 * builders tools use for `parameters`, producing the same JSON Schema as TypeBox 1.x (compared key by key in
 * test/sandbox/typebox.test.ts against the real `typebox`). Optionality is kept in a non-enumerable marker, as
 * TypeBox keeps it in a symbol, so it never shows in the schema.
 *
 * Partial: type-level builders (Extends, Mapped, TemplateLiteral, Codec ...) return `{}`; `Value.Check` and
 * `Compile(...).Check` implement the common JSON-Schema keywords only.
 */
type Schema = Record<string, unknown>;
const OPTIONAL = Symbol.for('TypeBox.Optional');
const READONLY = Symbol.for('TypeBox.Readonly');
export const Kind = Symbol.for('TypeBox.Kind');

function withOptions(schema: Schema, options?: unknown): Schema {
  return options !== null && typeof options === 'object' ? { ...schema, ...(options as Schema) } : schema;
}

function mark(schema: Schema, key: symbol): Schema {
  const copy = { ...schema };
  Object.defineProperty(copy, key, { value: true, enumerable: false });
  if ((schema as Record<symbol, unknown>)[OPTIONAL] === true && key !== OPTIONAL)
    Object.defineProperty(copy, OPTIONAL, { value: true, enumerable: false });
  return copy;
}

function isOptional(s: unknown): boolean {
  return s !== null && typeof s === 'object' && (s as Record<symbol, unknown>)[OPTIONAL] === true;
}

function object(properties: Record<string, Schema>, options?: unknown): Schema {
  const required = Object.keys(properties).filter((k) => !isOptional(properties[k]));
  const schema: Schema = { type: 'object' };
  if (required.length > 0) schema.required = required;
  schema.properties = properties;
  return withOptions(schema, options);
}

function literal(value: unknown, options?: unknown): Schema {
  return withOptions(
    { type: typeof value === 'number' ? 'number' : typeof value === 'boolean' ? 'boolean' : 'string', const: value },
    options,
  );
}

function props(s: Schema): Record<string, Schema> {
  return (s.properties ?? {}) as Record<string, Schema>;
}

export const Type: Record<string, (...args: never[]) => unknown> = {
  String: (o?: unknown) => withOptions({ type: 'string' }, o),
  Number: (o?: unknown) => withOptions({ type: 'number' }, o),
  Integer: (o?: unknown) => withOptions({ type: 'integer' }, o),
  Boolean: (o?: unknown) => withOptions({ type: 'boolean' }, o),
  Null: (o?: unknown) => withOptions({ type: 'null' }, o),
  Any: (o?: unknown) => withOptions({}, o),
  Unknown: (o?: unknown) => withOptions({}, o),
  Never: (o?: unknown) => withOptions({ not: {} }, o),
  Undefined: (o?: unknown) => withOptions({ type: 'undefined' }, o),
  Void: (o?: unknown) => withOptions({ type: 'void' }, o),
  BigInt: (o?: unknown) => withOptions({ type: 'bigint' }, o),
  Symbol: (o?: unknown) => withOptions({ type: 'symbol' }, o),
  Literal: (v: unknown, o?: unknown) => literal(v, o),
  Array: (items: Schema, o?: unknown) => withOptions({ type: 'array', items }, o),
  Object: (p: Record<string, Schema>, o?: unknown) => object(p, o),
  Union: (anyOf: Schema[], o?: unknown) => withOptions({ anyOf }, o),
  Intersect: (allOf: Schema[], o?: unknown) => withOptions({ allOf }, o),
  Tuple: (items: Schema[], o?: unknown) => withOptions({ type: 'array', additionalItems: false, items, minItems: items.length }, o),
  Record: (_key: Schema, value: Schema, o?: unknown) => withOptions({ type: 'object', patternProperties: { '^.*$': value } }, o),
  Enum: (e: Record<string, unknown>, o?: unknown) =>
    withOptions(
      {
        enum: [
          ...new Set(
            Object.keys(e)
              .filter((k) => !/^\d+$/.test(k))
              .map((k) => e[k]),
          ),
        ],
      },
      o,
    ),
  Optional: (s: Schema) => mark(s, OPTIONAL),
  Readonly: (s: Schema) => mark(s, READONLY),
  ReadonlyOptional: (s: Schema) => mark(mark(s, READONLY), OPTIONAL),
  Unsafe: (o?: unknown) => withOptions({}, o),
  Ref: (ref: unknown, o?: unknown) => withOptions({ $ref: typeof ref === 'string' ? ref : String((ref as Schema).$id ?? '') }, o),
  Partial: (s: Schema, o?: unknown) => {
    const p: Record<string, Schema> = {};
    for (const [k, v] of Object.entries(props(s))) p[k] = mark(v, OPTIONAL);
    const { required: _r, properties: _p, ...rest } = s;
    return withOptions({ ...rest, type: 'object', properties: p }, o);
  },
  Required: (s: Schema, o?: unknown) => {
    const p = { ...props(s) };
    const { required: _r, properties: _p, ...rest } = s;
    return withOptions({ ...rest, type: 'object', required: Object.keys(p), properties: p }, o);
  },
  Pick: (s: Schema, keys: unknown, o?: unknown) => {
    const list = Array.isArray(keys) ? keys.map(String) : [String(keys)];
    return object(Object.fromEntries(Object.entries(props(s)).filter(([k]) => list.includes(k))), o);
  },
  Omit: (s: Schema, keys: unknown, o?: unknown) => {
    const list = Array.isArray(keys) ? keys.map(String) : [String(keys)];
    return object(Object.fromEntries(Object.entries(props(s)).filter(([k]) => !list.includes(k))), o);
  },
  KeyOf: (s: Schema, o?: unknown) => withOptions({ anyOf: Object.keys(props(s)).map((k) => literal(k)) }, o),
  Composite: (list: Schema[], o?: unknown) => object(Object.assign({}, ...list.map(props)) as Record<string, Schema>, o),
  Date: (o?: unknown) => withOptions({ type: 'Date' }, o),
  Uint8Array: (o?: unknown) => withOptions({ type: 'Uint8Array' }, o),
  RegExp: (o?: unknown) => withOptions({ type: 'string' }, o),
  Function: (_a: unknown, _r: unknown, o?: unknown) => withOptions({ type: 'function' }, o),
  Promise: (_s: unknown, o?: unknown) => withOptions({ type: 'promise' }, o),
  Recursive: (fn: (self: Schema) => Schema) => fn({ $ref: 'self' }),
  Index: () => ({}),
  Extends: () => ({}),
  Exclude: () => ({}),
  Extract: () => ({}),
  TemplateLiteral: (_p: unknown, o?: unknown) => withOptions({ type: 'string' }, o),
  Mapped: () => ({}),
};

/** Minimal JSON-Schema check for `Value.Check` / `Compile(...).Check` (type, required, properties, items, enum, const, anyOf, allOf). */
export function check(schema: Schema, value: unknown): boolean {
  if (schema.const !== undefined && schema.const !== value) return false;
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return false;
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((s) => check(s as Schema, value))) return false;
  if (Array.isArray(schema.allOf) && !schema.allOf.every((s) => check(s as Schema, value))) return false;
  switch (schema.type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    case 'array':
      if (!Array.isArray(value)) return false;
      if (Array.isArray(schema.items)) return schema.items.every((s, i) => check(s as Schema, value[i]));
      return schema.items === undefined || value.every((v) => check(schema.items as Schema, v));
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
      const v = value as Record<string, unknown>;
      if (Array.isArray(schema.required) && !schema.required.every((k) => Object.hasOwn(v, String(k)))) return false;
      return Object.entries(props(schema)).every(([k, s]) => !Object.hasOwn(v, k) || check(s, v[k]));
    }
    default:
      return true;
  }
}

export const Value = {
  Check: (schema: Schema, value: unknown) => check(schema, value),
  Errors: (schema: Schema, value: unknown) => (check(schema, value) ? [] : [{ message: 'value does not match the schema', path: '' }]),
  Clone: <T>(v: T): T => structuredClone(v),
  Default: (_s: Schema, v: unknown) => v,
  Convert: (_s: Schema, v: unknown) => v,
  Clean: (_s: Schema, v: unknown) => v,
  Parse: (s: Schema, v: unknown) => {
    if (!check(s, v)) throw new Error('value does not match the schema');
    return v;
  },
};

export function Compile(schema: Schema): { Check(v: unknown): boolean; Errors(v: unknown): unknown[] } {
  return { Check: (v) => check(schema, v), Errors: (v) => Value.Errors(schema, v) };
}

export const typeboxModule: Record<string, unknown> = {
  ...Type,
  Type,
  Kind,
  OptionalKind: OPTIONAL,
  ReadonlyKind: READONLY,
  default: Type,
};
export const compileModule: Record<string, unknown> = { Compile, TypeCompiler: { Compile }, default: { Compile } };
export const valueModule: Record<string, unknown> = { Value, ...Value, default: Value };
