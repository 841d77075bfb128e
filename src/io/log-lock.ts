/**
 * One writer per log: `<log>.lock` beside it holds the writer's pid and host, created with O_EXCL.
 * A second writer is refused with a line naming the first; a lock left by a process that no longer
 * exists on this host (killed with SIGKILL, machine rebooted) is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { UsageError } from '../core/errors.js';

export function lockPath(logPath: string): string {
  return `${logPath}.lock`;
}

interface Owner {
  pid: number;
  host: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): Owner | null {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Owner;
    return Number.isInteger(owner.pid) && typeof owner.host === 'string' ? owner : null;
  } catch {
    return null;
  }
}

/** Takes the lock of `logPath`; returns the function that releases it. */
export function lockLog(logPath: string): () => void {
  const path = lockPath(logPath);
  const me: Owner = { pid: process.pid, host: hostname() };
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST')
        throw new UsageError(`cannot create the lock ${path}: ${code ?? (e as Error).message}`);
      const owner = readOwner(path);
      const stale = owner !== null && owner.host === me.host && !alive(owner.pid);
      if ((stale || owner === null) && attempt === 0) {
        // a dead writer's lock (or one torn at creation): take it over, once
        unlinkSync(path);
        continue;
      }
      const who = owner ? `process ${owner.pid} on ${owner.host}` : 'another process';
      throw new UsageError(
        `${logPath} is being written by ${who} (lock ${path}); wait for it to finish, or delete the lock if that process is gone`,
      );
    }
    writeSync(fd, JSON.stringify(me) + '\n');
    closeSync(fd);
    return () => {
      const owner = readOwner(path);
      if (owner && owner.pid === me.pid && owner.host === me.host) unlinkSync(path);
    };
  }
}
