/**
 * The contract of a simulation target for `npm run sim -- <target>`.
 *
 * A target lives in test/sim/targets/<name>.ts and default-exports a SimTarget. One run takes
 * one seed and derives every random choice from it, so `--runs 1 --seed S` replays run S.
 * It returns the violations it found (empty = the run passed); it throws only on a bug in the
 * harness itself (which the runner also counts as a violation).
 */
export interface SimRunContext {
  seed: number;
  /** Larger campaigns may scale work per run with this (1 = default). */
  scale: number;
  /** Verbose progress lines (printed with --verbose). */
  log: (line: string) => void;
}

export interface SimTarget {
  /** One line: what a run does and what it checks. */
  describe: string;
  run(ctx: SimRunContext): Promise<string[]>;
}
