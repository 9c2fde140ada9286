/**
 * Runs the broker's stored schedules on the shared timer heap and hands each due slot to the emitter
 * of its target type (Kafka, AMQP, jobs), which the composing broker supplies.
 *
 * Delivery is at least once around a crash: a slot is recorded after its emitter resolves, so a crash
 * in between re-emits it at startup under catch-up `once`. A wake-up that finds several slots due
 * (event-loop stall, clock jump forward) emits only the latest of them.
 */
import type { Logger } from '../../logger.js';
import type { Db } from '../../store/sqlite.js';
import { InvalidArgumentError } from '../../errors.js';
import { CronSchedule } from '../schedule.js';
import { sharedTimerHeap, type TimerEntry } from '../timer-heap.js';
import { ScheduleStore } from './store.js';
import { validateDefinition } from './validate.js';
import type { EmitContext, Emitters, ScheduleDefinition, ScheduleTarget, StoredSchedule } from './types.js';

/** How far back catch-up looks for the latest missed slot, in slots (an every-second schedule: ~1 day). */
const MAX_CATCH_UP_STEPS = 100_000;

interface Active {
  readonly name: string;
  readonly schedule: CronSchedule;
  readonly entry: TimerEntry;
  nextSlot: number | null;
}

/** One regular slot handed to its emitter, as /metrics observes it. */
export interface ScheduleEmitSample {
  name: string;
  /** The slot's time, epoch ms. */
  slot: number;
  /** When the emission started, epoch ms; minus `slot` is the lateness. */
  at: number;
}

export interface BrokerSchedulerOptions {
  db: Db;
  emitters: Emitters;
  logger: Logger;
}

export class BrokerScheduler {
  readonly store: ScheduleStore;
  private readonly emitters: Emitters;
  private readonly logger: Logger;
  private readonly active = new Map<string, Active>();
  private running = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly emitListeners = new Set<(sample: ScheduleEmitSample) => void>();

  constructor(opts: BrokerSchedulerOptions) {
    this.store = new ScheduleStore(opts.db);
    this.emitters = opts.emitters;
    this.logger = opts.logger;
  }

  /** Arms every enabled schedule, first emitting catch-up slots for those with policy `once`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const s of this.store.list()) if (s.enabled) this.activate(s, true);
  }

  /** Stops timers and waits for emissions under way. */
  async stop(): Promise<void> {
    this.running = false;
    for (const a of this.active.values()) sharedTimerHeap().remove(a.entry);
    this.active.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Adds or replaces a schedule (validated; errors name the field) and arms it when running. */
  put(input: unknown): StoredSchedule {
    const def: ScheduleDefinition = validateDefinition(input);
    const stored = this.store.put(def);
    this.deactivate(def.name);
    if (this.running && stored.enabled) this.activate(stored, false);
    return stored;
  }

  remove(name: string): boolean {
    this.deactivate(name);
    return this.store.remove(name);
  }

  setEnabled(name: string, enabled: boolean): StoredSchedule {
    if (!this.store.setEnabled(name, enabled)) throw new InvalidArgumentError('name', name, 'an existing schedule');
    const stored = this.store.get(name)!;
    this.deactivate(name);
    if (this.running && enabled) this.activate(stored, false);
    return stored;
  }

  /**
   * Emits the schedule's target once, now, whether or not it is enabled. The armed timer and the
   * catch-up bookmark are left alone, so the regular slots run exactly as before.
   */
  async runNow(name: string): Promise<{ slot: number; error: string | null }> {
    const s = this.store.get(name);
    if (!s) throw new InvalidArgumentError('name', name, 'an existing schedule');
    const ctx: EmitContext = { name, slot: Date.now(), catchUp: false, manual: true };
    let error: string | null = null;
    const run = this.dispatch(s.target, ctx).catch((err: unknown) => {
      error = err instanceof Error ? err.message : String(err);
      this.logger.error('schedule run-now failed', { schedule: name, error });
    });
    this.inFlight.add(run);
    try {
      await run;
    } finally {
      this.inFlight.delete(run);
    }
    this.store.recordManualRun(name, error);
    return { slot: ctx.slot, error };
  }

  /**
   * Subscribes to regular slot emissions (not catch-up at startup, which is late by the downtime, nor
   * run-now, which has no slot); returns the unsubscribe function.
   */
  onEmit(listener: (sample: ScheduleEmitSample) => void): () => void {
    this.emitListeners.add(listener);
    return () => void this.emitListeners.delete(listener);
  }

  list(): (StoredSchedule & { nextRunAt: number | null })[] {
    return this.store.list().map((s) => ({ ...s, nextRunAt: this.active.get(s.name)?.nextSlot ?? null }));
  }

  private deactivate(name: string): void {
    const a = this.active.get(name);
    if (!a) return;
    sharedTimerHeap().remove(a.entry);
    this.active.delete(name);
  }

  private activate(s: StoredSchedule, startup: boolean): void {
    let schedule: CronSchedule;
    try {
      schedule = new CronSchedule(s.expression, { timezone: s.timezone ?? undefined });
    } catch (err) {
      // Stored by an older version or edited by hand: report it and leave the rest running.
      this.logger.error('schedule cannot be armed', { schedule: s.name, error: err instanceof Error ? err.message : String(err) });
      return;
    }
    const now = Date.now();
    if (startup && s.catchUp === 'once' && s.lastSlot !== null) {
      const missed = latestSlotBetween(schedule, s.lastSlot, now);
      if (missed !== null) this.emit(s.name, s.target, missed, true);
    }
    const a: Active = {
      name: s.name,
      schedule,
      entry: sharedTimerHeap().createEntry((at) => this.onDue(a, s.target, at), false),
      nextSlot: schedule.nextAfter(now),
    };
    this.active.set(s.name, a);
    if (a.nextSlot !== null) sharedTimerHeap().schedule(a.entry, a.nextSlot);
  }

  private onDue(a: Active, target: ScheduleTarget, now: number): void {
    if (a.nextSlot === null || this.active.get(a.name) !== a) return;
    let slot = a.nextSlot;
    let next = a.schedule.nextAfter(slot);
    while (next !== null && next <= now) {
      slot = next;
      next = a.schedule.nextAfter(next);
    }
    a.nextSlot = next;
    if (next !== null) sharedTimerHeap().schedule(a.entry, next);
    this.emit(a.name, target, slot, false);
  }

  private emit(name: string, target: ScheduleTarget, slot: number, catchUp: boolean): void {
    const ctx: EmitContext = { name, slot, catchUp };
    if (!catchUp && this.emitListeners.size > 0) {
      const sample: ScheduleEmitSample = { name, slot, at: Date.now() };
      for (const l of this.emitListeners) l(sample);
    }
    const run = (async () => {
      try {
        await this.dispatch(target, ctx);
        this.store.recordRun(name, slot, null);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.logger.error('schedule emission failed', { schedule: name, slot: new Date(slot).toISOString(), error: message });
        this.store.recordRun(name, slot, message);
      }
    })();
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private dispatch(target: ScheduleTarget, ctx: EmitContext): Promise<void> {
    switch (target.type) {
      case 'kafka':
        if (this.emitters.kafka) return this.emitters.kafka(target, ctx);
        break;
      case 'amqp':
        if (this.emitters.amqp) return this.emitters.amqp(target, ctx);
        break;
      case 'job':
        if (this.emitters.job) return this.emitters.job(target, ctx);
        break;
    }
    return Promise.reject(new Error(`this broker has no ${target.type} emitter`));
  }
}

/** The latest slot in (after, until], or null. */
function latestSlotBetween(schedule: CronSchedule, after: number, until: number): number | null {
  let latest: number | null = null;
  let t = schedule.nextAfter(after);
  for (let i = 0; t !== null && t <= until && i < MAX_CATCH_UP_STEPS; i++) {
    latest = t;
    t = schedule.nextAfter(t);
  }
  return latest;
}
