/**
 * True for a path on this origin that is safe to redirect to after login. Rejects `//host` and
 * `/\host` (protocol-relative to browsers), any backslash (browsers read it as `/`), and control
 * characters (browsers strip tabs and newlines, which can turn `/\t/host` into `//host`).
 */
export function isLocalPath(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return false;
  if (!value.startsWith('/') || value.startsWith('//')) return false;
  if (value.includes('\\')) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return false;
  // Belt and braces: resolving against a dummy origin must not leave it.
  const resolved = new URL(value, 'https://relying-app.invalid');
  return resolved.origin === 'https://relying-app.invalid';
}

export function safeLocalPath(value: unknown, fallback = '/'): string {
  return isLocalPath(value) ? value : fallback;
}
