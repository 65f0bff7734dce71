import { XMLBuilder } from 'fast-xml-parser';
import type { CasValidationError } from './errors.ts';
import { MULTI_VALUED, type ReleasedIdentity } from './released-identity.ts';

/** The three answer formats of the validation endpoints: CAS 1 text, CAS 2/3 XML, CAS 3 JSON. */
export type ValidationFormat = 'text' | 'xml' | 'json';

export interface RenderedValidation {
  readonly contentType: string;
  readonly body: string;
}

const CAS_NS = 'http://www.yale.edu/tp/cas';

// Characters XML 1.0 cannot carry even escaped (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/F):
// an XML writer escapes markup but would emit these and break every client's parser.
// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

function xmlText(value: string): string {
  return value.replace(NOT_XML_CHAR, '\uFFFD');
}

// processEntities escapes every `&`, `<`, `>`, `"` and `'` in values (xmlbuilder2 was tried and
// left `&amp;` in a value unescaped, so a username `a&amp;b` would reach the client as `a&b`).
const xml = new XMLBuilder({ format: true, indentBy: '  ', ignoreAttributes: false, attributeNamePrefix: '@_', processEntities: true, suppressEmptyNode: false });

function document(body: Record<string, unknown>): string {
  return xml.build({ 'cas:serviceResponse': { '@_xmlns:cas': CAS_NS, ...body } }) as string;
}

function successXml(identity: ReleasedIdentity): string {
  const attributes: Record<string, string[]> = {};
  // element names come from our own constants, never from input; a list becomes repeated elements
  for (const [name, values] of identity.attributes) attributes[`cas:${name}`] = values.map(xmlText);
  return document({ 'cas:authenticationSuccess': { 'cas:user': xmlText(identity.user), 'cas:attributes': attributes } });
}

function failureXml(error: CasValidationError): string {
  return document({ 'cas:authenticationFailure': { '@_code': error.casCode, '#text': xmlText(error.description) } });
}

function successJson(identity: ReleasedIdentity): string {
  const attributes: Record<string, string | string[]> = {};
  for (const [name, values] of identity.attributes) attributes[name] = MULTI_VALUED.has(name) || values.length !== 1 ? [...values] : values[0]!;
  return JSON.stringify({ serviceResponse: { authenticationSuccess: { user: identity.user, attributes } } });
}

function failureJson(error: CasValidationError): string {
  return JSON.stringify({ serviceResponse: { authenticationFailure: { code: error.casCode, description: error.description } } });
}

const XML_TYPE = 'application/xml; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

export function renderSuccess(format: ValidationFormat, identity: ReleasedIdentity): RenderedValidation {
  switch (format) {
    case 'text':
      // CAS 1 is line-based: a control character in the name would add lines of its own.
      return { contentType: TEXT_TYPE, body: `yes\n${identity.user.replace(CONTROL, '\uFFFD')}\n` };
    case 'xml':
      return { contentType: XML_TYPE, body: successXml(identity) };
    case 'json':
      return { contentType: JSON_TYPE, body: successJson(identity) };
  }
}

export function renderFailure(format: ValidationFormat, error: CasValidationError): RenderedValidation {
  switch (format) {
    case 'text':
      return { contentType: TEXT_TYPE, body: 'no\n\n' };
    case 'xml':
      return { contentType: XML_TYPE, body: failureXml(error) };
    case 'json':
      return { contentType: JSON_TYPE, body: failureJson(error) };
  }
}
