#!/usr/bin/env python3
"""Regenerates src/table/aws.rs, imds-identity's table of AWS's certificates.

AWS publishes the certificates that check instance identity signatures on
"AWS public certificates for instance identity document signatures":

    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/regions-certs.html
    https://docs.amazonaws.cn/en_us/AWSEC2/latest/UserGuide/regions-certs.html  (China)

one section per region ("US East (N. Virginia) — us-east-1"), each with a
DSA, an RSA and an RSA-2048 certificate (for the pkcs7, signature and
rsa2048 forms). Save the page's text (the .md rendering AWS serves next to
the .html, or the text copied from a browser) and run:

    python3 scripts/regenerate-certificates.py \\
        --page regions-certs.md [--page regions-certs-cn.md] \\
        --source 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/regions-certs.html' \\
        --taken 2026-12-02

A folder laid out as <dsa|rsa|rsa2048>/<region>.pem (how scrapes of that
page are often kept) works too: --pem-dir DIR. Several inputs merge; the
same region and form twice must hold the same certificate.

Python 3.8+, standard library only. Writes src/table/aws.rs (or --output)
and prints a coverage summary on stderr. Review the diff: a certificate that
changed for an existing region is worth a second look on AWS's page.
"""

import argparse
import base64
import datetime
import hashlib
import os
import re
import sys

FORMS = {
    # AWS's tab label -> (directory name in a scrape, Rust variant)
    "DSA": ("dsa", "Form::Pkcs7"),
    "RSA": ("rsa", "Form::Signature"),
    "RSA-2048": ("rsa2048", "Form::Rsa2048"),
}
REGION = r"[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}"
HEADING = re.compile(r"^[#\s*]*[^\n]*?[—–-]\s*(" + REGION + r")\s*$")
LABEL = re.compile(r"^[\s#*\-\[]*(DSA|RSA-2048|RSA)[\s\]*]*$")
PEM = re.compile(
    r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.DOTALL
)


def partition(region):
    if region.startswith("us-gov-"):
        return "Partition::GovCloud"
    if region.startswith("cn-"):
        return "Partition::China"
    if region.startswith("eusc-"):
        return "Partition::EuropeanSovereignCloud"
    return "Partition::Commercial"


def der_of(body, where):
    text = re.sub(r"\s+", "", body)
    try:
        der = base64.b64decode(text, validate=True)
    except ValueError as error:
        sys.exit(f"{where}: certificate is not base64: {error}")
    if not der.startswith(b"\x30"):
        sys.exit(f"{where}: certificate is not DER (does not start with a SEQUENCE)")
    return der


def from_page(path):
    """(region, label) -> DER, in page order, from the page's text."""
    found = {}
    region = label = None
    text = open(path, encoding="utf-8").read()
    # Walk the page line by line, but let a PEM block span lines (or not:
    # text copied from the HTML page may have it on one line).
    position = 0
    while position < len(text):
        start = text.find("-----BEGIN CERTIFICATE-----", position)
        pem = PEM.match(text, start) if start >= 0 else None
        next_pem = pem.start() if pem else len(text)
        for line in text[position:next_pem].splitlines():
            heading = HEADING.match(line)
            if heading and not LABEL.match(line):
                region, label = heading.group(1), None
                continue
            match = LABEL.match(line)
            if match:
                label = match.group(1)
        if not pem:
            break
        where = f"{path}: certificate at offset {pem.start()}"
        if region is None or label is None:
            sys.exit(f"{where}: no region heading or DSA/RSA/RSA-2048 label before it")
        if (region, label) in found:
            sys.exit(f"{where}: a second {label} certificate for {region}")
        found[(region, label)] = der_of(pem.group(1), where)
        position = pem.end()
    if not found:
        sys.exit(f"{path}: no certificates found; is this the regions-certs page?")
    return found


def from_pem_dir(path):
    found = {}
    for label, (directory, _) in FORMS.items():
        folder = os.path.join(path, directory)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            region, extension = os.path.splitext(name)
            if extension != ".pem" or not re.fullmatch(REGION, region):
                continue
            where = os.path.join(folder, name)
            blocks = PEM.findall(open(where, encoding="utf-8").read())
            if len(blocks) != 1:
                sys.exit(f"{where}: expected one certificate, found {len(blocks)}")
            found[(region, label)] = der_of(blocks[0], where)
    if not found:
        sys.exit(f"{path}: no <dsa|rsa|rsa2048>/<region>.pem files")
    return found


def pem_lines(der):
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def render(table, source, taken):
    names = {}
    for der in sorted(set(table.values()), key=lambda d: hashlib.sha256(d).hexdigest()):
        names[der] = "CERT_" + hashlib.sha256(der).hexdigest()[:12].upper()
    out = [
        "// @generated by crates/imds-identity/scripts/regenerate-certificates.py:",
        "// do not edit by hand; rerun the script (see its header for how).",
        "//",
        "// Source: " + source,
        "// Taken: " + taken,
        "",
        "use super::EmbeddedCertificate;",
        "use crate::{Form, Partition};",
        "",
        "const SOURCE: &str = " + rust_string(source) + ";",
        "const TAKEN: &str = " + rust_string(taken) + ";",
        "",
    ]
    for der, name in sorted(names.items(), key=lambda item: item[1]):
        users = sorted(f"{region} {label}" for (region, label), d in table.items() if d == der)
        out.append(f"// {', '.join(users)}")
        out.append(f"const {name}: &str = \"\\")
        for line in pem_lines(der).splitlines():
            out.append(line + "\\n\\")
        out.append('";')
        out.append("")
    out.append("pub(super) static CERTIFICATES: &[EmbeddedCertificate] = &[")
    order = {label: index for index, label in enumerate(["RSA-2048", "RSA", "DSA"])}
    for (region, label), der in sorted(table.items(), key=lambda i: (i[0][0], order[i[0][1]])):
        out.append("    EmbeddedCertificate {")
        out.append(f"        region: {rust_string(region)},")
        out.append(f"        partition: {partition(region)},")
        out.append(f"        form: {FORMS[label][1]},")
        out.append(f"        pem: {names[der]},")
        out.append("        source: SOURCE,")
        out.append("        taken: TAKEN,")
        out.append("    },")
    out.append("];")
    return "\n".join(out) + "\n"


def rust_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


SELF_TEST_PAGE = """
# AWS public certificates for instance identity document signatures
**Expand each Region below to view the Region-specific certificates.**

## US East (N. Virginia) — us-east-1
<a name="us-east-1-cert"></a>

------
#### [ DSA ]

```
-----BEGIN CERTIFICATE-----
MAMCAQE=
-----END CERTIFICATE-----
```
------
#### [ RSA ]

```
-----BEGIN CERTIFICATE-----
MAMCAQI=
-----END CERTIFICATE-----
```
------
#### [ RSA-2048 ]

```
-----BEGIN CERTIFICATE-----
MAMCAQM=
-----END CERTIFICATE-----
```

US West (Oregon) — us-west-2
- RSA-2048
-----BEGIN CERTIFICATE----- MAMC AQQ= -----END CERTIFICATE-----
"""


def self_test():
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as page:
        page.write(SELF_TEST_PAGE)
    try:
        found = from_page(page.name)
    finally:
        os.unlink(page.name)
    expected = {
        ("us-east-1", "DSA"): b"\x30\x03\x02\x01\x01",
        ("us-east-1", "RSA"): b"\x30\x03\x02\x01\x02",
        ("us-east-1", "RSA-2048"): b"\x30\x03\x02\x01\x03",
        ("us-west-2", "RSA-2048"): b"\x30\x03\x02\x01\x04",
    }
    assert found == expected, found
    rendered = render(found, "test page", "2026-01-01")
    assert rendered.count("EmbeddedCertificate {") == 4, rendered
    assert "form: Form::Pkcs7" in rendered and "partition: Partition::Commercial" in rendered
    print("self-test passed", file=sys.stderr)


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", action="append", default=[], help="text of AWS's page")
    parser.add_argument("--pem-dir", action="append", default=[], help="<form>/<region>.pem")
    parser.add_argument("--source", required=True, help="where the certificates came from")
    parser.add_argument("--taken", required=True, help="date they were taken, YYYY-MM-DD")
    parser.add_argument(
        "--output", default=os.path.join(here, "..", "src", "table", "aws.rs")
    )
    args = parser.parse_args()
    datetime.date.fromisoformat(args.taken)
    if not args.page and not args.pem_dir:
        parser.error("give at least one --page or --pem-dir")
    table = {}
    inputs = [(from_page, p) for p in args.page] + [(from_pem_dir, p) for p in args.pem_dir]
    for read, path in inputs:
        for key, der in read(path).items():
            if key in table and table[key] != der:
                sys.exit(f"{path}: {key[0]} {key[1]} differs from an earlier input")
            table[key] = der
    regions = sorted({region for region, _ in table})
    for region in regions:
        missing = [label for label in FORMS if (region, label) not in table]
        if missing:
            print(f"warning: {region} has no {', '.join(missing)} certificate", file=sys.stderr)
    with open(args.output, "w", encoding="utf-8") as output:
        output.write(render(table, args.source, args.taken))
    by_partition = {}
    for region in regions:
        by_partition.setdefault(partition(region), []).append(region)
    for name, members in sorted(by_partition.items()):
        print(f"{name}: {len(members)} regions: {' '.join(members)}", file=sys.stderr)
    print(
        f"{len(table)} certificates ({len(set(table.values()))} distinct) -> {args.output}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
