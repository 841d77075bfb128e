/**
 * Connections to the Redis server that holds a queue (`--queue redis://[user:password@]host:port[/db]`).
 * The first connection must succeed at once (an unreachable Redis is a one-line error); after that a
 * lost connection is retried for ever, so a Redis restart only pauses producers, workers and
 * collectors.
 */
import { Redis } from 'ioredis';
import { UsageError } from '../core/errors.js';

/** The URL checked: redis:// or rediss:// with a host. */
export function parseRedisUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--queue must be a Redis URL such as redis://localhost:6379, got "${text}"`);
  }
  if ((url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '')
    throw new UsageError(`--queue must be a Redis URL such as redis://localhost:6379, got "${text}"`);
  return url;
}

/** The URL without its password, for messages and manifests. */
export function redactRedisUrl(text: string): string {
  const url = parseRedisUrl(text);
  if (url.password) url.password = '***';
  return url.toString().replace(/\/$/, '');
}

/** Waits between reconnection attempts: 0.1 s, 0.2 s, ... up to 2 s, for ever. */
const reconnect = (times: number) => Math.min(times * 100, 2000);

/**
 * A connected client. `onError` hears connection problems after the first connection (the client
 * reconnects by itself); the first connection failing is a UsageError naming the server.
 */
export async function connectRedis(url: string, onError: (e: Error) => void = () => {}): Promise<Redis> {
  parseRedisUrl(url);
  const client = new Redis(url, {
    lazyConnect: true,
    // BullMQ's blocking commands need requests that wait for the connection instead of failing
    maxRetriesPerRequest: null,
    retryStrategy: reconnect,
    connectTimeout: 5000,
  });
  let first: Error | null = null;
  const early = (e: Error) => (first ??= e);
  client.on('error', early);
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    client.disconnect();
    const why = (first ?? (e as Error)).message.split('\n')[0];
    throw new UsageError(`cannot reach Redis at ${redactRedisUrl(url)} (${why})`);
  }
  client.off('error', early);
  client.on('error', onError);
  return client;
}
