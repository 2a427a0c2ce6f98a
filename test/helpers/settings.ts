// The problems resolveSettings reports for `layers` ([] when they are valid).
import { ConfigError, type LayerValues, resolveSettings } from "../../stacks/config";

export function settingsProblems(layers: LayerValues[]): string[] {
  try {
    resolveSettings(layers);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}
