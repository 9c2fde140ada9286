import { describe, expect, it } from 'vitest';
import { TopicTrie } from '../../../src/protocol/amqp/topic-trie.js';
import { headersMatch } from '../../../src/protocol/amqp/headers-match.js';
import type { FieldTable, FieldValue } from '../../../src/protocol/amqp/wire.js';

function matches(patterns: string[], key: string): string[] {
  const t = new TopicTrie<string>();
  for (const p of patterns) t.add(p, p, p);
  const out: string[] = [];
  t.match(key, (v) => out.push(v));
  return out.sort();
}

describe('topic trie', () => {
  it.each([
    ['a.b.c', ['a.b.c', 'a.*.c', '#', 'a.#', '#.c', 'a.#.c', '*.*.*', '#.#', 'a.b.c.#']],
    ['a', ['#', 'a.#', '*', '#.#', 'a']],
    ['', ['#', '#.#', '']],
    ['a.b', ['#', 'a.#', '*.*', '#.#', 'a.*']],
  ])('routing key %j', (key, expected) => {
    const all = ['a.b.c', 'a.*.c', '#', 'a.#', '#.c', 'a.#.c', '*.*.*', '#.#', 'a.b.c.#', 'a', '*', '*.*', 'a.*', '', 'b.#', 'a.*.*.*', 'a.b.c.d'];
    expect(matches(all, key)).toEqual([...expected].sort());
  });

  it('reports each binding once even when several paths match it', () => {
    expect(matches(['#.#.#'], 'x.y.z')).toEqual(['#.#.#']);
  });

  it('forgets removed bindings and prunes their branches', () => {
    const t = new TopicTrie<string>();
    t.add('a.*.c', 'one', 'one');
    t.add('a.#', 'two', 'two');
    t.remove('a.*.c', 'one');
    const out: string[] = [];
    t.match('a.b.c', (v) => out.push(v));
    expect(out).toEqual(['two']);
    t.remove('a.#', 'two');
    expect((t as unknown as { root: { words: Map<string, unknown> } }).root.words.size).toBe(0);
  });
});

const s = (v: string): FieldValue => ({ type: 'S', value: Buffer.from(v) });
const table = (o: Record<string, FieldValue>): FieldTable => new Map(Object.entries(o));

describe('headers matching', () => {
  const binding = table({ 'x-match': s('all'), a: s('1'), b: { type: 'V', value: null } });
  it('all: every key, void values match on presence', () => {
    expect(headersMatch(binding, 'all', table({ a: s('1'), b: s('anything') }))).toBe(true);
    expect(headersMatch(binding, 'all', table({ a: s('1') }))).toBe(false);
    expect(headersMatch(binding, 'all', table({ a: s('2'), b: s('x') }))).toBe(false);
  });

  it('values compare by type and bytes', () => {
    const b = table({ n: { type: 'I', value: 5 } });
    expect(headersMatch(b, 'all', table({ n: { type: 'I', value: 5 } }))).toBe(true);
    expect(headersMatch(b, 'all', table({ n: s('5') }))).toBe(false);
  });

  it('x- keys count only in the -with-x modes', () => {
    const b = table({ 'x-tenant': s('t1') });
    expect(headersMatch(b, 'any', table({ 'x-tenant': s('t1') }))).toBe(false);
    expect(headersMatch(b, 'any-with-x', table({ 'x-tenant': s('t1') }))).toBe(true);
    expect(headersMatch(b, 'all', undefined)).toBe(true);
    expect(headersMatch(b, 'all-with-x', undefined)).toBe(false);
  });
});
