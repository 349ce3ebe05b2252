/** Injection token of the module options with defaults filled in and validated. */
export const RESOLVED_OPTIONS = Symbol('PGQUEUE_RESOLVED_OPTIONS');
