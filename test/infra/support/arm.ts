// Reading what the Bicep compiler produces: the ARM template of `bicep build` (modules nested as
// deployments) and the predicted resources of `bicep snapshot` (names and ids evaluated).

/* eslint-disable @typescript-eslint/no-explicit-any -- ARM JSON is untyped by nature */
export type Json = any;

export interface TemplateResource {
  /** Symbolic name in the template (languageVersion 2.0) or array index. */
  symbol: string;
  /** Symbolic names of the enclosing module deployments, outermost first. */
  modulePath: string[];
  type: string;
  name: string;
  scope?: string;
  condition?: string | boolean;
  properties?: Json;
}

/** Every resource of a compiled template, modules included (a module is a nested deployment). */
export function templateResources(template: Json, modulePath: string[] = []): TemplateResource[] {
  const entries: Array<[string, Json]> = Array.isArray(template.resources)
    ? template.resources.map((resource: Json, index: number) => [String(index), resource])
    : Object.entries(template.resources ?? {});
  return entries.flatMap(([symbol, resource]) => {
    if (resource.existing === true) return [];
    if (resource.type === 'Microsoft.Resources/deployments') {
      return templateResources(resource.properties.template, [...modulePath, symbol]);
    }
    return [{ symbol, modulePath, ...resource }];
  });
}

/** Every output of a compiled template and of its modules, as [where, name, definition]. */
export function templateOutputs(template: Json, where = 'main'): Array<[string, string, Json]> {
  const own: Array<[string, string, Json]> = Object.entries(template.outputs ?? {}).map(([name, output]) => [
    where,
    name,
    output,
  ]);
  const resources: Json[] = Array.isArray(template.resources)
    ? template.resources
    : Object.values(template.resources ?? {});
  const nested = resources
    .filter((resource) => resource.type === 'Microsoft.Resources/deployments')
    .flatMap((resource) => templateOutputs(resource.properties.template, resource.name));
  return [...own, ...nested];
}

export interface PredictedResource {
  id: string;
  type: string;
  name: string;
  location?: string;
  kind?: string;
  sku?: Json;
  identity?: Json;
  properties?: Json;
}

export function predicted(snapshot: Json, type: string): PredictedResource[] {
  return (snapshot.predictedResources as PredictedResource[]).filter(
    (resource) => resource.type.toLowerCase() === type.toLowerCase(),
  );
}

export function single(snapshot: Json, type: string): PredictedResource {
  const matches = predicted(snapshot, type);
  if (matches.length !== 1) throw new Error(`expected exactly one ${type}, found ${matches.length}`);
  return matches[0];
}
