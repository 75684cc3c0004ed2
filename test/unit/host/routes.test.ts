import { compileRoute, findRoute, RouteTemplateError } from '../../../local/host/http/routes';

const route = (template: string, methods?: string[], prefix = 'api') =>
  compileRoute('fn', prefix, template, methods);

test('literal segments match case-insensitively under the route prefix', () => {
  expect(route('events').match('/api/events')).toEqual({});
  expect(route('events').match('/API/Events/')).toEqual({});
  expect(route('events').match('/api/events/extra')).toBeUndefined();
  expect(route('events').match('/events')).toBeUndefined();
  expect(route('events', undefined, '').match('/events')).toEqual({});
});

test('parameters, optional parameters, defaults and catch-alls', () => {
  expect(route('items/{id}').match('/api/items/a%20b')).toEqual({ id: 'a b' });
  expect(route('items/{id?}').match('/api/items')).toEqual({});
  expect(route('items/{page=1}').match('/api/items')).toEqual({ page: '1' });
  expect(route('files/{*path}').match('/api/files/a/b%2Fc/d')).toEqual({ path: 'a/b/c/d' });
  expect(route('files/{*path}').match('/api/files')).toEqual({});
  expect(route('{a}.{b}').match('/api/x.y')).toEqual({ a: 'x', b: 'y' });
});

test('constraints filter matches', () => {
  expect(route('items/{id:int}').match('/api/items/42')).toEqual({ id: '42' });
  expect(route('items/{id:int}').match('/api/items/x')).toBeUndefined();
  expect(route('items/{id:guid}').match('/api/items/0f8fad5b-d9cb-469f-a165-70867728950e')).toBeDefined();
  expect(route('items/{name:alpha:minlength(3)}').match('/api/items/ab')).toBeUndefined();
  expect(route('items/{n:range(1,5)}').match('/api/items/6')).toBeUndefined();
  expect(route('items/{code:regex(^[a-z]+$)}').match('/api/items/ab')).toBeDefined();
  expect(route('items/{code:regex(^[a-z]+$)}').match('/api/items/a1')).toBeUndefined();
});

test('literal routes win over parameter routes, and methods are honoured', () => {
  const routes = [
    compileRoute('byId', 'api', 'items/{id}'),
    compileRoute('latest', 'api', 'items/latest', ['GET']),
  ];
  expect(findRoute(routes, 'GET', '/api/items/latest')?.route.functionName).toBe('latest');
  expect(findRoute(routes, 'POST', '/api/items/latest')?.route.functionName).toBe('byId');
  expect(findRoute(routes, 'GET', '/api/other')).toBeUndefined();
});

test('a catch-all that is not last is rejected', () => {
  expect(() => route('{*rest}/tail')).toThrow(RouteTemplateError);
});
