// Every dynamic provider's implementation, as the engine's provider plugin loads them: the stored
// provider text (provider/lib/byReference.ts) takes `<resource>Provider` from this module, bundled
// into one file by scripts/prebuild.ts (scripts/prebuilt.cjs loads it). A new resource's provider
// is exported here too (test/provider/serialization.test.ts checks each one is).
export { colimaProfileProvider } from "./colimaProfile";
export { containerInstallerProvider } from "./containerInstaller";
export { dockerAccessProvider } from "./dockerAccess";
export { healthGateProvider } from "./healthGate";
export { homebrewPackagesProvider } from "./homebrewPackages";
export { launchDaemonProvider } from "./launchDaemon";
export { logRotationProvider } from "./logRotation";
export { powerSettingsProvider } from "./powerSettings";
export { smokeContainerProvider } from "./smokeContainer";
