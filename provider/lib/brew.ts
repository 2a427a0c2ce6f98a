// Which version of a formula Homebrew uses, the one way colima-pulse reads it: the formula's opt
// link, `<prefix>/opt/<formula>`, which Homebrew points at the keg it linked
// (`../Cellar/<formula>/<version>`; Homebrew/brew keg.rb#optlink, utils/path.rb#formula_opt_prefix).
// Never `brew list --versions`: it prints every keg left in the Cellar — after an upgrade with
// HOMEBREW_NO_INSTALL_CLEANUP the old one too — in the file system's directory order
// (cmd/list.rb#filtered_list: `rack.subdirs`, extend/pathname.rb: `children`), which on APFS is a
// hash order, so the last version listed may be the old one (test/simulator/README.md, Homebrew).
import type { Mac } from "./mac";

/** The version in an opt link's target (`../Cellar/colima/0.10.3` → `0.10.3`), or undefined when
 *  the link does not point at a keg of `formula`. */
export function versionOfKeg(formula: string, target: string): string | undefined {
  const m = /(?:^|\/)Cellar\/([^/]+)\/([^/]+)\/?$/.exec(target);
  return m && m[1] === formula ? m[2] : undefined;
}

/** The linked version of each of `formulae` under Homebrew's `prefix`; a formula without an opt
 *  link to a keg that is there (not installed, or its keg removed by hand) is absent. Read-only:
 *  the reads are asked at once (over SSH, one round trip's time). */
export async function linkedVersions(mac: Mac, prefix: string, formulae: string[]): Promise<Record<string, string>> {
  const found = await Promise.all(
    formulae.map(async (f) => {
      const opt = `${prefix}/opt/${f}`;
      // `test -e` follows the link: false for a link whose keg is gone.
      const [target, there] = await Promise.all([mac.readLink(opt), mac.exists(opt)]);
      return [f, target && there ? versionOfKeg(f, target) : undefined] as const;
    }),
  );
  return Object.fromEntries(found.filter((e): e is readonly [string, string] => e[1] !== undefined));
}
