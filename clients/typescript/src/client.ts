// A typed client of the HeyGen pipeline's HTTP API. Every path, body and answer
// comes from `schema.d.ts`, which `npm run generate` makes from `openapi.yaml`:
// `make test` regenerates it and type-checks this package, so a change of the
// spec that breaks a caller breaks the build, not the admin page.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths };
export type Schemas = components["schemas"];
export type Mode = Schemas["Mode"];
export type TriggerReport = Schemas["TriggerReport"];
export type PendingReport = Schemas["PendingReport"];
export type Progress = Schemas["Progress"];
export type CancelReport = Schemas["CancelReport"];
export type ApiError = Schemas["Error"];

/**
 * A client for `baseUrl` (the stack's `ApiUrl`, or `make dev`'s
 * http://127.0.0.1:4000). `token` is the admin's JWT (an ID token carrying the
 * groups claim); `make dev` needs none.
 */
export function pipelineClient(baseUrl: string, token?: string) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const api = createClient<paths>({ baseUrl, headers });
  return {
    /**
     * Queues a month and creates the first renders (`dryRun`: count, estimate
     * and read HeyGen's account only). `budgetSeconds` sets the month's cap
     * (`null` removes the month's own; omitted keeps it).
     */
    trigger: (month: string, mode: Mode, dryRun = false, budgetSeconds?: number | null) =>
      api.POST("/admin/content-production/heygen", {
        body: { month, mode, dry_run: dryRun, ...(budgetSeconds === undefined ? {} : { budget_seconds: budgetSeconds }) },
      }),
    /** Takes a month's queued items out of the queue. */
    cancel: (month: string, mode: Mode) =>
      api.POST("/admin/content-production/heygen/cancel", { body: { month, mode } }),
    /** What is in flight and queued; `refresh` asks HeyGen first. */
    inFlight: (refresh = false) =>
      api.GET("/admin/content-production/heygen", {
        params: { query: refresh ? { refresh: "true" } : {} },
      }),
    /** The month at a glance. */
    progress: (month: string, mode: Mode) =>
      api.GET("/admin/content-production/heygen/progress", { params: { query: { month, mode } } }),
    /** The webhook's health check. */
    webhookHealth: () => api.GET("/webhooks/heygen"),
  };
}
