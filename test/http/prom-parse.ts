export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the Prometheus text format (0.0.4): every sample belongs to a family declared by
 * # HELP and # TYPE before it, label values are properly quoted and escaped, values are numbers.
 * Throws on the first line that does not conform.
 */
export function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const lines = text.split('\n').slice(0, -1);
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('# HELP ')) {
      if (!/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/.test(line)) throw new Error(`bad HELP, ${where}`);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (!m) throw new Error(`bad TYPE, ${where}`);
      if (types.has(m[1]!)) throw new Error(`family declared twice, ${where}`);
      types.set(m[1]!, m[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad sample, ${where}`);
    const name = m[1]!;
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(family)) throw new Error(`sample before its TYPE, ${where}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"(,|$)/y;
      let pos = 0;
      while (pos < m[3].length) {
        re.lastIndex = pos;
        const lm = re.exec(m[3]);
        if (!lm) throw new Error(`bad labels, ${where}`);
        labels[lm[1]!] = lm[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        pos = re.lastIndex;
      }
    }
    const raw = m[4]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    if (raw !== 'NaN' && Number.isNaN(value)) throw new Error(`bad value, ${where}`);
    samples.push({ name, labels, value });
  }
  return { types, samples };
}
