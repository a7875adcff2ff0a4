// The user name a client certificate logs in as with the EXTERNAL mechanism, as
// rabbitmq_auth_mechanism_ssl takes it (ssl_cert_login_from): the subject's distinguished name,
// most specific part first ("CN=app,O=Example"), RabbitMQ's default, or its common name.
import { X509Certificate } from 'node:crypto';

export type CertLoginFrom = 'distinguished_name' | 'common_name';

/** RFC 4514's escapes, as RabbitMQ applies them to each value. */
function escapeValue(v: string): string {
  return v.replace(/[,+"\\<>;]/g, (c) => `\\${c}`).replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, '\\ ');
}

/** The subject's attributes in certificate order (Node writes one `TYPE=value` per line). */
function subjectParts(cert: X509Certificate): [string, string][] {
  return cert.subject.split('\n').map((line) => {
    const eq = line.indexOf('=');
    return [line.slice(0, eq), line.slice(eq + 1)];
  });
}

/** The name to log in as; undefined when the certificate has none of that kind. */
export function certificateLoginName(der: Buffer, from: CertLoginFrom): string | undefined {
  const parts = subjectParts(new X509Certificate(der));
  if (from === 'common_name') {
    const cns = parts.filter(([type]) => type === 'CN').map(([, value]) => value);
    return cns.length === 0 ? undefined : cns.join(',');
  }
  return parts.length === 0 ? undefined : parts.reverse().map(([type, value]) => `${type}=${escapeValue(value)}`).join(',');
}
