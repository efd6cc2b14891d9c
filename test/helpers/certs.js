'use strict';
/**
 * Generates a throw-away PKI with the openssl CLI for mTLS tests: a CA, a
 * server certificate for 127.0.0.1/localhost, client certificates with chosen
 * CNs, and a second CA that Node-RED does not trust.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
}

function makeCa(dir, name) {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${name} test CA`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return { key: path.join(dir, `${name}.key`), cert: path.join(dir, `${name}.crt`) };
}

function issue(dir, ca, name, subj, ext) {
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj], dir);
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`],
    dir,
  );
  const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8');
  return { keyFile: path.join(dir, `${name}.key`), certFile: path.join(dir, `${name}.crt`), key: read(`${name}.key`), cert: read(`${name}.crt`) };
}

/** Creates the PKI in a temp dir; call cleanup() when done. */
function makePki() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-pki-'));
  const ca = makeCa(dir, 'ca');
  const rogueCa = makeCa(dir, 'rogue');
  const clientExt = 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n';
  const server = issue(
    dir,
    ca,
    'server',
    '/CN=localhost',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  const good = issue(dir, ca, 'client-good', '/C=DE/ST=Baden-Wuerttemberg/L=Walldorf/O=SAP SE/CN=webhook.api.concursolutions.com', clientExt);
  const wrongCn = issue(dir, ca, 'client-wrong-cn', '/O=Somebody/CN=attacker.example.com', clientExt);
  const untrusted = issue(dir, rogueCa, 'client-untrusted', '/O=SAP SE/CN=webhook.api.concursolutions.com', clientExt);
  return {
    dir,
    caFile: ca.cert,
    caPem: fs.readFileSync(ca.cert, 'utf8'),
    server,
    clients: { good, wrongCn, untrusted },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A self-signed certificate with the CN of your choice and its key: what anyone
 * can make (the forged-header tests). Returns PEM strings and the private KeyObject.
 */
function selfSigned(cn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'concur-forged-'));
  try {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '2', '-subj', `/O=SAP SE/CN=${cn}`], dir);
    const key = fs.readFileSync(path.join(dir, 'k.pem'), 'utf8');
    return { key, cert: fs.readFileSync(path.join(dir, 'c.pem'), 'utf8'), privateKey: require('node:crypto').createPrivateKey(key) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { makePki, selfSigned };
