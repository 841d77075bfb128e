/**
 * Signed attestations of a certification run: an in-toto Statement v1 in a DSSE envelope, signed
 * with Ed25519 (node:crypto, no network). Format: docs/attestation.md.
 *
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 *   (LEN: the byte length in ASCII decimal, no leading zeros; SP: one 0x20 byte)
 *   envelope = { payload: base64(body), payloadType, signatures: [{ keyid, sig: base64(Ed25519(PAE)) }] }
 */
import {
  type KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';

export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'urn:smooth-reduce:certification:v1';

export interface Subject {
  name: string;
  digest: { sha256: string };
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: Subject[];
  predicateType: string;
  predicate: Record<string, unknown>;
}

export interface Envelope {
  payload: string;
  payloadType: string;
  signatures: { keyid: string; sig: string }[];
}

/** DSSE's pre-authentication encoding of a payload and its type. */
export function pae(type: string, body: Buffer): Buffer {
  const t = Buffer.from(type, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${body.length} `), body]);
}

/** The key id: sha256 of the public key's SubjectPublicKeyInfo (DER), hex. */
export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export const sha256Hex = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** Writes a new Ed25519 key pair: `<base>.key` (PKCS#8 PEM, mode 0600) and `<base>.pub` (SPKI PEM). */
export function generateKeys(base: string): { privatePath: string; publicPath: string; keyid: string } {
  const privatePath = `${base}.key`;
  const publicPath = `${base}.pub`;
  for (const p of [privatePath, publicPath])
    if (existsSync(p)) throw new UsageError(`${p} exists; choose another name or delete it`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privatePath, publicPath, keyid: keyId(publicKey) };
}

/** An Ed25519 key from a PEM file (private or public, as `kind` says); a UsageError otherwise. */
export function readKey(path: string, kind: 'private' | 'public'): KeyObject {
  if (!existsSync(path)) throw new UsageError(`no such key: ${path}`);
  let key: KeyObject;
  try {
    const pem = readFileSync(path);
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
  } catch {
    throw new UsageError(`${path} is not a ${kind} key in PEM format (smooth-reduce keygen writes one)`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new UsageError(`${path} is a ${key.asymmetricKeyType} key; attestations are signed with Ed25519`);
  return key;
}

/** The statement signed into a DSSE envelope. */
export function signStatement(statement: Statement, key: KeyObject): Envelope {
  const body = Buffer.from(JSON.stringify(statement), 'utf8');
  const sig = sign(null, pae(PAYLOAD_TYPE, body), key);
  return {
    payload: body.toString('base64'),
    payloadType: PAYLOAD_TYPE,
    signatures: [{ keyid: keyId(key), sig: sig.toString('base64') }],
  };
}

/**
 * The statement of an envelope whose signature `key` made, or a reason why not (not an envelope,
 * another payload type, no signature by this key, not an in-toto Statement v1).
 */
export function openEnvelope(text: string, key: KeyObject): { statement: Statement; keyid: string } | string {
  let env: Partial<Envelope>;
  try {
    env = JSON.parse(text) as Partial<Envelope>;
  } catch {
    return 'not JSON';
  }
  if (
    typeof env !== 'object' ||
    env === null ||
    typeof env.payload !== 'string' ||
    !Array.isArray(env.signatures)
  )
    return 'not a DSSE envelope (payload, payloadType, signatures)';
  if (env.payloadType !== PAYLOAD_TYPE)
    return `payloadType is ${JSON.stringify(env.payloadType)}, not ${PAYLOAD_TYPE}`;
  const body = Buffer.from(env.payload, 'base64');
  // base64 that does not round-trip has been altered (Node's decoder skips bad characters)
  if (body.toString('base64') !== env.payload) return 'the payload is not canonical base64';
  const message = pae(PAYLOAD_TYPE, body);
  const signed = env.signatures.some(
    (s) => typeof s?.sig === 'string' && verify(null, message, key, Buffer.from(s.sig, 'base64')),
  );
  const keyid = keyId(key);
  if (!signed) return `no valid signature by key ${keyid.slice(0, 16)}...`;
  let statement: Statement;
  try {
    statement = JSON.parse(body.toString('utf8')) as Statement;
  } catch {
    return 'the payload is not JSON';
  }
  if (statement?._type !== STATEMENT_TYPE || !Array.isArray(statement.subject))
    return `the payload is not an in-toto Statement v1`;
  return { statement, keyid };
}
