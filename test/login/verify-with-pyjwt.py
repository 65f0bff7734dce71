"""Verifies a webiso grant with PyJWT (Debian's python3-jwt): an independent JOSE implementation
that sees nothing but the JWKS document and the token. Prints the claims as JSON, exits 1 on failure."""
import json
import sys

import jwt

jwks_path, token, issuer, audience = sys.argv[1:5]
with open(jwks_path) as handle:
    jwks = jwt.PyJWKSet.from_dict(json.load(handle))

header = jwt.get_unverified_header(token)
if header.get("typ") != "webiso-grant+jwt":
    sys.exit(f"unexpected typ {header.get('typ')!r}")
key = next((k for k in jwks.keys if k.key_id == header["kid"]), None)
if key is None:
    sys.exit(f"kid {header['kid']!r} not in the JWKS")
claims = jwt.decode(
    token,
    key=key.key,
    algorithms=[header["alg"]] if header["alg"] in ("EdDSA", "ES256") else [],
    audience=audience,
    issuer=issuer,
    options={"require": ["exp", "iat", "iss", "aud", "jti"]},
)
print(json.dumps({"alg": header["alg"], "claims": claims}))
