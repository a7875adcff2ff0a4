// The generated protocol code is current, and spec/ agrees with RabbitMQ's own definition.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { needing } from '../support/shared.js';
// @ts-expect-error the generator is plain JavaScript
import { generate, loadSpec, outputPath } from '../../spec/generate.mjs';

interface SpecField { name: string; type: string }
interface SpecMethod { name: string; id: number; args: SpecField[]; content?: boolean; response?: string[] }
interface SpecClass { name: string; id: number; methods: SpecMethod[]; props: SpecField[] }

const spec = loadSpec() as { classes: SpecClass[]; constants: Record<string, number> };
const reference = join(import.meta.dirname, '..', '..', '..', 'shared', 'spec', 'amqp-rabbitmq-0.9.1.json');
const compared = needing(reference, "matches RabbitMQ's codegen definition: ids, field names and types");

describe('spec/', () => {
  it('generated code is up to date (run `npm run gen`)', () => {
    expect(readFileSync(outputPath, 'utf8')).toBe(generate(spec));
  });

  it.skipIf(compared.skip)(compared.name, () => {
    const ref = JSON.parse(readFileSync(reference, 'utf8'));
    const domains = new Map<string, string>(ref.domains);
    const resolve = (a: { type?: string; domain?: string }) => a.type ?? domains.get(a.domain!) ?? a.domain;
    const ours = spec.classes.map((c) => ({
      name: c.name,
      id: c.id,
      properties: c.props.map((p) => [p.name, p.type]),
      methods: c.methods.map((m) => ({ name: m.name, id: m.id, content: !!m.content, fields: m.args.map((a) => [a.name, a.type]) })),
    }));
    const theirs = ref.classes.map((c: any) => ({
      name: c.name,
      id: c.id,
      properties: (c.properties ?? []).map((p: any) => [p.name, resolve(p)]),
      methods: c.methods.map((m: any) => ({
        name: m.name,
        id: m.id,
        content: !!m.content,
        fields: m.arguments.map((a: any) => [a.name, resolve(a)]),
      })),
    }));
    expect(ours).toEqual(theirs);
    for (const c of ref.constants) {
      if (!c.class) expect(spec.constants[c.name.toLowerCase()], c.name).toBe(c.value);
    }
  });
});
