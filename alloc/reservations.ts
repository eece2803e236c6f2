/**
 * Space reservations: a promise that a number of units will be allocatable later, so an
 * allocation drawn from a reservation can never fail with ENOSPC (an OSD reserves when a PG goes
 * active or starts recovery, and transactions redeem the reservation).
 *
 * A reservation does not pin particular units; it only lowers the space ordinary allocations
 * may use. The allocator keeps `free units >= reserved units` at all times, which is what makes
 * the promise hold.
 */
import { assert } from '../common/assert.js';
import { EbofsError } from '../common/errors.js';
import { RESERVATION_COUNT_MAX } from './format.js';

/** A live or released reservation, as callers see it. */
export interface Reservation {
  /** Unique within its allocator. */
  readonly id: number;
  /** Bytes reserved at creation (rounded up to the allocation unit). */
  readonly bytes: number;
  /** Bytes not yet drawn by allocations. */
  readonly remainingBytes: number;
  /** False once released. */
  readonly live: boolean;
}

/** The allocator's record behind a `Reservation`. */
export class ReservationRecord implements Reservation {
  remainingUnits: number;
  live = true;

  constructor(
    readonly owner: Reservations,
    readonly id: number,
    readonly units: number,
    private readonly unitBytes: number,
  ) {
    this.remainingUnits = units;
  }

  get bytes(): number {
    return this.units * this.unitBytes;
  }

  get remainingBytes(): number {
    return this.remainingUnits * this.unitBytes;
  }
}

/** The live reservations of one allocator and their reserved total. */
export class Reservations {
  private readonly live = new Map<number, ReservationRecord>();
  private nextId = 1;
  /** Sum of remaining units over live reservations. */
  units = 0;

  constructor(private readonly unitBytes: number) {}

  get count(): number {
    return this.live.size;
  }

  create(units: number): ReservationRecord {
    if (this.live.size >= RESERVATION_COUNT_MAX) {
      throw new EbofsError('E2BIG', `more than ${RESERVATION_COUNT_MAX} live reservations`);
    }
    const record = new ReservationRecord(this, this.nextId++, units, this.unitBytes);
    this.live.set(record.id, record);
    this.units += units;
    return record;
  }

  /** The live record behind `reservation`, or EINVAL if it is foreign or released. */
  resolve(reservation: Reservation): ReservationRecord {
    const record = this.live.get(reservation.id);
    if (record === undefined || record !== reservation) {
      throw new EbofsError('EINVAL', `reservation ${reservation.id} is released or foreign`);
    }
    return record;
  }

  /** Draws `units` (at most what remains) from a live record. */
  draw(record: ReservationRecord, units: number): void {
    assert(record.live && units >= 0 && units <= record.remainingUnits, 'overdrawn reservation');
    record.remainingUnits -= units;
    this.units -= units;
  }

  /** Gives back `units` drawn by an allocation that was undone (a live record only). */
  refund(record: ReservationRecord, units: number): void {
    if (!record.live) return;
    const back = Math.min(units, record.units - record.remainingUnits);
    record.remainingUnits += back;
    this.units += back;
  }

  /** Ends a reservation; returns the units it gives back. */
  release(record: ReservationRecord): number {
    assert(record.live, 'release of a released reservation');
    const units = record.remainingUnits;
    this.units -= units;
    record.remainingUnits = 0;
    record.live = false;
    this.live.delete(record.id);
    return units;
  }

  /** Recount of remaining units (for the checker). */
  recount(): number {
    let units = 0;
    for (const record of this.live.values()) units += record.remainingUnits;
    return units;
  }
}
