/**
 * Checks rendered requests against the CRM's own OpenAPI description (3.0 or 3.1): the
 * operation exists for that method and path, required query parameters are there, and the
 * JSON body validates against the request body schema (ajv, $refs resolved inside the doc).
 */
import fs from 'node:fs';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import type { RenderedRequest } from '../http/request';

interface Operation {
  method: string;
  template: string;
  re: RegExp;
  pointer: string;
  op: { parameters?: Array<{ name: string; in: string; required?: boolean }>; requestBody?: { content?: Record<string, unknown> } };
}

export class OpenApiChecker {
  private readonly ops: Operation[] = [];
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly basePaths: string[];

  constructor(doc: Record<string, unknown>) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false, allowUnionTypes: true });
    addFormats(this.ajv);
    this.ajv.addSchema(doc, 'crm');
    const servers = (doc.servers as Array<{ url: string }> | undefined) ?? [];
    this.basePaths = servers.map((s) => {
      try {
        return new URL(s.url, 'http://x').pathname.replace(/\/$/, '');
      } catch {
        return '';
      }
    });
    if (this.basePaths.length === 0) this.basePaths.push('');
    for (const [template, item] of Object.entries((doc.paths as Record<string, Record<string, unknown>>) ?? {})) {
      for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
        const op = item[method] as Operation['op'] | undefined;
        if (!op) continue;
        const re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\\{[^}]+\\\}|\{[^}]+\}/g, '[^/]+')}$`);
        const pointer = `#/paths/${template.replace(/~/g, '~0').replace(/\//g, '~1')}/${method}`;
        this.ops.push({
          method: method.toUpperCase(),
          template,
          re,
          pointer,
          op: { ...op, parameters: [...((item.parameters as Operation['op']['parameters']) ?? []), ...(op.parameters ?? [])] },
        });
      }
    }
  }

  static fromFile(file: string): OpenApiChecker {
    const text = fs.readFileSync(file, 'utf8');
    return new OpenApiChecker((file.endsWith('.json') ? JSON.parse(text) : parse(text)) as Record<string, unknown>);
  }

  /** Problems with one request; empty when it matches its operation. */
  check(req: RenderedRequest): string[] {
    const url = new URL(req.url);
    const path = url.pathname;
    const candidates = this.ops.filter((o) => this.basePaths.some((b) => path.startsWith(b) && o.re.test(path.slice(b.length) || '/')));
    const op = candidates.find((o) => o.method === req.method);
    if (!op) {
      return [
        candidates.length
          ? `${req.method} is not allowed on ${path} (the API has ${candidates.map((c) => c.method).join(', ')})`
          : `no operation in the CRM's API matches ${req.method} ${path}`,
      ];
    }
    const problems: string[] = [];
    for (const p of op.op.parameters ?? []) {
      if (p.in === 'query' && p.required && !url.searchParams.has(p.name))
        problems.push(`missing required query parameter "${p.name}" (${op.method} ${op.template})`);
    }
    if (req.body.kind === 'json') {
      const content = op.op.requestBody?.content ?? {};
      const mediaType = Object.keys(content).find((k) => /json/.test(k));
      if (!mediaType) problems.push(`${op.method} ${op.template} takes no JSON body`);
      else {
        const ref = `crm${op.pointer}/requestBody/content/${mediaType.replace(/~/g, '~0').replace(/\//g, '~1')}/schema`;
        let validate = this.validators.get(ref);
        if (!validate) {
          validate = this.ajv.compile({ $ref: ref });
          this.validators.set(ref, validate);
        }
        if (!validate(req.body.value)) {
          problems.push(
            ...(validate.errors ?? []).map(
              (e) =>
                `body${e.instancePath.replace(/\//g, '.') || ''} ${e.message}${e.params && 'additionalProperty' in e.params ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : ''} (${op.method} ${op.template})`,
            ),
          );
        }
      }
    }
    return problems;
  }
}
