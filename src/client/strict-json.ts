/**
 * Duplicate member names in a JOSE header or JWT claims set. JSON.parse keeps the last one, other
 * parsers the first, so `{"alg":"none",…,"alg":"EdDSA"}` can mean two things; webiso never writes
 * such a token, so its verifiers refuse them instead of picking one (RFC 7515 §5.2 allows either).
 */

/** Scans text that JSON.parse has accepted already; keys are compared decoded (`"a"` equals `"\u0061"`). */
export function hasDuplicateKeys(text: string): boolean {
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const members = stack[stack.length - 1];
      if (expectKey && members) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (members.has(key)) return true;
        members.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return false;
}

/** True when the header or payload segment of a compact JWS is JSON with a repeated member name. */
export function hasDuplicateMembers(token: string): boolean {
  const [header = '', payload = ''] = token.split('.', 2);
  for (const segment of [header, payload]) {
    const text = Buffer.from(segment, 'base64url').toString('utf8');
    try {
      JSON.parse(text);
    } catch {
      continue; // not JSON: the JOSE library refuses it with its own error
    }
    if (hasDuplicateKeys(text)) return true;
  }
  return false;
}
