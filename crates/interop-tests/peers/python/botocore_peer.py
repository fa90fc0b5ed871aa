"""botocore and boto3 read IMDS at AWS_EC2_METADATA_SERVICE_ENDPOINT.

Run by crates/interop-tests/tests/botocore.rs with an empty environment but
for the endpoint, an isolated HOME and config files that do not exist, and
IMDS_PEERS_DIR (the pinned packages). Prints one JSON object on stdout:

- versions: what was imported, and from where;
- fetcher: InstanceMetadataFetcher().retrieve_iam_role_credentials();
- region_fetcher: InstanceMetadataRegionFetcher().retrieve_region();
- session: a boto3 Session with no other credentials source: its
  credentials (and the provider that found them), its region_name (botocore
  never takes a session's region from IMDS), the region its IMDS region
  provider reads (what defaults_mode "auto" uses), and the connect timeout
  that mode gives a client in that region and in another one.

No AWS API is called: creating a client sends nothing.
"""

import json
import os
import sys

sys.path.insert(0, os.environ["IMDS_PEERS_DIR"])

import boto3  # noqa: E402
import botocore  # noqa: E402
import botocore.config  # noqa: E402
import botocore.utils  # noqa: E402

ENDPOINT = os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"]
# One attempt, a short timeout: the mock is on loopback, and a failure
# should show at once rather than after botocore's retries.
TIMEOUT = 2
ATTEMPTS = 1


def fetcher():
    credentials = botocore.utils.InstanceMetadataFetcher(
        timeout=TIMEOUT,
        num_attempts=ATTEMPTS,
        config={"ec2_metadata_service_endpoint": ENDPOINT},
    ).retrieve_iam_role_credentials()
    if not credentials:
        raise SystemExit("InstanceMetadataFetcher returned no credentials")
    return credentials


def region_fetcher():
    return botocore.utils.InstanceMetadataRegionFetcher(
        timeout=TIMEOUT,
        num_attempts=ATTEMPTS,
        config={"ec2_metadata_service_endpoint": ENDPOINT},
    ).retrieve_region()


def session():
    session = boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise SystemExit("the boto3 session found no credentials")
    frozen = credentials.get_frozen_credentials()
    imds_region = botocore.utils.IMDSRegionProvider(session._session).provide()
    auto = botocore.config.Config(defaults_mode="auto")
    in_region = session.client("sts", region_name=imds_region, config=auto)
    elsewhere = session.client("sts", region_name="eu-west-3", config=auto)
    return {
        "method": credentials.method,
        "access_key": frozen.access_key,
        "secret_key": frozen.secret_key,
        "token": frozen.token,
        "region_name": session.region_name,
        "imds_region": imds_region,
        "auto_connect_timeout_in_region": in_region.meta.config.connect_timeout,
        "auto_connect_timeout_elsewhere": elsewhere.meta.config.connect_timeout,
    }


print(
    json.dumps(
        {
            "versions": {
                "botocore": botocore.__version__,
                "boto3": boto3.__version__,
                "botocore_file": botocore.__file__,
            },
            "fetcher": fetcher(),
            "region_fetcher": region_fetcher(),
            "session": session(),
        }
    )
)
