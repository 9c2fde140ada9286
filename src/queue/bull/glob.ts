import { InvalidArgumentError } from '../../errors.js';

/**
 * A Redis glob (`KEYS`/`SCAN MATCH` syntax, what Bull's `removeJobs(pattern)` takes) as a RegExp
 * matching whole ids: `*` any run, `?` one character, `[abc]`, `[a-z]`, `[^a]`, `\x` a literal x.
 */
export function globToRegExp(pattern: string): RegExp {
  if (typeof pattern !== 'string') throw new InvalidArgumentError('pattern', pattern, 'a Redis glob-style pattern string');
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '\\' && i + 1 < pattern.length) out += escape(pattern[++i]!);
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) {
        out += escape(c);
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negated = body.startsWith('^');
      if (negated) body = body.slice(1);
      // Keep ranges (a-z), escape everything else that is special inside a RegExp class.
      out += `[${negated ? '^' : ''}${body.replace(/[\\\]^[]/g, '\\$&')}]`;
      i = close;
    } else out += escape(c);
  }
  return new RegExp(`${out}$`);
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
