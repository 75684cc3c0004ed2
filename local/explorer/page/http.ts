// The page's calls to its explorer (same origin, so the browser sends the Origin the server checks).
import type { ApiError } from '../api';

export class RequestFailed extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  return answer<T>(await fetch(path, { headers: { accept: 'application/json' } }));
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return answer<T>(
    await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    }),
  );
}

async function answer<T>(response: Response): Promise<T> {
  const text = await response.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RequestFailed(
      response.status,
      `${response.status} ${response.statusText}: ${text.slice(0, 200)}`,
    );
  }
  if (!response.ok) {
    const error = (value as ApiError).error;
    throw new RequestFailed(
      response.status,
      error ? `${error.message} (${response.status} ${error.code})` : text,
    );
  }
  return value as T;
}
