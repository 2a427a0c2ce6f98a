// The program `pulumi up` runs: one stack per machine (stacks/Pulumi.<machine>.yaml), fleet-wide
// defaults in Pulumi.yaml's `config:` block.
import * as pulumi from "@pulumi/pulumi";
import { SmokeContainer } from "../provider/smokeContainer";

const config = new pulumi.Config();

const smoke = new SmokeContainer("smoke", {
  dockerHost: config.require("dockerHost"),
  image: config.require("smokeImage"),
  expectOutput: config.require("smokeExpectOutput"),
});

export const dockerHost = config.require("dockerHost");
export const smokeImageDigest = smoke.imageDigest;
export const smokeOutput = smoke.output;
export const dockerServerVersion = smoke.serverVersion;
