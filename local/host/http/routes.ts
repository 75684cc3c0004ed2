// Route templates as the Functions host (ASP.NET Core routing) understands them:
// `/<routePrefix>/<route or function name>`, literals case-insensitive, `{name}`, `{name?}`,
// `{name=default}`, `{name:constraint}` and a trailing catch-all `{*name}`.

export interface HttpRoute {
  functionName: string;
  /** Upper-case methods; undefined = every method. */
  methods?: string[];
  template: string;
  match(path: string): Record<string, string> | undefined;
  /** Lower sorts first: literal segments beat parameters, parameters beat catch-alls. */
  precedence: number[];
}

interface Parameter {
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue?: string;
  constraints: string[];
}

type Segment = { literal: string } | { pattern: RegExp; parameters: Parameter[] };

export class RouteTemplateError extends Error {
  override readonly name = 'RouteTemplateError';
  readonly code = 'InvalidRouteTemplate';
}

export function compileRoute(
  functionName: string,
  routePrefix: string,
  route: string,
  methods?: string[],
): HttpRoute {
  const template = [routePrefix, route]
    .map((part) => part.replace(/^\/+|\/+$/g, ''))
    .filter(Boolean)
    .join('/');
  const segments = template === '' ? [] : template.split('/').map((text) => parseSegment(text, template));
  segments.forEach((segment, index) => {
    const catchAll = 'parameters' in segment && segment.parameters.some((p) => p.catchAll);
    if (catchAll && index !== segments.length - 1) {
      throw new RouteTemplateError(`Route "${template}": a catch-all parameter must be the last segment`);
    }
  });
  return {
    functionName,
    methods: methods?.map((method) => method.toUpperCase()),
    template: `/${template}`,
    precedence: segments.map(segmentPrecedence),
    match: (path) => matchSegments(segments, splitPath(path)),
  };
}

/** Picks the route for a request path and method, as the host's router would. */
export function findRoute(
  routes: HttpRoute[],
  method: string,
  path: string,
): { route: HttpRoute; params: Record<string, string> } | undefined {
  const ordered = [...routes].sort((a, b) => comparePrecedence(a.precedence, b.precedence));
  for (const route of ordered) {
    if (route.methods && !route.methods.includes(method.toUpperCase())) continue;
    const params = route.match(path);
    if (params) return { route, params };
  }
  return undefined;
}

function parseSegment(text: string, template: string): Segment {
  if (!text.includes('{')) return { literal: text.toLowerCase() };
  const parameters: Parameter[] = [];
  let source = '';
  let rest = text;
  while (rest.length > 0) {
    const open = rest.indexOf('{');
    if (open < 0) {
      source += escapeRegExp(rest);
      break;
    }
    source += escapeRegExp(rest.slice(0, open));
    const close = rest.indexOf('}', open);
    if (close < 0) throw new RouteTemplateError(`Route "${template}": unbalanced "{"`);
    const parameter = parseParameter(rest.slice(open + 1, close), template);
    parameters.push(parameter);
    source += parameter.catchAll ? '(.*)' : parameter.optional ? '([^/]*)' : '([^/]+?)';
    rest = rest.slice(close + 1);
  }
  if (parameters.length > 1 && parameters.some((p) => p.optional || p.catchAll)) {
    throw new RouteTemplateError(
      `Route "${template}": optional and catch-all parameters need a segment of their own`,
    );
  }
  return { pattern: new RegExp(`^${source}$`, 'i'), parameters };
}

function parseParameter(body: string, template: string): Parameter {
  const catchAll = body.startsWith('*');
  let text = body.replace(/^\*{1,2}/, '');
  let defaultValue: string | undefined;
  const equals = text.indexOf('=');
  if (equals >= 0) {
    defaultValue = text.slice(equals + 1);
    text = text.slice(0, equals);
  }
  const optional = text.endsWith('?');
  if (optional) text = text.slice(0, -1);
  const [name, ...constraints] = splitConstraints(text);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new RouteTemplateError(`Route "${template}": "${body}" is not a valid parameter`);
  }
  return { name, optional: optional || defaultValue !== undefined, catchAll, defaultValue, constraints };
}

/** `id:int:min(1)` -> ['id', 'int', 'min(1)']; colons inside parentheses (regex) stay. */
function splitConstraints(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ':' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    const part = parts[i];
    if ('literal' in segment) {
      if (part === undefined || decode(part)?.toLowerCase() !== segment.literal) return undefined;
      continue;
    }
    const catchAll = segment.parameters[0]?.catchAll;
    const text = catchAll ? parts.slice(i).join('/') : part;
    if (text === undefined || text === '') {
      const parameter = segment.parameters[0];
      if (segment.parameters.length !== 1 || !(parameter.optional || parameter.catchAll)) return undefined;
      if (parameter.defaultValue !== undefined) params[parameter.name] = parameter.defaultValue;
      if (catchAll) return params;
      continue;
    }
    const match = segment.pattern.exec(text);
    if (!match) return undefined;
    for (let p = 0; p < segment.parameters.length; p++) {
      const parameter = segment.parameters[p];
      const value = parameter.catchAll ? decodeCatchAll(match[p + 1]) : decode(match[p + 1]);
      if (value === undefined || !parameter.constraints.every((c) => satisfies(c, value))) return undefined;
      params[parameter.name] = value;
    }
    if (catchAll) return params;
  }
  // Missing trailing parts were accepted above only for optional parameters.
  return parts.length <= segments.length ? params : undefined;
}

function satisfies(constraint: string, value: string): boolean {
  const match = /^(\w+)(?:\((.*)\))?$/.exec(constraint);
  if (!match) return true;
  const [, name, argument = ''] = match;
  const args = argument.split(',').map((a) => a.trim());
  const number = Number(value);
  switch (name.toLowerCase()) {
    case 'int':
    case 'long':
      return /^-?\d+$/.test(value);
    case 'bool':
      return /^(true|false)$/i.test(value);
    case 'alpha':
      return /^[a-z]+$/i.test(value);
    case 'guid':
      return /^[{(]?[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}[)}]?$/i.test(value);
    case 'double':
    case 'decimal':
    case 'float':
      return value.trim() !== '' && Number.isFinite(number);
    case 'datetime':
      return !Number.isNaN(Date.parse(value));
    case 'minlength':
      return value.length >= Number(args[0]);
    case 'maxlength':
      return value.length <= Number(args[0]);
    case 'length':
      return args.length === 1
        ? value.length === Number(args[0])
        : value.length >= Number(args[0]) && value.length <= Number(args[1]);
    case 'min':
      return number >= Number(args[0]);
    case 'max':
      return number <= Number(args[0]);
    case 'range':
      return number >= Number(args[0]) && number <= Number(args[1]);
    case 'regex':
      return new RegExp(argument, 'i').test(value);
    default:
      return true;
  }
}

function segmentPrecedence(segment: Segment): number {
  if ('literal' in segment) return 0;
  const [first] = segment.parameters;
  if (segment.parameters.length > 1) return 1;
  if (first.catchAll) return 4;
  if (first.optional) return 3;
  return first.constraints.length > 0 ? 1 : 2;
}

function comparePrecedence(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? -1) - (b[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
}

function splitPath(path: string): string[] {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function decodeCatchAll(text: string): string | undefined {
  const parts = text.split('/').map(decode);
  return parts.some((part) => part === undefined) ? undefined : parts.join('/');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
