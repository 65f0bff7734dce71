/**
 * Errors meaning "the database cannot answer now" rather than "this request is wrong": PostgreSQL
 * stopped, restarting or unreachable, the pool exhausted, a statement timed out, SQLite locked by
 * another process for longer than the busy timeout. Requests that meet one get a 503 "try again
 * later" page (src/http/error-handler.ts), never a 500, and nothing is acknowledged.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const SQLITE_CODES = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_RECOVERY']);

export function isStoreUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || SQLITE_CODES.has(code)) return true;
    // PostgreSQL SQLSTATE classes 08 (connection exception) and 57 (operator intervention: shutdown,
    // statement timeout 57014), 53 (insufficient resources: too many connections), 40001/40P01 (retry)
    if (/^(08|57|53)[0-9A-Z]{3}$/.test(code) || code === '40001' || code === '40P01') return true;
  }
  if (typeof message === 'string') {
    // pg's own errors for a lost or never-made connection carry no code
    return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED/.test(message);
  }
  return false;
}
