/**
 * Emits a schedule's slot as one job added to a BullMQ queue on the data dir's job store, through
 * BullMQ's own Queue class so that the job is exactly what `queue.add()` makes. BullMQ is an optional
 * peer dependency: it is loaded on the first job slot, and a broker without it reports the slot failed.
 */
import { fillTemplate, type EmitContext, type Emitter, type JobTarget } from './types.js';

interface JobQueue {
  add(name: string, data: unknown): Promise<unknown>;
  close(): Promise<void>;
}

export interface JobEmitter {
  emit: Emitter<JobTarget>;
  /** Closes the queues opened for emitting. */
  close(): Promise<void>;
}

/** String values anywhere in the data get `{{slot}}` and `{{name}}` replaced. */
function fillData(data: unknown, ctx: EmitContext): unknown {
  if (typeof data === 'string') return fillTemplate(data, ctx);
  if (Array.isArray(data)) return data.map((v) => fillData(v, ctx));
  if (data !== null && typeof data === 'object') {
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, fillData(v, ctx)]));
  }
  return data;
}

export function jobEmitter(dataDir: string): JobEmitter {
  const queues = new Map<string, Promise<JobQueue>>();
  const open = (name: string): Promise<JobQueue> => {
    let q = queues.get(name);
    if (!q) {
      q = (async () => {
        const [{ Queue }, { createRailyardBackend }] = await Promise.all([import('bullmq'), import('../../jobs.js')]);
        return new Queue(name, { connection: { dataDir } } as ConstructorParameters<typeof Queue>[1], createRailyardBackend) as JobQueue;
      })();
      queues.set(name, q);
      q.catch(() => queues.delete(name));
    }
    return q;
  };
  return {
    emit: async (target, ctx) => {
      const queue = await open(target.queue);
      await queue.add(fillTemplate(target.name, ctx), fillData(target.data ?? {}, ctx));
    },
    close: async () => {
      const all = [...queues.values()];
      queues.clear();
      await Promise.allSettled(all.map(async (q) => (await q).close()));
    },
  };
}
