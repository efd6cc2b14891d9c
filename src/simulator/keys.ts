/**
 * The simulator's ESS signing key pair. Generated once into a key directory
 * (default `.concur-sim/` in the working directory) and reused, so a receiver
 * configured with the public key keeps working across restarts. Keys are
 * loaded once into KeyObjects.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PRIVATE_KEY_FILE = 'ess-signing-key.pem';
export const PUBLIC_KEY_FILE = 'ess-signing-key.pub.pem';

export interface EssKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM to paste into the ESS receiver's key list. */
  publicPem: string;
  privatePath?: string;
  publicPath?: string;
  /** True when this call generated the files. */
  created: boolean;
}

export function defaultKeyDir(cwd = process.cwd()): string {
  return process.env.CONCUR_SIM_DIR ? path.resolve(process.env.CONCUR_SIM_DIR) : path.join(cwd, '.concur-sim');
}

export function generatePems(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicExponent: 0x10001,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}

function fromPrivatePem(pem: string | Buffer, created: boolean, privatePath?: string, publicPath?: string): EssKeyPair {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'rsa') throw new Error(`the ESS signing key must be an RSA key (got ${privateKey.asymmetricKeyType})`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string, privatePath, publicPath, created };
}

/** Writes a new key pair into `dir`; refuses to overwrite unless `force`. */
export function writeKeyPair(dir: string, opts: { force?: boolean } = {}): EssKeyPair {
  fs.mkdirSync(dir, { recursive: true });
  const privatePath = path.join(dir, PRIVATE_KEY_FILE);
  const publicPath = path.join(dir, PUBLIC_KEY_FILE);
  const { privatePem, publicPem } = generatePems();
  const flag = opts.force ? 'w' : 'wx';
  fs.writeFileSync(privatePath, privatePem, { mode: 0o600, flag });
  fs.writeFileSync(publicPath, publicPem, { flag: 'w' });
  return fromPrivatePem(privatePem, true, privatePath, publicPath);
}

/** Loads the key pair from `dir`, generating it on first use. Safe when two processes race. */
export function loadOrCreateKeyPair(dir = defaultKeyDir()): EssKeyPair {
  const privatePath = path.join(dir, PRIVATE_KEY_FILE);
  const publicPath = path.join(dir, PUBLIC_KEY_FILE);
  if (!fs.existsSync(privatePath)) {
    try {
      return writeKeyPair(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // Another process created it first: fall through and read theirs.
    }
  }
  const pair = fromPrivatePem(fs.readFileSync(privatePath), false, privatePath, publicPath);
  if (!fs.existsSync(publicPath)) fs.writeFileSync(publicPath, pair.publicPem);
  return pair;
}

/** Loads a private key given as a PEM string or a file path. */
export function loadPrivateKey(fileOrPem: string | Buffer): EssKeyPair {
  const text = Buffer.isBuffer(fileOrPem) ? fileOrPem : fileOrPem.includes('-----BEGIN') ? fileOrPem : fs.readFileSync(fileOrPem);
  return fromPrivatePem(text, false, typeof fileOrPem === 'string' && !fileOrPem.includes('-----BEGIN') ? fileOrPem : undefined);
}
