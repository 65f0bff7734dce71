import { XMLBuilder } from 'fast-xml-parser';
import { randomToken } from '../crypto/random-token.ts';

const xml = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', processEntities: true, suppressEmptyNode: false });

/**
 * CAS single logout (CAS 3.0 §2.3.3): a SAML 2.0 LogoutRequest naming the validated service
 * ticket as SessionIndex, POSTed to the service as the form field `logoutRequest` (the only field:
 * mod_auth_cas reads the first one).
 */
export function casLogoutRequestBody(ticket: string, nameId: string, now: Date): string {
  const request = xml.build({
    'samlp:LogoutRequest': {
      '@_xmlns:samlp': 'urn:oasis:names:tc:SAML:2.0:protocol',
      '@_xmlns:saml': 'urn:oasis:names:tc:SAML:2.0:assertion',
      '@_ID': `LR-${randomToken(16, 'hex')}`,
      '@_Version': '2.0',
      '@_IssueInstant': now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'saml:NameID': nameId,
      'samlp:SessionIndex': ticket,
    },
  }) as string;
  return new URLSearchParams({ logoutRequest: request }).toString();
}
