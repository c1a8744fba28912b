/**
 * A Postman collection (v2.1) from the OpenAPI document: one folder per tag, one request per operation,
 * with {{baseUrl}}, {{version}} and {{accessToken}} as collection variables.
 */
interface Param {
  name: string;
  in: string;
  required?: boolean;
}
interface Operation {
  summary?: string;
  tags?: string[];
  parameters?: Param[];
  requestBody?: unknown;
  security?: unknown[];
}

export function toPostman(doc: { info: { title: string; version: string }; paths: Record<string, Record<string, Operation>> }) {
  const folders = new Map<string, unknown[]>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const segments = path
        .split('/')
        .filter(Boolean)
        .map((s) => (s === '{version}' ? '{{version}}' : s.replace(/^\{(.+)\}$/, ':$1')));
      const variable = (op.parameters ?? []).filter((p) => p.in === 'path' && p.name !== 'version').map((p) => ({ key: p.name, value: '' }));
      const query = [
        ...(op.security ? [{ key: 'accessToken', value: '{{accessToken}}' }] : []),
        ...(op.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ key: p.name, value: '', disabled: !p.required })),
      ];
      const raw = `{{baseUrl}}/${segments.join('/')}${path.endsWith('/') ? '/' : ''}`;
      const item = {
        name: op.summary ?? `${method.toUpperCase()} ${path}`,
        request: {
          method: method.toUpperCase(),
          url: { raw, host: ['{{baseUrl}}'], path: path.endsWith('/') ? [...segments, ''] : segments, ...(query.length ? { query } : {}), ...(variable.length ? { variable } : {}) },
          ...(op.requestBody ? { header: [{ key: 'Content-Type', value: 'application/json' }], body: { mode: 'raw', raw: '{}' } } : {}),
        },
      };
      const tag = op.tags?.[0] ?? 'other';
      if (!folders.has(tag)) folders.set(tag, []);
      folders.get(tag)!.push(item);
    }
  }
  return {
    info: {
      name: `${doc.info.title} ${doc.info.version}`,
      schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
    },
    variable: [
      { key: 'baseUrl', value: 'http://127.0.0.1:5080' },
      { key: 'version', value: '4.0' },
      { key: 'accessToken', value: '' },
    ],
    item: [...folders].map(([name, item]) => ({ name, item })),
  };
}
