/**
 * A port that cannot be listened on is a setting to change, not a crash: the message names the
 * setting (PORT, SAMPLE_CRM_PORT, --port) instead of printing a stack trace.
 */
export class ListenError extends Error {
  static wrap(e: unknown, setting: string): unknown {
    const err = e as NodeJS.ErrnoException & { port?: number; address?: string };
    if (err?.code === 'EADDRINUSE')
      return new ListenError(`port ${err.port ?? '?'} on ${err.address ?? 'this host'} is already in use: set ${setting} to a free port (0 picks one)`);
    if (err?.code === 'EACCES') return new ListenError(`not allowed to listen on port ${err.port ?? '?'}: set ${setting} to a port above 1023`);
    if (err?.code === 'EADDRNOTAVAIL') return new ListenError(`address ${err.address ?? '?'} is not on this machine: change HOST`);
    return e;
  }
}
