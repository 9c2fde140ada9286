#!/usr/bin/env node
// Generates src/protocol/kafka/generated/ from Apache Kafka's JSON message schemas.
// Usage: node scripts/gen-kafka-codecs.mjs [--spec DIR] [--out DIR]
// Defaults: spec = ../shared/specs/kafka/message beside the repo, out = src/protocol/kafka/generated.
// The output is deterministic (files sorted, no timestamps) so a test can check it is up to date.
import { readFileSync, readdirSync, writeFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const opts = { spec: resolve(repoRoot, '../shared/specs/kafka/message'), out: resolve(repoRoot, 'src/protocol/kafka/generated') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--spec') opts.spec = resolve(argv[++i]);
    else if (argv[i] === '--out') opts.out = resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Schema loading

/** Removes `//` line comments while leaving `//` inside JSON strings alone. */
export function stripComments(text) {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

const INF = Number.POSITIVE_INFINITY;

/** "3+", "0-12", "5", "none" -> [lo, hi] or null. */
function parseVersions(s, what) {
  if (s === undefined || s === 'none') return null;
  let m = /^(\d+)\+$/.exec(s);
  if (m) return [Number(m[1]), INF];
  m = /^(\d+)-(\d+)$/.exec(s);
  if (m) return [Number(m[1]), Number(m[2])];
  m = /^(\d+)$/.exec(s);
  if (m) return [Number(m[1]), Number(m[1])];
  throw new Error(`${what}: bad version range ${JSON.stringify(s)}`);
}

function intersect(a, b) {
  if (!a || !b) return null;
  const lo = Math.max(a[0], b[0]);
  const hi = Math.min(a[1], b[1]);
  return lo <= hi ? [lo, hi] : null;
}

function covers(outer, inner) {
  return outer !== null && inner !== null && outer[0] <= inner[0] && outer[1] >= inner[1];
}

const PRIMITIVES = new Set(['int8', 'int16', 'int32', 'int64', 'uint16', 'float64', 'bool', 'string', 'uuid', 'bytes', 'records']);

function camel(name) {
  return name[0].toLowerCase() + name.slice(1);
}

function loadMessages(specDir) {
  const files = readdirSync(specDir).filter((f) => f.endsWith('.json')).sort();
  const messages = [];
  for (const file of files) {
    const json = JSON.parse(stripComments(readFileSync(join(specDir, file), 'utf8')));
    if (!['request', 'response', 'header', 'data'].includes(json.type)) continue;
    messages.push(buildMessage(json, file));
  }
  return messages;
}

/** Resolves a schema into structs with per-field version facts, intersected with the valid versions. */
function buildMessage(json, file) {
  const valid = parseVersions(json.validVersions, file);
  const flexible = intersect(parseVersions(json.flexibleVersions, file), valid);
  const msg = {
    file,
    name: json.name,
    type: json.type,
    apiKey: json.apiKey,
    valid,
    flexible,
    structs: [],
  };
  const defs = new Map();
  const collect = (fields) => {
    for (const f of fields ?? []) {
      if (f.fields) {
        const sname = f.type.replace(/^\[\]/, '');
        if (defs.has(sname)) throw new Error(`${file}: struct ${sname} defined twice`);
        defs.set(sname, f.fields);
        collect(f.fields);
      }
    }
  };
  for (const cs of json.commonStructs ?? []) {
    if (defs.has(cs.name)) throw new Error(`${file}: struct ${cs.name} defined twice`);
    defs.set(cs.name, cs.fields);
    collect(cs.fields);
  }
  collect(json.fields);
  const tsName = (sname) => (sname === json.name ? json.name : json.name + sname);
  const convertFields = (fields, where) =>
    fields.map((f) => {
      const isArray = f.type.startsWith('[]');
      const base = isArray ? f.type.slice(2) : f.type;
      const isStruct = !PRIMITIVES.has(base);
      if (isStruct && !defs.has(base)) throw new Error(`${file}: ${where}.${f.name} uses unknown struct ${base}`);
      if (!isStruct && !PRIMITIVES.has(base)) throw new Error(`${file}: unknown type ${base}`);
      const versions = intersect(parseVersions(f.versions, `${file} ${f.name}`), valid);
      const nullable = intersect(parseVersions(f.nullableVersions, `${file} ${f.name}`), versions);
      const tagged = f.tag === undefined ? null : intersect(parseVersions(f.taggedVersions, `${file} ${f.name}`), versions);
      if (f.tag !== undefined && !tagged) throw new Error(`${file}: tagged field ${f.name} has no tagged versions`);
      if (tagged && (tagged[0] !== versions[0] || tagged[1] !== versions[1])) {
        throw new Error(`${file}: ${f.name} is tagged in only some of its versions; not supported`);
      }
      const fieldFlex = f.flexibleVersions === undefined ? flexible : intersect(parseVersions(f.flexibleVersions, file), flexible);
      return {
        name: f.name,
        prop: camel(f.name),
        local: `f_${camel(f.name)}`,
        isArray,
        base,
        struct: isStruct ? tsName(base) : null,
        versions,
        nullable,
        tag: f.tag ?? null,
        tagged,
        flexible: fieldFlex,
        default: f.default,
      };
    });
  msg.structs.push({ name: json.name, fields: convertFields(json.fields, json.name) });
  for (const [sname, fields] of defs) msg.structs.push({ name: tsName(sname), fields: convertFields(fields, sname) });
  return msg;
}

// ---------------------------------------------------------------------------------------------
// Code emission helpers

/** A JS condition that is true when `v` lies in `range`, given `v` is always within the message's valid range. */
function versionCond(range, valid) {
  if (range === null) return 'false';
  const parts = [];
  if (range[0] > valid[0]) parts.push(`v >= ${range[0]}`);
  if (range[1] < valid[1]) parts.push(`v <= ${range[1]}`);
  return parts.length === 0 ? 'true' : parts.join(' && ');
}

/** 'never' | 'always' | a condition string, for whether `v` is in `range` among the valid versions. */
function mode(range, valid) {
  if (range === null) return 'never';
  if (covers(range, valid)) return 'always';
  return versionCond(range, valid);
}

function scalarTsType(base) {
  switch (base) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint16':
    case 'float64':
      return 'number';
    case 'bool':
      return 'boolean';
    case 'string':
    case 'uuid':
      return 'string';
    case 'bytes':
    case 'records':
      return 'Buffer';
    default:
      throw new Error(`no scalar type ${base}`);
  }
}

function fieldTsType(f, input) {
  let t;
  if (f.struct) t = input ? `${f.struct}Input` : f.struct;
  else if (f.base === 'records' && input) t = 'Buffer | readonly Buffer[]';
  else t = scalarTsType(f.base);
  if (f.isArray) t = input ? `readonly ${t}[]` : `${t}[]`;
  // records are nullable on the wire in every version the specs use; model them as nullable always
  if (f.nullable || f.base === 'records') t = `${t} | null`;
  return t;
}

function parseIntDefault(s, f) {
  const n = /^-?0x/i.test(s) ? Number.parseInt(s, 16) : Number(s);
  if (!Number.isFinite(n)) throw new Error(`bad default ${s} for ${f.name}`);
  return String(n);
}

/**
 * JS expression for the default of a field (a fresh value for mutable types): the spec's `default`, else null
 * for nullable fields, else the type's zero value.
 */
function defaultExpr(f) {
  const d = f.default;
  if (d === 'null') {
    if (!f.nullable && f.base !== 'records') throw new Error(`${f.name}: default null but not nullable`);
    return 'null';
  }
  if (d === undefined && (f.nullable || f.base === 'records')) return 'null';
  return zeroExpr(f);
}

/** The non-null default: the spec's `default` if it has one, else the type's zero value. */
function zeroExpr(f) {
  const d = f.default === 'null' ? undefined : f.default;
  if (f.isArray) {
    if (d !== undefined && d !== '') throw new Error(`${f.name}: unsupported array default ${d}`);
    return '[]';
  }
  if (f.struct) return `default${f.struct}()`;
  switch (f.base) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint16':
      return d === undefined ? '0' : parseIntDefault(String(d), f);
    case 'float64':
      return d === undefined ? '0' : String(Number(d));
    case 'bool':
      if (d === undefined) return 'false';
      if (d === true || d === 'true') return 'true';
      if (d === false || d === 'false') return 'false';
      throw new Error(`${f.name}: bad bool default ${d}`);
    case 'string':
      return JSON.stringify(d === undefined ? '' : String(d));
    case 'uuid':
      if (d !== undefined) throw new Error(`${f.name}: uuid defaults are not supported`);
      return 'ZERO_UUID';
    case 'bytes':
    case 'records':
      if (d !== undefined) throw new Error(`${f.name}: bytes defaults are not supported`);
      return 'EMPTY_BUFFER';
    default:
      throw new Error(`no default for ${f.base}`);
  }
}

/** Expression reading one scalar (or struct) value; `flex` is 'always' | 'never' | condition. */
function readScalar(f, flex, nullable) {
  const pick = (compact, classic) => (flex === 'always' ? compact : flex === 'never' ? classic : `(flex ? ${compact} : ${classic})`);
  switch (f.base) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint16':
    case 'float64':
    case 'uuid':
    case 'bool':
      return `r.${f.base}()`;
    case 'string':
      return nullable ? pick('r.compactNullableString()', 'r.nullableString()') : pick('r.compactString()', 'r.string()');
    case 'bytes':
    case 'records':
      return nullable || f.base === 'records'
        ? pick('r.compactNullableBytes()', 'r.nullableBytes()')
        : pick('r.compactBytes()', 'r.bytes()');
    default:
      if (f.struct) return nullable ? `(r.int8() < 0 ? null : decode${f.struct}(r, v))` : `decode${f.struct}(r, v)`;
      throw new Error(`cannot read ${f.base}`);
  }
}

/** Statements assigning the decoded value of `f` to `target` (declared by the caller). */
function emitRead(f, target, flex, ind) {
  const nullable = f.nullable !== null;
  if (!f.isArray) return [`${ind}${target} = ${readScalar(f, flex, nullable)};`];
  const lenExpr = flex === 'always' ? 'r.compactArrayLength()' : flex === 'never' ? 'r.arrayLength()' : '(flex ? r.compactArrayLength() : r.arrayLength())';
  const elem = { ...f, isArray: false, nullable: null };
  const lines = [];
  lines.push(`${ind}{`);
  lines.push(`${ind}  const n = ${lenExpr};`);
  if (nullable) {
    lines.push(`${ind}  if (n < 0) ${target} = null;`);
    lines.push(`${ind}  else {`);
  } else {
    lines.push(`${ind}  if (n < 0) throw r.error('null array ${f.name} where an array is required');`);
    lines.push(`${ind}  {`);
  }
  const elemType = f.struct ?? scalarTsType(f.base);
  lines.push(`${ind}    const a: ${elemType}[] = [];`);
  lines.push(`${ind}    for (let i = 0; i < n; i++) a.push(${readScalar(elem, flex, false)});`);
  lines.push(`${ind}    ${target} = a;`);
  lines.push(`${ind}  }`);
  lines.push(`${ind}}`);
  return lines;
}

/** Statements writing one scalar value `x` (an identifier) of field `f`. */
function writeScalar(f, x, flex, nullable, ind) {
  const pick = (compact, classic) =>
    flex === 'always' ? [`${ind}${compact};`] : flex === 'never' ? [`${ind}${classic};`] : [`${ind}if (flex) ${compact};`, `${ind}else ${classic};`];
  switch (f.base) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint16':
    case 'float64':
    case 'uuid':
    case 'bool':
      return [`${ind}w.${f.base}(${x});`];
    case 'string':
      return nullable ? pick(`w.compactNullableString(${x})`, `w.nullableString(${x})`) : pick(`w.compactString(${x})`, `w.string(${x})`);
    case 'bytes':
      return nullable ? pick(`w.compactNullableBytes(${x})`, `w.nullableBytes(${x})`) : pick(`w.compactBytes(${x})`, `w.bytes(${x})`);
    case 'records':
      return [`${ind}w.records(${x}, ${flex === 'always' ? 'true' : flex === 'never' ? 'false' : 'flex'});`];
    default:
      if (f.struct) {
        if (nullable) {
          return [`${ind}if (${x} === null) w.int8(-1);`, `${ind}else {`, `${ind}  w.int8(1);`, `${ind}  encode${f.struct}(w, v, ${x});`, `${ind}}`];
        }
        return [`${ind}encode${f.struct}(w, v, ${x});`];
      }
      throw new Error(`cannot write ${f.base}`);
  }
}

/** Statements writing the value of field `f` held in identifier `x` (already defaulted). */
function emitWrite(f, x, flex, ind) {
  const nullable = f.nullable !== null || f.base === 'records';
  const lines = [];
  if (!f.isArray) return lines.concat(writeScalar(f, x, flex, nullable, ind));
  const elem = { ...f, isArray: false, nullable: null };
  const writeLen = (n) =>
    flex === 'always' ? [`${ind}  w.compactArrayLength(${n});`] : flex === 'never' ? [`${ind}  w.int32(${n});`] : [`${ind}  if (flex) w.compactArrayLength(${n});`, `${ind}  else w.int32(${n});`];
  if (nullable) {
    lines.push(`${ind}if (${x} === null) {`);
    lines.push(...writeLen('-1'));
    lines.push(`${ind}} else {`);
  } else {
    lines.push(`${ind}{`);
  }
  lines.push(...writeLen(`${x}.length`));
  lines.push(`${ind}  for (let i = 0; i < ${x}.length; i++) {`);
  lines.push(`${ind}    const e = ${x}[i]!;`);
  lines.push(...writeScalar(elem, 'e', flex, false, `${ind}    `));
  lines.push(`${ind}  }`);
  lines.push(`${ind}}`);
  return lines;
}

/** Condition under which a tagged field's input value `x` was given and differs from its default. */
function nonDefaultCond(f, x) {
  const d = defaultExpr(f);
  const parts = [`${x} !== undefined`];
  if (d === 'null') parts.push(`${x} !== null`);
  else if (f.isArray || f.base === 'bytes') parts.push(`${x}.length > 0`);
  else if (f.struct) parts.push(`!isDefault${f.struct}(${x})`);
  else parts.push(`${x} !== ${d}`);
  return parts.join(' && ');
}

/** Condition that an input field `x` (possibly undefined) holds its default; for isDefault functions. */
function isDefaultCond(f, x) {
  const d = defaultExpr(f);
  if (d === 'null') return `(${x} === undefined || ${x} === null)`;
  if (f.isArray || f.base === 'bytes') return `(${x} === undefined || ${x}.length === 0)`;
  if (f.struct) return `(${x} === undefined || isDefault${f.struct}(${x}))`;
  return `(${x} === undefined || ${x} === ${d})`;
}

// ---------------------------------------------------------------------------------------------
// Per-message file

function emitStruct(msg, struct, needDefault, needIsDefault) {
  const out = [];
  const valid = msg.valid;
  const msgFlex = mode(msg.flexible, valid);
  const fields = struct.fields.filter((f) => f.versions !== null);
  const regular = fields.filter((f) => !f.tagged);
  const tagged = fields.filter((f) => f.tagged).sort((a, b) => a.tag - b.tag);
  const fieldFlex = (f) => mode(f.flexible, valid);

  // interfaces
  out.push(`export interface ${struct.name} {`);
  for (const f of fields) out.push(`  ${f.prop}: ${fieldTsType(f, false)};`);
  out.push('}');
  out.push('');
  out.push(`export interface ${struct.name}Input {`);
  for (const f of fields) out.push(`  ${f.prop}?: ${fieldTsType(f, true)};`);
  out.push('}');
  out.push('');

  if (needIsDefault.has(struct.name)) {
    // tagged struct fields are sent only when they differ from the default, as Kafka does
    const conds = fields.map((f) => isDefaultCond(f, `o.${f.prop}`));
    out.push(`function isDefault${struct.name}(o: ${struct.name}Input): boolean {`);
    out.push(`  return ${conds.length === 0 ? 'true' : conds.join(' && ')};`);
    out.push('}');
    out.push('');
  }

  if (needDefault.has(struct.name)) {
    out.push(`export function default${struct.name}(): ${struct.name} {`);
    out.push(`  return { ${fields.map((f) => `${f.prop}: ${defaultExpr(f)}`).join(', ')} };`);
    out.push('}');
    out.push('');
  }

  const flexDecl = msgFlex !== 'always' && msgFlex !== 'never' ? `  const flex = ${msgFlex};` : null;

  // decoder
  out.push(`export function decode${struct.name}(r: Reader, v: number): ${struct.name} {`);
  if (flexDecl) out.push(flexDecl);
  for (const f of regular) {
    const present = mode(f.versions, valid);
    const t = fieldTsType(f, false);
    const flex = fieldFlex(f);
    if (present === 'always' && !f.isArray) {
      out.push(`  const ${f.local}: ${t} = ${readScalar(f, flex, f.nullable !== null)};`);
    } else if (present === 'always') {
      out.push(`  let ${f.local}: ${t};`);
      out.push(...emitRead(f, f.local, flex, '  '));
    } else {
      out.push(`  let ${f.local}: ${t} = ${defaultExpr(f)};`);
      out.push(`  if (${present}) {`);
      out.push(...emitRead(f, f.local, flex, '    '));
      out.push('  }');
    }
  }
  const objFields = fields.map((f) => (f.tagged ? `${f.prop}: ${defaultExpr(f)}` : `${f.prop}: ${f.local}`));
  out.push(`  const o: ${struct.name} = { ${objFields.join(', ')} };`);
  if (msgFlex !== 'never') {
    const flexCond = msgFlex === 'always' ? null : 'flex';
    const ind = flexCond ? '    ' : '  ';
    if (flexCond) out.push(`  if (${flexCond}) {`);
    if (tagged.length === 0) {
      out.push(`${ind}r.skipTaggedFields();`);
    } else {
      out.push(`${ind}const nt = r.unsignedVarint();`);
      out.push(`${ind}for (let t = 0; t < nt; t++) {`);
      out.push(`${ind}  const tag = r.unsignedVarint();`);
      out.push(`${ind}  const end = r.taggedFieldEnd();`);
      out.push(`${ind}  switch (tag) {`);
      for (const f of tagged) {
        const cond = mode(f.tagged, valid);
        out.push(`${ind}    case ${f.tag}:`);
        if (cond !== 'always') out.push(`${ind}      if (!(${cond})) { r.offset = end; break; }`);
        out.push(...emitRead(f, `o.${f.prop}`, 'always', `${ind}      `));
        out.push(`${ind}      r.endTaggedField(end);`);
        out.push(`${ind}      break;`);
      }
      out.push(`${ind}    default:`);
      out.push(`${ind}      r.offset = end;`);
      out.push(`${ind}  }`);
      out.push(`${ind}}`);
    }
    if (flexCond) out.push('  }');
  }
  out.push('  return o;');
  out.push('}');
  out.push('');

  // encoder
  out.push(`export function encode${struct.name}(w: Writer, v: number, o: ${struct.name}Input): void {`);
  if (flexDecl) out.push(flexDecl);
  for (const f of regular) {
    const present = mode(f.versions, valid);
    const flex = fieldFlex(f);
    const ind = present === 'always' ? '  ' : '    ';
    if (present !== 'always') out.push(`  if (${present}) {`);
    const x = `${f.local}`;
    out.push(...valueDecl(f, x, ind, valid));
    out.push(...emitWrite(f, x, flex, ind));
    if (present !== 'always') out.push('  }');
  }
  if (msgFlex !== 'never') {
    const flexCond = msgFlex === 'always' ? null : 'flex';
    const ind = flexCond ? '    ' : '  ';
    if (flexCond) out.push(`  if (${flexCond}) {`);
    if (tagged.length === 0) {
      out.push(`${ind}w.emptyTaggedFields();`);
    } else {
      out.push(`${ind}let nt = 0;`);
      for (const f of tagged) {
        const cond = mode(f.tagged, valid);
        const x = f.local;
        out.push(`${ind}const ${x} = o.${f.prop};`);
        const send = `${cond === 'always' ? '' : `${cond} && `}${nonDefaultCond(f, x)}`;
        out.push(`${ind}const has_${f.prop} = ${send};`);
        out.push(`${ind}if (has_${f.prop}) nt++;`);
      }
      out.push(`${ind}w.unsignedVarint(nt);`);
      for (const f of tagged) {
        out.push(`${ind}if (has_${f.prop}) {`);
        out.push(`${ind}  w.taggedField(${f.tag}, (w) => {`);
        out.push(...emitWrite(f, f.local, 'always', `${ind}    `));
        out.push(`${ind}  });`);
        out.push(`${ind}}`);
      }
    }
    if (flexCond) out.push('  }');
  }
  out.push('}');
  out.push('');
  return out;
}

/**
 * Declares `x` as the field's value from `o`, or its default when undefined. Where a field is nullable in
 * only some versions, null in the others is written as the type's empty value (as Kafka's own response
 * builders do), so a handler's null never fails an older client's answer.
 */
function valueDecl(f, x, ind, valid) {
  let d = defaultExpr(f);
  const nullable = f.nullable !== null || f.base === 'records';
  const strict = strictNullCond(f, valid);
  if (strict) {
    const zero = zeroExpr(f);
    if (d === 'null') d = `(${strict} ? null : ${zero})`;
    return [`${ind}const ${x} = o.${f.prop} === undefined ? ${d} : o.${f.prop} === null && !(${strict}) ? ${zero} : o.${f.prop};`];
  }
  if (nullable) return [`${ind}const ${x} = o.${f.prop} === undefined ? ${d} : o.${f.prop};`];
  return [`${ind}const ${x} = o.${f.prop} ?? ${d};`];
}

/** When a field is nullable in only some of its versions, the condition under which null is allowed. */
function strictNullCond(f, valid) {
  if (f.nullable === null || covers(f.nullable, f.versions)) return null;
  return versionCond(f.nullable, valid);
}

function emitMessageFile(msg) {
  // a struct-typed field needs a default value wherever a version lacks it or an encoder is given nothing
  const needDefault = new Set();
  for (const s of msg.structs) {
    for (const f of s.fields) if (f.struct && !f.isArray && f.versions !== null && f.default !== 'null') needDefault.add(f.struct);
  }
  const body = [];
  // structs reachable from a tagged struct field need an isDefault check
  const byName = new Map(msg.structs.map((s) => [s.name, s]));
  const needIsDefault = new Set();
  const markIsDefault = (name) => {
    if (needIsDefault.has(name)) return;
    needIsDefault.add(name);
    for (const f of byName.get(name).fields) if (f.struct && f.versions !== null && !f.isArray) markIsDefault(f.struct);
  };
  for (const s of msg.structs) for (const f of s.fields) if (f.tagged && f.struct && !f.isArray) markIsDefault(f.struct);
  for (const s of msg.structs) body.push(...emitStruct(msg, s, needDefault, needIsDefault));
  const text = body.join('\n');
  const wireImports = [];
  for (const name of ['EMPTY_BUFFER', 'KafkaEncodeError', 'ZERO_UUID']) if (text.includes(name)) wireImports.push(name);
  wireImports.push('type Reader', 'type Writer');
  const header = [
    `// Generated by scripts/gen-kafka-codecs.mjs from ${msg.file}. Do not edit.`,
    `// Valid versions ${msg.valid[0]}-${msg.valid[1]}; flexible ${msg.flexible ? `${msg.flexible[0]}+` : 'none'}.`,
    `import { ${wireImports.join(', ')} } from '../wire.js';`,
    '',
  ];
  return header.join('\n') + '\n' + text.replace(/\n+$/, '') + '\n';
}

function fileNameFor(msg) {
  return msg.name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z])([A-Z][a-z])/g, '$1-$2').toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Index

function apiName(msg) {
  return msg.name.replace(/(Request|Response)$/, '');
}

function emitIndex(messages) {
  const requests = messages.filter((m) => m.type === 'request').sort((a, b) => a.apiKey - b.apiKey);
  const responses = new Map(messages.filter((m) => m.type === 'response').map((m) => [m.apiKey, m]));
  for (const req of requests) {
    const res = responses.get(req.apiKey);
    if (!res) throw new Error(`no response schema for API key ${req.apiKey}`);
    if (res.valid[0] !== req.valid[0] || res.valid[1] !== req.valid[1]) throw new Error(`${req.name}: request and response versions differ`);
  }
  const L = [];
  L.push('// Generated by scripts/gen-kafka-codecs.mjs from Apache Kafka\'s message schemas. Do not edit.');
  L.push('/**');
  L.push(' * Kafka message codecs.');
  L.push(' *');
  L.push(' * For every schema `Foo` (e.g. `ProduceRequest`) and every struct `Bar` inside it there are:');
  L.push(' * - `interface Foo` / `FooBar`: the decoded shape. Every field of every version is present; fields the');
  L.push(' *   decoded version lacks hold the spec default. Fields are camelCase; int64 are JS numbers; uuids are');
  L.push(' *   32 lowercase hex digits; `bytes` and `records` are views into the input buffer (`records`: Buffer | null).');
  L.push(' * - `interface FooInput` / `FooBarInput`: what the encoder accepts. Every field is optional (undefined');
  L.push(' *   writes the spec default, so handlers omit throttleTimeMs and the like); `records` may also be an array');
  L.push(' *   of chunks, spliced into the output without copying. A decoded `Foo` is a valid `FooInput`. Null in a');
  L.push(' *   version where the field is not nullable is written as the empty value (\'\', [], empty bytes).');
  L.push(' * - `decodeFoo(r, version)` and `encodeFoo(w, version, body)`.');
  L.push(' * Dispatch by API key: `decodeRequest` / `encodeResponse` (broker side) and `encodeRequest` /');
  L.push(' * `decodeResponse` (clients, tests). An unknown key or version throws UnsupportedApiVersionError.');
  L.push(' */');
  L.push("import { Reader, Writer, UnsupportedApiVersionError } from '../wire.js';");
  const imports = [];
  // header schemas stay in their own modules: the index's header helpers need the API key before the version
  const bodies = messages.filter((m) => m.type !== 'header');
  for (const m of bodies) {
    const names = [`decode${m.name}`, `encode${m.name}`];
    if (m.type === 'request' || m.type === 'response') names.push(`type ${m.name}`, `type ${m.name}Input`);
    imports.push(`import { ${names.join(', ')} } from './${fileNameFor(m)}.js';`);
  }
  L.push(...imports);
  L.push('');
  for (const m of bodies) L.push(`export * from './${fileNameFor(m)}.js';`);
  L.push('');
  L.push('/** API name (schema name without Request/Response) -> API key. */');
  L.push('export const API_KEYS = {');
  for (const r of requests) L.push(`  ${apiName(r)}: ${r.apiKey},`);
  L.push('} as const;');
  L.push('');
  L.push('export type ApiName = keyof typeof API_KEYS;');
  L.push('');
  L.push('/** API key -> API name. */');
  L.push('export const API_NAMES: Readonly<Record<number, ApiName>> = {');
  for (const r of requests) L.push(`  ${r.apiKey}: '${apiName(r)}',`);
  L.push('};');
  L.push('');
  L.push('/** API key -> [min, max] version this schema set can decode and encode. */');
  L.push('export const VALID_VERSIONS: Readonly<Record<number, readonly [number, number]>> = {');
  for (const r of requests) L.push(`  ${r.apiKey}: [${r.valid[0]}, ${r.valid[1]}],`);
  L.push('};');
  L.push('');
  L.push('/** API key -> first flexible version (compact encodings, tagged fields, header v2/v1), or null if none. */');
  L.push('export const FLEXIBLE_VERSIONS: Readonly<Record<number, number | null>> = {');
  for (const r of requests) L.push(`  ${r.apiKey}: ${r.flexible ? r.flexible[0] : 'null'},`);
  L.push('};');
  L.push('');
  L.push('/** Request body type per API key. */');
  L.push('export interface ApiRequestMap {');
  for (const r of requests) L.push(`  ${r.apiKey}: ${r.name};`);
  L.push('}');
  L.push('');
  L.push('/** Response body type per API key, as decoded. */');
  L.push('export interface ApiResponseMap {');
  for (const r of requests) L.push(`  ${r.apiKey}: ${responses.get(r.apiKey).name};`);
  L.push('}');
  L.push('');
  L.push('/** Response body type per API key, as the encoder accepts it. */');
  L.push('export interface ApiResponseInputMap {');
  for (const r of requests) L.push(`  ${r.apiKey}: ${responses.get(r.apiKey).name}Input;`);
  L.push('}');
  L.push('');
  L.push('/** Request body type per API key, as the encoder accepts it. */');
  L.push('export interface ApiRequestInputMap {');
  for (const r of requests) L.push(`  ${r.apiKey}: ${r.name}Input;`);
  L.push('}');
  L.push('');
  L.push(`function isFlexible(apiKey: number, version: number): boolean {
  const f = FLEXIBLE_VERSIONS[apiKey];
  return f !== undefined && f !== null && version >= f;
}

/**
 * Request header version: 2 for flexible versions (tagged fields after the client id), 1 otherwise, 0 for
 * ControlledShutdown v0. Versions above a known API's maximum are assumed flexible if the API ever was,
 * as newer clients send them.
 */
export function requestHeaderVersion(apiKey: number, version: number): number {
  if (apiKey === 7 && version === 0) return 0;
  return isFlexible(apiKey, version) ? 2 : 1;
}

/** Response header version: 1 (tagged fields) for flexible versions, except ApiVersions which always uses 0. */
export function responseHeaderVersion(apiKey: number, version: number): number {
  if (apiKey === 18) return 0;
  return isFlexible(apiKey, version) ? 1 : 0;
}

export interface RequestHeaderInfo {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/**
 * Reads a request header. The client id is a classic nullable string even in header v2; header v2's
 * tagged fields are skipped. For an unknown API key the header is read as v1 (decodeRequest then throws).
 */
export function decodeRequestHeader(r: Reader): RequestHeaderInfo {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const hv = requestHeaderVersion(apiKey, apiVersion);
  const clientId = hv >= 1 ? r.nullableString() : null;
  if (hv >= 2) r.skipTaggedFields();
  return { apiKey, apiVersion, correlationId, clientId };
}

export function encodeRequestHeader(w: Writer, h: RequestHeaderInfo): void {
  w.int16(h.apiKey);
  w.int16(h.apiVersion);
  w.int32(h.correlationId);
  const hv = requestHeaderVersion(h.apiKey, h.apiVersion);
  if (hv >= 1) w.nullableString(h.clientId);
  if (hv >= 2) w.emptyTaggedFields();
}

export function encodeResponseHeader(w: Writer, apiKey: number, version: number, correlationId: number): void {
  w.int32(correlationId);
  if (responseHeaderVersion(apiKey, version) >= 1) w.emptyTaggedFields();
}

/** Reads a response header; returns the correlation id. */
export function decodeResponseHeader(r: Reader, apiKey: number, version: number): number {
  const correlationId = r.int32();
  if (responseHeaderVersion(apiKey, version) >= 1) r.skipTaggedFields();
  return correlationId;
}

function checkVersion(apiKey: number, version: number): void {
  const range = VALID_VERSIONS[apiKey];
  if (range === undefined || version < range[0] || version > range[1]) throw new UnsupportedApiVersionError(apiKey, version);
}
`);
  const dispatch = (fn, kind, sig, call) => {
    L.push(sig);
    L.push('  checkVersion(apiKey, version);');
    L.push('  switch (apiKey) {');
    for (const r of requests) {
      const m = kind === 'request' ? r : responses.get(r.apiKey);
      L.push(`    case ${r.apiKey}:`);
      L.push(`      ${call(m)}`);
    }
    L.push('    default:');
    L.push('      throw new UnsupportedApiVersionError(apiKey, version);');
    L.push('  }');
    L.push('}');
    L.push('');
  };
  dispatch('decodeRequest', 'request', 'export function decodeRequest(apiKey: number, version: number, r: Reader): unknown {', (m) => `return decode${m.name}(r, version);`);
  dispatch(
    'encodeResponse',
    'response',
    'export function encodeResponse(apiKey: number, version: number, w: Writer, body: unknown): void {',
    (m) => `encode${m.name}(w, version, body as ${m.name}Input);\n      return;`,
  );
  dispatch(
    'encodeRequest',
    'request',
    'export function encodeRequest(apiKey: number, version: number, w: Writer, body: unknown): void {',
    (m) => `encode${m.name}(w, version, body as ${m.name}Input);\n      return;`,
  );
  dispatch('decodeResponse', 'response', 'export function decodeResponse(apiKey: number, version: number, r: Reader): unknown {', (m) => `return decode${m.name}(r, version);`);
  return L.join('\n').replace(/\n+$/, '') + '\n';
}

// ---------------------------------------------------------------------------------------------

export function generate(specDir, outDir) {
  const messages = loadMessages(specDir);
  const seen = new Map();
  for (const m of messages) {
    for (const s of m.structs) {
      if (seen.has(s.name)) throw new Error(`type name ${s.name} produced by both ${seen.get(s.name)} and ${m.file}`);
      seen.set(s.name, m.file);
    }
  }
  if (existsSync(outDir)) rmSync(outDir, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  for (const m of messages) writeFileSync(join(outDir, `${fileNameFor(m)}.ts`), emitMessageFile(m));
  writeFileSync(join(outDir, 'index.ts'), emitIndex(messages));
  return messages.length;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2));
  const n = generate(opts.spec, opts.out);
  console.log(`generated ${n} Kafka message codecs into ${opts.out}`);
}
