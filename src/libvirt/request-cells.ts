/**
 * The queued / started / cancelled handshake between the main thread and a connection worker, written once
 * for both sides. Each request in flight owns a cell of a shared Int32Array. The main thread marks it QUEUED
 * before posting; the worker flips QUEUED → STARTED right before calling libvirt, the main thread flips
 * QUEUED → CANCELLED when the deadline passes first. Both flips are compare-and-swaps, so exactly one side
 * wins: a call whose deadline passed while it waited in the queue is never started (a late `suspend()` must
 * not pause a guest the caller already gave up on). Cell 0 holds the id of the call the worker is inside.
 *
 * @module
 */

/**
 * States of a request cell.
 *
 * @example
 * ```ts
 * Atomics.load(view, cell) === Cell.QUEUED; // posted, not yet claimed by either side
 * ```
 */
export const Cell = { FREE: 0, QUEUED: 1, STARTED: 2, CANCELLED: 3 } as const;

const CURRENT = 0;

/**
 * A view of the shared cells; the main thread and the worker each build one on the same buffer.
 *
 * @example
 * ```ts
 * const cells = new RequestCells(RequestCells.allocate(1024));
 * cells.queue(3);
 * cells.start(3); // true: the worker won, the call runs
 * cells.cancel(3); // false: too late to cancel
 * ```
 */
export class RequestCells {
  private readonly view: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.view = new Int32Array(buffer);
  }

  /**
   * A buffer for `count` requests in flight (cells 1..count), plus the running-call slot.
   *
   * @example
   * ```ts
   * const buffer = RequestCells.allocate(1024);
   * ```
   */
  static allocate(count: number): SharedArrayBuffer {
    return new SharedArrayBuffer(4 * (count + 1));
  }

  /** Main thread: the request in `cell` is posted. */
  queue(cell: number): void {
    Atomics.store(this.view, cell, Cell.QUEUED);
  }

  /** Main thread: `cell` may be given to another request. */
  free(cell: number): void {
    Atomics.store(this.view, cell, Cell.FREE);
  }

  /** Worker: claims the request to run it; false when the main thread cancelled it first. */
  start(cell: number): boolean {
    return Atomics.compareExchange(this.view, cell, Cell.QUEUED, Cell.STARTED) === Cell.QUEUED;
  }

  /** Main thread: claims the request so it never runs; false when the worker already started it. */
  cancel(cell: number): boolean {
    return Atomics.compareExchange(this.view, cell, Cell.QUEUED, Cell.CANCELLED) === Cell.QUEUED;
  }

  /** Worker: the id of the call it is inside now (0: none), for the main thread's timeout messages. */
  enter(id: number): void {
    Atomics.store(this.view, CURRENT, id);
  }

  /** Main thread: the id of the call the worker is inside (0: none). */
  running(): number {
    return Atomics.load(this.view, CURRENT);
  }
}
