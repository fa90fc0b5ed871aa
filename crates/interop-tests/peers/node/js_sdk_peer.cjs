// The AWS SDK for JavaScript v3 reads IMDS at AWS_EC2_METADATA_SERVICE_ENDPOINT.
//
// Run by crates/interop-tests/tests/js_sdk.rs with an empty environment but
// for the endpoint, an isolated HOME and config files that do not exist, and
// IMDS_PEERS_DIR (the pinned packages, installed with `npm ci`). Prints one
// JSON object on stdout:
//
// - versions: the two packages' versions;
// - credentials: fromInstanceMetadata() from @smithy/credential-provider-imds;
// - instanceId, region: MetadataService.request() from
//   @aws-sdk/ec2-metadata-service, which fetches a token for each request.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { createRequire } = require("node:module");

const dir = process.env.IMDS_PEERS_DIR;
const peers = createRequire(path.join(dir, "package.json"));
const { fromInstanceMetadata } = peers("@smithy/credential-provider-imds");
const { MetadataService } = peers("@aws-sdk/ec2-metadata-service");

const version = (name) =>
  JSON.parse(fs.readFileSync(path.join(dir, "node_modules", name, "package.json"), "utf8"))
    .version;

async function main() {
  // No retries, a short timeout: the mock is on loopback, and a failure
  // should show at once.
  const credentials = await fromInstanceMetadata({ timeout: 2000, maxRetries: 0 })();
  const service = new MetadataService({ httpOptions: { timeout: 2000 }, retries: 0 });
  const instanceId = await service.request("/latest/meta-data/instance-id", {});
  const region = await service.request("/latest/meta-data/placement/region", {});
  process.stdout.write(
    JSON.stringify({
      versions: {
        "@smithy/credential-provider-imds": version("@smithy/credential-provider-imds"),
        "@aws-sdk/ec2-metadata-service": version("@aws-sdk/ec2-metadata-service"),
      },
      credentials: {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        sessionToken: credentials.sessionToken,
        expiration: credentials.expiration.toISOString(),
      },
      instanceId,
      region,
    }) + "\n",
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
