// Test certificates made by Debian's openssl: a CA, a server certificate for 127.0.0.1/localhost, a
// client certificate it signed, and a self-signed "rogue" one.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

export interface Certificates {
  /** The file of `name.pem` / `name.key` ('ca', 'server', 'client', 'rogue'). */
  file(name: string): string;
  pem(name: string): Buffer;
}

export function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), 'warren-certs-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const certificate = (name: string, subject: string, ca?: string, altNames?: string) => {
    openssl('req', ...ec, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
    if (altNames) writeFileSync(file(`${name}.ext`), `subjectAltName=${altNames}\n`);
    const sign = ca ? ['-CA', file(`${ca}.pem`), '-CAkey', file(`${ca}.key`), '-CAcreateserial'] : ['-signkey', file(`${name}.key`)];
    openssl('x509', '-req', '-in', file(`${name}.csr`), ...sign, '-out', file(`${name}.pem`), '-days', '2', ...(altNames ? ['-extfile', file(`${name}.ext`)] : []));
  };
  openssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=Warren test CA');
  certificate('server', '/CN=localhost', 'ca', 'IP:127.0.0.1,DNS:localhost');
  certificate('client', '/O=Warren Tests/CN=tls-user', 'ca');
  certificate('rogue', '/CN=tls-user');
  return { file: (name) => file(name), pem: (name) => readFileSync(file(name)) };
}
