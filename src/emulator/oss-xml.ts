import { ServiceError } from './service';

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (entity) => Object.entries(ESCAPES).find(([, escaped]) => escaped === entity)?.[0] ?? entity);
}

/** `<name>text</name>`, or the children as given when `content` is an array of elements. */
export function element(name: string, content: string | number | boolean | readonly string[]): string {
  const inner = Array.isArray(content) ? content.join('') : escapeXml(String(content));
  return `<${name}>${inner}</${name}>`;
}

export function xmlDocument(root: string, children: readonly string[]): string {
  return XML_DECLARATION + element(root, children);
}

/**
 * OSS's per-error "EC" codes. The ones marked † appear in docs/reference/alibaba-cloud.md or OSS's public error
 * pages; the others follow the same pages' numbering and are UNVERIFIED.
 */
const ERROR_EC: Record<string, string> = {
  SignatureDoesNotMatch: '0002-00000040', // †
  FileAlreadyExists: '0026-00000002', // †
  PreconditionFailed: '0017-00001001', // †
  NoSuchKey: '0026-00000001',
  NoSuchBucket: '0015-00000101',
  InvalidAccessKeyId: '0002-00000902',
  RequestTimeTooSkewed: '0002-00000504',
  AccessDenied: '0003-00000001',
};

export function errorXml(error: ServiceError, requestId: string, hostId: string): string {
  const ec = ERROR_EC[error.code];
  return xmlDocument('Error', [
    element('Code', error.code),
    element('Message', error.message),
    element('RequestId', requestId),
    element('HostId', hostId),
    ...Object.entries(error.details).map(([name, value]) => element(name, value)),
    // An injected or rarely used code gets no EC rather than an invented one.
    ...(ec === undefined ? [] : [element('EC', ec)]),
  ]);
}

export interface CompletedPart {
  partNumber: number;
  /** Without quotes, as compared by OSS. */
  etag: string;
}

/** The part list of a CompleteMultipartUpload body, in the order the client gave it. */
export function parseCompleteMultipartUpload(xml: string): CompletedPart[] {
  if (!/<CompleteMultipartUpload>[\s\S]*<\/CompleteMultipartUpload>/.test(xml)) {
    throw new ServiceError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
  }
  const parts = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map(([, body = '']) => {
    const partNumber = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(body)?.[1];
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(body)?.[1];
    if (partNumber === undefined || etag === undefined) {
      throw new ServiceError(400, 'MalformedXML', 'Each Part needs a PartNumber and an ETag.');
    }
    return { partNumber: Number(partNumber), etag: unquote(unescapeXml(etag.trim())) };
  });
  if (parts.length === 0) throw new ServiceError(400, 'MalformedXML', 'The part list is empty.');
  return parts;
}

export function unquote(etag: string): string {
  return etag.replace(/^"(.*)"$/, '$1');
}
