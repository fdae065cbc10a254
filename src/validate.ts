/**
 * Argument checking at the TypeScript edge (STYLE habit 1), in sharp's style: every bad argument
 * throws before native code runs, with the message
 * `Expected <what> for <name> but received <value>`.
 *
 * - `TypeError`: the value has the wrong JavaScript type.
 * - `RangeError`: the type is right but the value is not allowed (out of range, unknown name,
 *   lengths that do not match).
 *
 * Both carry `code: 'SEGLOSS_INVALID_ARGUMENT'` ({@link INVALID_ARGUMENT}); assert on `code` where
 * `instanceof` may not hold (errors crossing realms, vitest's vm pools).
 */

/** `code` of every argument error thrown by segloss's TypeScript validation. */
export const INVALID_ARGUMENT = 'SEGLOSS_INVALID_ARGUMENT';

/** `code` of errors raised by native code for broken invariants (see native/addon/errors.h). */
export const NATIVE_ERROR = 'SEGLOSS_NATIVE';

/** An argument error: a TypeError or RangeError with `code: 'SEGLOSS_INVALID_ARGUMENT'`. */
export type ArgumentError = (TypeError | RangeError) & { code: typeof INVALID_ARGUMENT };

function withCode<E extends Error>(error: E): E & { code: typeof INVALID_ARGUMENT } {
  return Object.assign(error, { code: INVALID_ARGUMENT } as const);
}

/** `TypeError`: Expected `expected` for `name` but received `describe(value)`. */
export function typeError(expected: string, name: string, value: unknown): TypeError & { code: typeof INVALID_ARGUMENT } {
  return withCode(new TypeError(`Expected ${expected} for ${name} but received ${describe(value)}`));
}

/** `RangeError`: Expected `expected` for `name` but received `describe(value)`. */
export function rangeError(expected: string, name: string, value: unknown): RangeError & { code: typeof INVALID_ARGUMENT } {
  return rangeErrorText(expected, name, describe(value));
}

/** `RangeError` whose "received" part is already written (e.g. `length 20`). */
export function rangeErrorText(
  expected: string,
  name: string,
  received: string,
): RangeError & { code: typeof INVALID_ARGUMENT } {
  return withCode(new RangeError(`Expected ${expected} for ${name} but received ${received}`));
}

const MAX_LISTED = 8;

/** A short, unambiguous rendering of any value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
      return String(value);
    case 'symbol':
      return value.toString();
    case 'function':
      return 'a function';
    default:
      return describeObject(value);
  }
}

function describeObject(value: object): string {
  if (Array.isArray(value)) {
    const simple = value.every((v) => v === null || ['number', 'string', 'boolean', 'undefined'].includes(typeof v));
    if (simple && value.length <= MAX_LISTED) return `[${value.map(describe).join(', ')}]`;
    return `an array of length ${value.length}`;
  }
  if (ArrayBuffer.isView(value)) {
    let length: number;
    try {
      length = 'length' in value ? (value as unknown as { length: number }).length : value.byteLength;
    } catch {
      // A DataView over a detached buffer throws from byteLength (a TypedArray reports length 0).
      return `${value.constructor.name} over a detached ArrayBuffer`;
    }
    return `${value.constructor.name} of length ${length}`;
  }
  const name = Object.getPrototypeOf(value)?.constructor?.name as string | undefined;
  if (!name || name === 'Object') return 'an object';
  return `an instance of ${name}`;
}

/** Small predicates, one per expectation (sharp's `is.*`). */
export const is = {
  /** Neither undefined nor null. */
  defined: (value: unknown): boolean => value !== undefined && value !== null,
  /** A non-null, non-array object that is not a TypedArray. */
  object: (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value),
  bool: (value: unknown): value is boolean => typeof value === 'boolean',
  number: (value: unknown): value is number => typeof value === 'number',
  string: (value: unknown): value is string => typeof value === 'string',
  finite: (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value),
  integer: (value: unknown): value is number => Number.isSafeInteger(value),
  inRange: (value: number, min: number, max: number): boolean => value >= min && value <= max,
  /** One of the listed strings. */
  oneOf: <T extends string>(value: unknown, choices: readonly T[]): value is T =>
    typeof value === 'string' && (choices as readonly string[]).includes(value),
};

/** `'a', 'b', 'c'` — quoted choices for messages. */
export function quoteList(choices: readonly string[]): string {
  return choices.map((c) => `'${c}'`).join(', ');
}

/**
 * Throws a RangeError for the first own key of `object` not in `valid` (nor in `unlisted`, keys
 * accepted here but checked, and reported, elsewhere):
 * `Expected one of <valid, sorted> for <name> but received '<key>'`.
 */
export function checkKnownKeys(
  object: Record<string, unknown>,
  valid: readonly string[],
  name: string,
  unlisted: readonly string[] = [],
): void {
  for (const key of Object.keys(object)) {
    if (!valid.includes(key) && !unlisted.includes(key)) throw rangeError(`one of ${[...valid].sort().join(', ')}`, name, key);
  }
}
