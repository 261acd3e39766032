// Writes the "Matter Test PAA" root certificate that matter.js signs its test device attestation
// chain with into DIR (DER and PEM), plus the `.version` file python-matter-server expects: without
// it the server deletes the folder's certificates at start, and with a fresh one it also skips its
// internet fetch of the production PAAs. Usage: node export-paa.js DIR

import { TestCert_PAA_NoVID_Cert } from "@matter/protocol";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (!dir) {
    process.stderr.write("usage: node export-paa.js DIR\n");
    process.exit(2);
}
mkdirSync(dir, { recursive: true });
const der = Buffer.from(TestCert_PAA_NoVID_Cert);
const base64 = der.toString("base64").replace(/(.{64})/g, "$1\n").trimEnd();
writeFileSync(join(dir, "Matter-Test-PAA.der"), der);
writeFileSync(join(dir, "Matter-Test-PAA.pem"), `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`);
writeFileSync(join(dir, ".version"), "zshub-test-paa\n");
process.stdout.write(`${dir}\n`);
