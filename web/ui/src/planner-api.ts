// HTTP calls of the planner panel to citytwin's scenario API (web/planner.go).
// URLs are relative to the page, as in api.ts. Errors come back as
// application/problem+json with "field" and "rule"; PlanProblem carries them
// so that the panel shows each next to its input.

import { authHeaders, withToken } from './auth';
import type { Comparison, Result, Saved, Spec, Summary } from './planner-model';

export class PlanProblem extends Error {
  constructor(
    readonly status: number,
    readonly field: string,
    readonly rule: string,
    detail: string,
  ) {
    super(detail);
  }
}

async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { Accept: 'application/json', ...authHeaders(), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal,
  });
  if (!res.ok) throw await problemOf(res, path);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

async function problemOf(res: Response, path: string): Promise<PlanProblem> {
  let field = '';
  let rule = '';
  let detail = `${res.status} ${res.statusText}`;
  try {
    const p = (await res.json()) as { field?: string; rule?: string; detail?: string; title?: string };
    field = p.field ?? '';
    rule = p.rule ?? p.detail ?? p.title ?? '';
    detail = p.detail ?? p.title ?? detail;
  } catch {
    // not a problem+json body
  }
  return new PlanProblem(res.status, field, rule || detail, `${path}: ${detail}`);
}

const q = (tenant: string) => `tenant=${encodeURIComponent(tenant)}`;

/** Runs a scenario without saving it. */
export function run(spec: Spec, signal?: AbortSignal): Promise<Result> {
  return call('POST', 'api/v1/scenarios/run', spec, signal);
}

/** Runs a scenario and saves it (201 with the saved scenario). */
export function save(spec: Spec, signal?: AbortSignal): Promise<Saved> {
  return call('POST', 'api/v1/scenarios', spec, signal);
}

export function list(tenant: string): Promise<Summary[]> {
  return call('GET', `api/v1/scenarios?${q(tenant)}`);
}

export function get(id: string): Promise<Saved> {
  return call('GET', `api/v1/scenarios/${encodeURIComponent(id)}`);
}

export function rerun(id: string, signal?: AbortSignal): Promise<Saved> {
  return call('POST', `api/v1/scenarios/${encodeURIComponent(id)}/run`, undefined, signal);
}

export function remove(id: string): Promise<void> {
  return call('DELETE', `api/v1/scenarios/${encodeURIComponent(id)}`);
}

export function compare(a: string, b: string): Promise<Comparison> {
  return call('GET', `api/v1/scenarios/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
}

/** The download URL of a saved scenario's result. */
export function exportURL(id: string, format: 'csv' | 'geojson' | 'json'): string {
  return withToken(`api/v1/scenarios/${encodeURIComponent(id)}/export?format=${format}`);
}

/**
 * An unsaved run's result in another format: the scenario runs again on the
 * server (the API keeps no unsaved result), answered as a Blob.
 */
export async function runAs(spec: Spec, format: 'csv' | 'geojson'): Promise<Blob> {
  const path = `api/v1/scenarios/run?format=${format}`;
  const res = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...authHeaders() }, body: JSON.stringify(spec) });
  if (!res.ok) throw await problemOf(res, path);
  return res.blob();
}
