import { describe, expect, it } from 'vitest';
import { globToRegExp } from '../../src/queue/bull/glob.js';
import { InvalidArgumentError } from '../../src/errors.js';

describe('Redis glob patterns for removeJobs', () => {
  const m = (pattern: string, id: string): boolean => globToRegExp(pattern).test(id);

  it('matches whole ids with *, ? and character classes', () => {
    expect(m('user-*', 'user-1')).toBe(true);
    expect(m('user-*', 'xuser-1')).toBe(false);
    expect(m('user-?', 'user-10')).toBe(false);
    expect(m('job[0-9]', 'job7')).toBe(true);
    expect(m('job[^0-9]', 'job7')).toBe(false);
    expect(m('job[^0-9]', 'jobx')).toBe(true);
    expect(m('*', 'anything: at all\n')).toBe(true);
  });

  it('takes RegExp specials literally and honours backslash escapes', () => {
    expect(m('a.b+c(d)', 'a.b+c(d)')).toBe(true);
    expect(m('a.b', 'axb')).toBe(false);
    expect(m('lit\\*', 'lit*')).toBe(true);
    expect(m('lit\\*', 'literal')).toBe(false);
    expect(m('open[', 'open[')).toBe(true);
  });

  it('refuses a pattern that is not a string, naming it', () => {
    expect(() => globToRegExp(42 as unknown as string)).toThrow(InvalidArgumentError);
  });
});
