/**
 * SAP Concur's published public keys for the ESS `Concur-Signature` header.
 *
 * Provenance (see docs/concur-api.md#ess-signature and the SAP-docs repository
 * `SAP-docs/preview.developer.concur.com`, folder `src/api-reference/ess/`):
 * the signing key has always been the key of the `webhook.api.concursolutions.com`
 * mTLS client certificate, and it rotates with the yearly certificate renewal.
 * The two older keys are printed in full in the ESS v4 page; the newer two are
 * the SubjectPublicKeyInfo of certificates SAP publishes next to that page
 * (extracted byte for byte, nothing typed by hand). A unit test parses every
 * key and checks the certificate-derived ones against the prefix and suffix the
 * docs print.
 */

export interface PublishedKey {
  /** Stable id, reported as msg.concur.keyId when this key verified a delivery. */
  id: string;
  /** Editor property (boolean) that enables the key. */
  property: string;
  label: string;
  /** Whether a new node enables it. */
  enabledByDefault: boolean;
  /** Where the bytes come from, for the help text and the report. */
  source: string;
  /** True when the docs name this key as the ESS signing key; false when only the pattern says so. */
  documentedForSignatures: boolean;
  pem: string;
}

export const CONCUR_PUBLISHED_KEYS: readonly PublishedKey[] = Object.freeze([
  {
    id: 'concur-2026-09',
    property: 'keyConcur202609',
    label: 'Concur webhook certificate from Sep 2026 (valid to 27 Mar 2027)',
    enabledByDefault: true,
    // Not printed as a signature key in the docs yet (UNCONFIRMED), but every earlier
    // signature key equalled the client-certificate key, and the previous certificate
    // expired on 28 Sep 2026, so this is the key most likely in use now.
    source: 'SPKI of src/api-reference/ess/2027.webhook.api.concursolutions.com.pem (serial 0699B29BA7F50FC07A15CFCD0A883A09, valid 2026-09-10..2027-03-27)',
    documentedForSignatures: false,
    pem: `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsroFFto0qtbbDIBvxrjL
OvrOmkVWu4r4WhvplsZQel6tZsXXDFuviu/Z1VCCJRSVGR3YMJf+qkJiWbzjzE3x
O9iB1SY3YXsel2Kzpx2AyZnKvHcRYth5bPyFHsrmZI430r9vnFaSjXMSWaKVIyTB
8bDKps7c58sjl25W5/jbjn+SHPP/nPXtRVymZmArpYCdPOCjZM+PkGsZX105o58D
a20sypgjQ5uI71m8vFUNBg6hOnwYaFghnS+b6gVy16vq9hU0AjnM2RTkvPYWCYdd
k6Ol5/mxjIrGnwabMPAKJxiS7F+V4szz81/LeTYrgo5z3tM3jTVkURDNOcVweKGK
JQIDAQAB
-----END PUBLIC KEY-----
`,
  },
  {
    id: 'concur-2025-10',
    property: 'keyConcur202510',
    label: 'Concur key "after Oct 22, 2025"',
    enabledByDefault: true,
    source:
      'documented key "after Oct 22, 2025" (ESS v4 page); full bytes = SPKI of ' +
      'src/api-reference/ess/2026.webhook.api.concursolutions.com.pem (serial 0F33EB21D3BB16502FD8028A9AA41705, valid 2025-09-29..2026-09-28)',
    documentedForSignatures: true,
    pem: `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuE2x914aLmJa9GSzVVcT
e6CEi3afbs84RIEhRoLO8oK2nBKKS0fyRfZtzUZIiD0kcjBjeLrMjJpC5oI6f709
DpGQSgL1ytzP9dnIp/n1lcCk88NA+ihJlHwB6gNX6lMbftTbCpxvkY6PZmjZfnw/
/Ito5iM2P2IY7oxK8GsYWXLnnMDw9ONnvxfPLoZLGxYXXs+zR2yGFiZ0wPRY6QJ+
NT0xusN2nacPPwtgQQoD/oh7QMaBhXZ7WLSM0Gm68/c2lzMjQjtXgwAyy1+5h4EH
YhasT+p98Q0P3LpMcX9wZN3hMqbhRiRaJAQffCdYgk2Kv6EjE2l88K8kXdsocIZc
iQIDAQAB
-----END PUBLIC KEY-----
`,
  },
  {
    id: 'concur-2023-11',
    property: 'keyConcur202311',
    label: 'Concur key "before Oct 22, 2025" (used from 20 Nov 2023)',
    enabledByDefault: false,
    source: 'documented key "After 20 Nov 2023" (ESS v4 page); also the key of the 2024 and 2025 webhook certificates',
    documentedForSignatures: true,
    pem: `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2wJd8TVDGUxD00bCqemz
cptSfm7VGNa8Bm2DIpmqobzN6jv/HNzI3HPjeqcP1GtA4vjoFkFRaW2Qs286cI7e
9GcLbJP4mzww97LfbZYGTI+9SAlxDKEZl/AWbwTi6P8lOxho8fQ4Sv4eSK7hyL3l
I82XdBYJ2JWRpEQ1hZOui1f0BlFyqFVrEbzolE6S0eeP3gb1szFELz8ES5T4/T0o
Tz1KZE2knMsugAz760Mlmc7EuLutnNhfCZQypNUZ9fI2CMSZWHZa8IH9MCz/ywuE
NYp3hlsu0Q+oYeAwpDKyoWNLcV8pKaStVnP+3yn+/J3/oK4Rtqz/lKRrepxwTVRA
1wIDAQAB
-----END PUBLIC KEY-----
`,
  },
  {
    id: 'concur-2019',
    property: 'keyConcur2019',
    label: 'Concur 2019-era key (used until 20 Nov 2023)',
    enabledByDefault: false,
    source: 'documented key "Before 20 Nov 2023" (ESS v4 page, common/ess/getting-started); key of the certificates that expired Feb 2023 and Feb 2024',
    documentedForSignatures: true,
    pem: `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxS1LsXrEWEEMPooLHa4r
osCAnmkO3HaBAk0YcsDMR6hQeuQNLqRWP65TpbfTbKWmZ22Hzep3Ekhs1qvSZgI+
iq/bnVeDhkcD+LqVQGP+7fyE0E0bO96FOzMmtbRet4wAiiE9+uw5GmZfg+fRG3yI
y2N5u5p7VHJ1RwNugrIUQjhrLvZc+lhqR/aKTxQCQ5CGAgLZIcr3FIWCWrSBMK3d
Wy3KI+qe3ZX0STrCCNxl2UFnuuAa2RZZ2j4QtWHlNkyK+UEup+cGkvpc1XrT7anL
HlbTP6jE7MqB5sJ9r2EEzrJzJZjD13UqlzvI61tTC8SKpuk5AEaSsUV7RKlKUCjB
8wIDAQAB
-----END PUBLIC KEY-----
`,
  },
] satisfies PublishedKey[]);

/** The subject CN of the certificate ESS presents for mutual TLS. */
export const CONCUR_WEBHOOK_CN = 'webhook.api.concursolutions.com';
