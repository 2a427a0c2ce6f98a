// The real services the harness started (test/services/services.sh), read from the environment
// that scripts/test.sh exports. A test that needs them fails loudly when they are missing: a
// skipped end-to-end test proves nothing.

export interface TestServices {
  /** unix:///…/docker.sock of the harness's own dockerd. */
  dockerHost: string;
  /** 127.0.0.1:<port> of the loopback registry. */
  registry: string;
  /** The locally built hello-world image, pushed to that registry. */
  smokeImage: string;
}

export function testServices(): TestServices {
  const dockerHost = process.env.TEST_DOCKER_HOST;
  const registry = process.env.TEST_REGISTRY;
  const smokeImage = process.env.TEST_SMOKE_IMAGE;
  if (!dockerHost || !registry || !smokeImage) {
    throw new Error(
      "TEST_DOCKER_HOST, TEST_REGISTRY and TEST_SMOKE_IMAGE are not set: run the suite with `npm test`, which starts dockerd and the registry",
    );
  }
  return { dockerHost, registry, smokeImage };
}
