/**
 * Prometheus text exposition for metric families with many series (one per partition), written
 * straight into a string: at ten thousand partitions this stays far cheaper than a labelled gauge
 * per series, and nothing stale survives a deleted topic because every scrape starts from the log.
 */
export class PromText {
  private readonly parts: string[] = [];

  family(name: string, type: 'gauge' | 'counter', help: string): this {
    this.parts.push(familyHeader(name, type, help));
    return this;
  }

  sample(name: string, labels: Readonly<Record<string, string | number>>, value: number): this {
    let s = name;
    const keys = Object.keys(labels);
    if (keys.length > 0) {
      s += '{';
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) s += ',';
        s += `${keys[i]}="${escapeLabel(String(labels[keys[i]!]))}"`;
      }
      s += '}';
    }
    this.parts.push(`${s} ${formatValue(value)}\n`);
    return this;
  }

  toString(): string {
    return this.parts.join('');
  }
}

export function familyHeader(name: string, type: 'gauge' | 'counter', help: string): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}

const NEEDS_ESCAPE = /[\\\n"]/;

export function escapeLabel(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
