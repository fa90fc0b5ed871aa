#!/usr/bin/env bash
# Regenerates the mock's TEST-ONLY signing keys and their self-signed
# certificates (src/signing/keys/). These keys are published in the
# repository on purpose: they are not secret and must never be trusted for
# anything but tests. Nothing runs this script at build or test time.
#
# Two authorities with the same names and serial numbers but other keys:
# `test` (what the mock signs with by default) and `impostor` (a signature a
# verifier that trusts `test` must refuse). Per authority, one key and
# certificate per form, shaped like AWS's:
#   rsa2048    RSA-2048, certificate signed with SHA-256
#   signature  RSA-1024 (AWS's "RSA" certificates hold 1024-bit keys)
#   pkcs7      DSA-1024/160, certificate signed with DSA/SHA-1
#
# Needs OpenSSL 3. Usage: crates/imds-mock/scripts/regenerate-test-keys.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../src/signing/keys"

subject() { # form
  echo "/C=US/ST=Washington State/L=Seattle/O=imds-mock test CA, not AWS, test only/CN=imds-mock $1"
}
serial() { # form
  case "$1" in
    rsa2048) echo 0x7E57CA0000002048 ;;
    signature) echo 0x7E57CA0000001024 ;;
    pkcs7) echo 0x7E57CA00000000D5 ;;
  esac
}

openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:1024 \
  -pkeyopt dsa_paramgen_q_bits:160 -pkeyopt dsa_paramgen_md:sha1 -out dsa-params.pem 2>/dev/null
for authority in test impostor; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$authority-rsa2048.key.pem" 2>/dev/null
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$authority-signature.key.pem" 2>/dev/null
  openssl genpkey -paramfile dsa-params.pem -out "$authority-pkcs7.key.pem"
  for form in rsa2048 signature pkcs7; do
    digest=-sha256
    [ "$form" = pkcs7 ] && digest=-sha1
    openssl req -new -x509 -key "$authority-$form.key.pem" "$digest" -days 73000 \
      -set_serial "$(serial "$form")" -subj "$(subject "$form")" \
      -out "$authority-$form.cert.pem"
  done
done
rm dsa-params.pem
