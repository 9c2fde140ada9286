import type { FieldTable, FieldValue } from './wire.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** A field value as JSON shows it; 64-bit integers become numbers when exact, strings otherwise. */
export function fieldToJson(v: FieldValue): JsonValue {
  switch (v.type) {
    case 'l':
    case 'L':
    case 'T':
      return v.value >= BigInt(Number.MIN_SAFE_INTEGER) && v.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v.value) : v.value.toString();
    case 'D':
      return v.value.digits / 10 ** v.value.scale;
    case 'S':
      return v.value.toString('utf8');
    case 'x':
      return v.value.toString('base64');
    case 'A':
      return v.value.map(fieldToJson);
    case 'F':
      return tableToJson(v.value);
    default:
      return v.value;
  }
}

export function tableToJson(t: FieldTable): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of t) out[k] = fieldToJson(v);
  return out;
}
