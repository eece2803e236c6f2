/**
 * When to switch the free map between its extent form and its compact bitmap form.
 *
 * The extent form costs memory per free run; past `freeExtentCountCap` runs (and only if the
 * bitmap would actually be smaller) the map becomes a bitmap. It switches back when the run
 * count falls below half the cap: the gap between the two thresholds (hysteresis) keeps a
 * workload hovering near the cap from converting back and forth.
 *
 * Both forms answer every FreeMap query identically (same tie-breaking), so a switch never
 * changes where the next allocation goes.
 */
import { BitmapMap } from './bitmap-map.js';
import { ExtentMap } from './extent-map.js';
import type { FreeMap } from './free-map.js';
import type { Geometry } from './geometry.js';

/** Bytes one free run costs in the extent form (two index nodes of 44 bytes). */
const EXTENT_FORM_BYTES_PER_RUN = 88;

/** The map to use from now on: `map` itself, or a converted copy. */
export function convertForm(map: FreeMap, geometry: Geometry): FreeMap {
  const cap = geometry.freeExtentCountCap;
  if (map.kind === 'extents' && map.runCount > cap) {
    const bitmapBytes = geometry.unitCount / 8;
    if (bitmapBytes >= map.runCount * EXTENT_FORM_BYTES_PER_RUN) return map;
    return copyInto(map, new BitmapMap(geometry.unitCount, geometry.stripeUnits));
  }
  if (map.kind === 'bitmap' && map.runCount < cap / 2) {
    return copyInto(map, new ExtentMap(geometry.unitCount, geometry.stripeUnits));
  }
  return map;
}

function copyInto(source: FreeMap, target: FreeMap): FreeMap {
  source.forEach((start, length) => {
    target.insert(start, length);
  });
  return target;
}
