/** Writes one codec module per Kafka message spec in `specDir` into `outDir`; returns how many. */
export function generate(specDir: string, outDir: string): number;
/** Removes `//` line comments while leaving `//` inside JSON strings alone. */
export function stripComments(text: string): string;
