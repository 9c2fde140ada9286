import { fieldEquals, fieldString, type FieldTable } from './wire.js';

export type XMatch = 'all' | 'any' | 'all-with-x' | 'any-with-x';

export function xMatchOf(args: FieldTable): XMatch | undefined {
  const v = args.get('x-match');
  if (v === undefined) return 'all';
  const s = fieldString(v);
  return s === 'all' || s === 'any' || s === 'all-with-x' || s === 'any-with-x' ? s : undefined;
}

/**
 * Headers-exchange semantics as RabbitMQ has them: a binding argument of type void matches on
 * presence alone; keys starting with `x-` are ignored unless the mode ends in `-with-x`.
 */
export function headersMatch(bindingArgs: FieldTable, mode: XMatch, headers: FieldTable | undefined): boolean {
  const withX = mode === 'all-with-x' || mode === 'any-with-x';
  const all = mode === 'all' || mode === 'all-with-x';
  for (const [key, want] of bindingArgs) {
    if (key === 'x-match') continue;
    if (!withX && key.startsWith('x-')) continue;
    const have = headers?.get(key);
    const ok = have !== undefined && (want.type === 'V' || fieldEquals(want, have));
    if (all && !ok) return false;
    if (!all && ok) return true;
  }
  return all;
}
