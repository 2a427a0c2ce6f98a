// Ids for command-line decisions (COLIMA_PULSE_RESET_ID, _RESTORE_ID, _UPGRADE_ID), as
// npm run reset, restore and upgrade make them (scripts/decide.ts decisionId): the UTC time to the second,
// YYYYMMDDTHHMMSSZ (stacks/commandLineDecisions.ts). Two decisions made within one second would
// get the same id — to the product, the same decision, carried out once — so a test's next
// decision gets the next second instead of waiting for it.

/** The product refuses an id more than 5 minutes ahead of its clock (stacks/commandLineDecisions.ts). */
const MAX_AHEAD_MS = 5 * 60_000;

/** A source of decision ids, each later than the one before: the time `now` to the second, or one
 *  second after the last id when that is later. Never waits; throws rather than hand out an id
 *  more than 5 minutes ahead of `now`, which the product would refuse. */
export function decisionIds(): (now?: Date) => string {
  let last = Number.NEGATIVE_INFINITY;
  return (now = new Date()) => {
    const at = Math.max(Math.floor(now.getTime() / 1000) * 1000, last + 1000);
    if (at - now.getTime() > MAX_AHEAD_MS) {
      throw new Error(`a decision id ${(at - now.getTime()) / 1000}s ahead of the clock: the product accepts at most 5 minutes`);
    }
    last = at;
    return new Date(at)
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d+Z$/, "Z");
  };
}

/** This process's decision ids: valid now, and strictly increasing across every test of the file. */
export const nextDecisionId = decisionIds();

/** The variable binding a decision to `stack`, as npm run reset, restore and upgrade set it
 *  (scripts/decide.ts boundStack: Pulumi.yaml's name, then the stack's): the program refuses a
 *  decision on any other stack (stacks/commandLineDecisions.ts checkDecisionStack). */
export function decisionFor(stack: string): { COLIMA_PULSE_DECISION_STACK: string } {
  return { COLIMA_PULSE_DECISION_STACK: `colima-pulse/${stack}` };
}
