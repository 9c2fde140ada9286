/**
 * Firing lateness: N tasks on "* * * * * *" for a few seconds; lateness = wall time at callback entry
 * minus the whole second it was due. The reference is N bare setTimeouts re-armed for every second.
 */
import { Cron } from 'croner';
import nodeCron from 'node-cron';
import railyardCron from '../../src/cron.js';

export interface Lateness { name: string; samples: number; p50: number; p99: number; max: number }

function summarize(name: string, xs: number[]): Lateness {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { name, samples: s.length, p50: q(0.5), p99: q(0.99), max: s[s.length - 1] ?? NaN };
}

const lateNow = (): number => {
  const now = Date.now();
  return now - Math.floor(now / 1000) * 1000;
};

async function measure(name: string, tasks: number, seconds: number, start: (record: () => void) => () => void): Promise<Lateness> {
  // Start just after a second boundary so every implementation sees the same number of slots.
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 50));
  const samples: number[] = [];
  const record = (): void => { samples.push(lateNow()); };
  const stop = start(record);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stop();
  return summarize(name, samples);
}

export async function benchLateness(tasks: number, seconds: number): Promise<Lateness[]> {
  const out: Lateness[] = [];
  out.push(await measure('setTimeout (reference)', tasks, seconds, (record) => {
    let stopped = false;
    const timers = new Set<NodeJS.Timeout>();
    const arm = (): void => {
      const t = setTimeout(() => {
        timers.delete(t);
        record();
        if (!stopped) arm();
      }, 1000 - (Date.now() % 1000));
      timers.add(t);
    };
    for (let i = 0; i < tasks; i++) arm();
    return () => { stopped = true; for (const t of timers) clearTimeout(t); };
  }));
  railyardCron.setLogger({ info() {}, warn() {}, error() {}, debug() {} });
  out.push(await measure('railyard/cron', tasks, seconds, (record) => {
    const ts = Array.from({ length: tasks }, () => railyardCron.schedule('* * * * * *', record));
    return () => { for (const t of ts) t.destroy(); };
  }));
  nodeCron.setLogger({ info() {}, warn() {}, error() {}, debug() {} });
  out.push(await measure('node-cron 4.6', tasks, seconds, (record) => {
    const ts = Array.from({ length: tasks }, () => nodeCron.schedule('* * * * * *', record));
    return () => { for (const t of ts) void t.destroy(); };
  }));
  out.push(await measure('croner 10', tasks, seconds, (record) => {
    const ts = Array.from({ length: tasks }, () => new Cron('* * * * * *', record));
    return () => { for (const t of ts) t.stop(); };
  }));
  return out;
}
