/** A rule outcome: either the value or the typed reasons it was refused. Infrastructure failures throw. */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}

/**
 * Every refusal the rules produce: a stable `code`, the `rule` in words, a `message` naming what was
 * refused (which site, store, field) and the `fix` a support person can apply.
 */
export interface RuleViolation<C extends string = string> {
  readonly code: C;
  readonly rule: string;
  readonly message: string;
  readonly fix: string;
}

/** Thrown only where a caller asked for a value that must exist (`orThrow`); the violation stays attached. */
export class RuleViolationError extends Error {
  constructor(readonly violations: readonly RuleViolation[]) {
    super(violations.map((v) => `${v.code}: ${v.message} Fix: ${v.fix}`).join('\n'));
    this.name = 'RuleViolationError';
  }
}

/** Unwraps a result, throwing a `RuleViolationError` that carries the violation(s). For scripts and fixtures. */
export function orThrow<T>(result: Result<T, RuleViolation | readonly RuleViolation[]>): T {
  if (result.ok) return result.value;
  const { error } = result;
  throw new RuleViolationError(isViolationList(error) ? error : [error]);
}

function isViolationList(e: RuleViolation | readonly RuleViolation[]): e is readonly RuleViolation[] {
  return Array.isArray(e);
}
