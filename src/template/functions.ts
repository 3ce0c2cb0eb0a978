/**
 * The three template functions. Each takes its arguments already rendered to a string, or
 * `undefined` where the argument's variables were missing/empty (such an argument counts
 * as empty and is dropped), and returns a string; '' means "remove the parameter".
 */
import type { FunctionName } from './compile';

type Fn = (args: Array<string | undefined>) => string;

const nonEmpty = (args: Array<string | undefined>): string[] => args.filter((a): a is string => a !== undefined && a.trim() !== '');

export const FUNCTION_IMPLS: Record<FunctionName, Fn> = {
  /** val1 unless it is null or empty, else val2. */
  DEFAULT_VALUE: ([a, b]) => (a !== undefined && a.trim() !== '' ? a : (b ?? '')),
  /** Joins the non-empty values with " or " (e.g. `(Id:equals:1) or (Email:equals:kim@example)`). */
  CONCAT_OR: (args) => nonEmpty(args).join(' or '),
  CONCAT_AND: (args) => nonEmpty(args).join(' and '),
};
