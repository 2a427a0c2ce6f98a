// "did you mean …?": the known word a mistyped one most likely meant. One rule for every place
// that names what is allowed: a setting's key (stacks/config.ts), a fleet command (fleet/cli.ts).

/** A known word that `word` is a case variant, a near-miss (edit distance ≤ 2) or a prefix of;
 *  compared without case. */
export function suggest(word: string, known: readonly string[]): string | undefined {
  const upper = word.toUpperCase();
  const same = (k: string) => k.toUpperCase();
  return (
    known.find((k) => same(k) === upper) ??
    known.find((k) => distance(same(k), upper) <= 2) ??
    known.find((k) => upper.length >= 4 && same(k).startsWith(upper))
  );
}

/** Levenshtein distance: insertions, deletions and substitutions. */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j] as number;
      row[j] = Math.min(here + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length] as number;
}
