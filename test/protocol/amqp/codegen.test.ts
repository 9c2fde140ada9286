import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Reader, Writer, type FieldTable, type FieldValue } from '../../../src/protocol/amqp/wire.js';
import { decodeBasicProperties, encodeBasicProperties, type BasicProperties } from '../../../src/protocol/amqp/generated/properties.js';
import { decodeMethodArgs, encodeMethod, METHOD_IDS, type Method } from '../../../src/protocol/amqp/generated/methods.js';

const root = resolve(import.meta.dirname, '../../..');
const spec = resolve(root, '../shared/specs/amqp/amqp-rabbitmq-0.9.1.json');

describe('AMQP codec generation', () => {
  it.runIf(existsSync(spec) || process.env.CI === 'true')('regenerating from the spec reproduces the committed files', () => {
    const out = mkdtempSync(join(tmpdir(), 'amqp-gen-'));
    try {
      execFileSync(process.execPath, [join(root, 'scripts/gen-amqp-codecs.mjs'), spec, out]);
      const committed = join(root, 'src/protocol/amqp/generated');
      const files = readdirSync(out).sort();
      expect(files).toEqual(readdirSync(committed).sort());
      for (const f of files) expect(readFileSync(join(out, f), 'utf8'), f).toBe(readFileSync(join(committed, f), 'utf8'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

const everyType: FieldTable = new Map<string, FieldValue>([
  ['t', { type: 't', value: true }],
  ['b', { type: 'b', value: -5 }],
  ['B', { type: 'B', value: 250 }],
  ['s', { type: 's', value: -30000 }],
  ['u', { type: 'u', value: 65000 }],
  ['I', { type: 'I', value: -2_000_000_000 }],
  ['i', { type: 'i', value: 4_000_000_000 }],
  ['L', { type: 'L', value: 18_000_000_000_000_000_000n }],
  ['l', { type: 'l', value: -9_000_000_000_000_000_000n }],
  ['f', { type: 'f', value: 1.5 }],
  ['d', { type: 'd', value: Math.PI }],
  ['D', { type: 'D', value: { scale: 2, digits: 12345 } }],
  ['S', { type: 'S', value: Buffer.from('long string ✓') }],
  ['x', { type: 'x', value: Buffer.from([0, 1, 2, 255]) }],
  ['A', { type: 'A', value: [{ type: 'I', value: 1 }, { type: 'S', value: Buffer.from('two') }, { type: 'V', value: null }] }],
  ['T', { type: 'T', value: 1_700_000_000n }],
  ['F', { type: 'F', value: new Map<string, FieldValue>([['nested', { type: 't', value: false }]]) }],
  ['V', { type: 'V', value: null }],
]);

describe('field tables', () => {
  it('round-trips every field type byte for byte', () => {
    const w = new Writer(16);
    w.table(everyType);
    const bytes = w.take();
    const decoded = new Reader(bytes).table();
    expect([...decoded.keys()]).toEqual([...everyType.keys()]);
    const again = new Writer(16);
    again.table(decoded);
    expect(again.take().equals(bytes)).toBe(true);
    expect(decoded.get('L')).toEqual({ type: 'L', value: 18_000_000_000_000_000_000n });
    expect(decoded.get('A')).toEqual(everyType.get('A'));
  });

  it('rejects a truncated table with a syntax error', () => {
    const w = new Writer();
    w.table(everyType);
    const bytes = w.take();
    expect(() => new Reader(bytes.subarray(0, bytes.length - 3)).table()).toThrow(/truncated/);
  });
});

describe('generated methods and properties', () => {
  it('packs consecutive bits into one octet', () => {
    const m: Method = { kind: 'queue.declare', ticket: 0, queue: 'q', passive: false, durable: true, exclusive: false, autoDelete: true, nowait: true, arguments: new Map() };
    const w = new Writer();
    encodeMethod(w, m);
    const b = w.take();
    // class 50, method 10, ticket, shortstr "q", then bits durable|auto-delete|nowait = 0b11010
    expect([...b.subarray(0, 9)]).toEqual([0, 50, 0, 10, 0, 0, 1, 113, 0b11010]);
    const r = new Reader(b, 4);
    expect(decodeMethodArgs(METHOD_IDS['queue.declare'], r)).toEqual(m);
  });

  it('round-trips all 14 basic properties', () => {
    const p: BasicProperties = {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      headers: everyType,
      deliveryMode: 2,
      priority: 7,
      correlationId: 'corr',
      replyTo: 'reply',
      expiration: '60000',
      messageId: 'id-1',
      timestamp: 1_700_000_000,
      type: 'kind',
      userId: 'guest',
      appId: 'app',
      clusterId: 'cluster',
    };
    const w = new Writer();
    encodeBasicProperties(w, p);
    const bytes = w.take();
    expect(bytes.readUInt16BE(0)).toBe(0xfffc);
    const back = decodeBasicProperties(new Reader(bytes));
    expect(back).toEqual(p);
    const w2 = new Writer();
    encodeBasicProperties(w2, back);
    expect(w2.take().equals(bytes)).toBe(true);
  });
});
