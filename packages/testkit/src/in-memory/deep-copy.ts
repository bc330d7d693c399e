// The testkit compiles without the Node or DOM type libraries, which are where `structuredClone`
// is declared; Node >= 17 provides it at runtime. This module-local declaration only gives it a type.
declare function structuredClone<T>(value: T): T;

/**
 * A deep copy (records, dates, maps, sets and bigints included), so that nothing a caller holds
 * shares an object with stored state. Throws on values that cannot be cloned (functions, symbols).
 */
export function deepCopy<T>(value: T): T {
  return structuredClone(value);
}
