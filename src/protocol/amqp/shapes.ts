/**
 * Keeps the latest connection, channel and queue (and one message record) alive after they close.
 *
 * An instance of a class with fields gets its hidden class (V8 map) by a chain of transitions from
 * the class's initial map, and those transitions hold their targets only weakly. Once the last
 * connection, channel or queue is gone, the next full collection frees their maps, and every
 * optimized function that embedded one is thrown away (`--trace-deopt`: "weak objects"): the idle
 * memory-reducing collections after a burst of traffic deoptimized 60-90 functions of the publish
 * and delivery path at once, compiled again as soon as the next client arrived (70 TurboFan jobs
 * competing for the two cores in the first seconds of the next (d) round). One kept instance per
 * class keeps its maps, and the code built on them, valid. What an instance holds (a closed
 * connection's socket object and output slab, a deleted queue's empty lanes) stays with it: a few
 * hundred KB at most, replaced by the next one.
 */
const kept = new Map<object, object>();

/** Keeps `o` as its class's kept instance (call from a constructor; not per message). */
export function keepShape(o: object): void {
  kept.set(o.constructor, o);
}
