// `--shard i/n`: which stacks of the selection this runner drives, so a CI matrix of n jobs covers
// the fleet once. Rendezvous (highest-random-weight) hashing: a stack goes to the shard whose
// sha256(`${shard}:${stack}`) is highest. The choice depends on the stack's name and n alone, so
// adding or removing a Mac moves no other Mac; only changing n reshuffles (Thaler & Ravishankar,
// "Using name-based mappings to increase hit rates", IEEE/ACM ToN 1998).
import { createHash } from "node:crypto";

export interface Shard {
  /** 1-based: this runner's shard. */
  index: number;
  count: number;
}

/** The largest n accepted: each stack hashes n times. */
export const MAX_SHARDS = 1000;

/** `--shard`'s value, or an error naming the option, the value and what is allowed. */
export function parseShard(value: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || count > MAX_SHARDS || index < 1 || index > count)
    throw new Error(
      `--shard (command line) = ${JSON.stringify(value)}: must be i/n, whole numbers with 1 <= i <= n <= ${MAX_SHARDS} (e.g. 2/4)`,
    );
  return { index, count };
}

/** The shard (1..count) that `stack` belongs to. */
export function shardOf(stack: string, count: number): number {
  let best = 1;
  let bestWeight = "";
  for (let s = 1; s <= count; s++) {
    const weight = createHash("sha256").update(`${s}:${stack}`).digest("hex");
    if (weight > bestWeight) {
      best = s;
      bestWeight = weight;
    }
  }
  return best;
}

/** The stacks of `stacks` in `shard`, in their order. */
export function inShard(stacks: string[], shard: Shard): string[] {
  return stacks.filter((s) => shardOf(s, shard.count) === shard.index);
}
