// Preloaded (NODE_OPTIONS=--require) into the pulumi processes of a simulated Mac's stack whose
// operator is not the Homebrew user (test/helpers/simulatedMac.ts): the program's and the
// providers' own connects to the simulated Mac's unix sockets get macOS connect(2)'s checks for
// SIM_USER (connectCheck.ts), as a real Mac's kernel makes them for that operator; so do their
// direct reads of the simulated Mac's files (provider/lib/mac.ts LocalMac).
const root = process.env.COLIMA_PULSE_HOST_ROOT;
if (root && process.env.SIM_USER) {
  require("tsx/cjs");
  const check = require("./connectCheck.ts");
  check.enforceConnectPermissions(root);
  check.enforceReadPermissions(root);
}
