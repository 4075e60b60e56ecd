// Where the seat map stands in the event's seat-change sequence. The API numbers every
// published batch of changes; a batch that does not follow on from the last one means
// changes were missed (a map read a moment before, a dropped message), so the map must be
// fetched again rather than trusted.

/** Tracks the last seat-change sequence number the map includes. */
export class SeatSequence {
  private last: number | null = null;

  /** The map was (re)loaded at `sequence`. */
  reset(sequence: number): void {
    this.last = sequence;
  }

  /** The last sequence number the map includes, if known. */
  get current(): number | null {
    return this.last;
  }

  /**
   * Records a batch covering `from..to`; false when changes between the last one and it
   * were missed. A batch the map already includes (an old or repeated one) is fine: each
   * seat's version keeps the newer state.
   */
  accept(from: number, to: number): boolean {
    if (this.last === null) {
      this.last = to;
      return true;
    }
    const followsOn = from <= this.last + 1;
    this.last = Math.max(this.last, to);
    return followsOn;
  }
}
